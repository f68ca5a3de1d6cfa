/* Static graphs: layers become steps (an op, its params, the tensors it
 * binds), the backward pass appends the steps of each layer's gradient in
 * reverse, and compile places every tensor in one device buffer, sharing
 * memory between tensors whose lifetimes (first to last step) never meet.
 *
 * This header is what the parts of compute/graph/ share: the structures
 * and the helpers every layer builder uses.  The API is
 * include/loom/loom-graph.h. */
#pragma once

#include <loom/loom-graph.h>
#include "op.h"
#include "op-registry.h"
#include "ops/conv.h"
#include "ops/elementwise.h"
#include "ops/params.h"

G_BEGIN_DECLS

typedef enum
{
  TENSOR_INPUT,
  TENSOR_PARAMETER,
  TENSOR_VALUE,                 /* made by a step */
  TENSOR_STATE                  /* kept from run to run: optimizer state, running
                                 * statistics, the per-step scalars */
} TensorKind;

struct _LoomTensor
{
  char       *name;
  guint       n, c, h, w;
  gsize       length;
  TensorKind  kind;
  gboolean    needs_grad;       /* a trained parameter, or made from one */
  gboolean    frozen;           /* a parameter the optimizer leaves alone */
  LoomTensor *accumulated;      /* a parameter's gradient summed over micro-batches */
  gboolean    persistent;       /* alive for the whole run */
  LoomTensor *grad;
  gsize       offset;           /* floats into the graph's buffer, once compiled */
  gint        first, last;      /* steps that use it, once compiled; -1 if none */
  float       fill;             /* a constant: its value, set at compile */
  gboolean    constant;
  LoomTensor *view_of;          /* a window of another tensor's memory, or NULL */
  gsize       view_offset;      /* floats into it */
};

typedef struct
{
  const LoomOp *op;
  guint8        params[LOOM_OP_MAX_PARAMS];
  LoomTensor   *bind[LOOM_OP_MAX_BINDINGS];
} Step;

typedef struct _Node Node;
typedef void (*BackwardFunc) (LoomGraph *graph, Node *node);

/* A layer as the backward pass sees it. */
struct _Node
{
  BackwardFunc   backward;
  LoomTensor    *in[3];
  LoomTensor    *out;
  LoomTensor    *saved;         /* what the gradient needs beyond the inputs */
  LoomTensor    *saved2, *saved3;
  union                         /* the op params the gradient reuses */
  {
    LoomConvParams      conv;
    LoomPoolParams      pool;
    LoomUpsampleParams  upsample;
    LoomBatchNormParams bn;
    LoomDropoutParams   dropout;
  } p;
  guint32        kind;
  float          slope;
  gboolean       is_loss;
};

struct _LoomGraph
{
  GPtrArray  *tensors;          /* LoomTensor, owned */
  GPtrArray  *nodes;            /* Node, owned */
  GArray     *steps;            /* Step */
  GError     *error;            /* the first builder error */
  gboolean    trained;
  LoomTensor *scalars;          /* per-step scalars (LOOM_SCALAR_*), written each run */
  LoomTensor *seed_view;        /* the seed among them */
  guint       backward_end;     /* steps: [0, backward_end) forward and backward, */
  guint       update_begin;     /* then accumulation, then from here the update */
  float       clip_norm;        /* > 0: gradients clipped to this total norm */
  guint32     seed;             /* random layers draw from (seed, run, stream) */
  guint32     streams;          /* random layers so far */
  float       learning_rate, beta1, beta2;
  guint64     runs;
  LoomDevice *device;
  LoomBuffer *memory;
  gsize       memory_floats;
  LoomProgram *step;            /* a run: forward, backward, update */
  LoomProgram *accumulate;      /* run_accumulate: forward, backward, accumulation */
};

/* Builders' errors stick: the first is kept (and NULL returned) until
 * compile or train_* reports it. */
LoomTensor *graph_fail             (LoomGraph *g, const char *format, ...) G_GNUC_PRINTF (2, 3);
LoomTensor *graph_tensor_new       (LoomGraph *g, const char *name, guint n, guint c, guint h,
                                    guint w, TensorKind kind);
/* A value tensor of LIKE's shape. */
LoomTensor *graph_tensor_like      (LoomGraph *g, const char *name, const LoomTensor *like);
/* "N×C×H×W", for messages; free it. */
char       *graph_shape            (const LoomTensor *t);
/* A tensor the caller declares (input, buffer, parameter, noise): checked
 * for size, and refused once the graph has its backward pass. */
LoomTensor *graph_declare          (LoomGraph *g, const char *what, const char *name, guint n,
                                    guint c, guint h, guint w, TensorKind kind);
LoomTensor *graph_ensure_scalars   (LoomGraph *g);
void        graph_emit             (LoomGraph *g, const LoomOp *op, const void *params,
                                    LoomTensor *const *bind);
/* A step of an elementwise op (LoomEltParams) over B0's length. */
void        graph_emit_elementwise (LoomGraph *g, const LoomOp *op, float alpha, guint32 kind,
                                    LoomTensor *b0, LoomTensor *b1, LoomTensor *b2);
/* A layer for the backward pass: BACKWARD, its output and up to three inputs. */
Node       *graph_node_new         (LoomGraph *g, BackwardFunc backward, LoomTensor *out,
                                    LoomTensor *a, LoomTensor *b, LoomTensor *c);
void        graph_accumulate       (LoomGraph *g, LoomTensor *t, LoomTensor *contribution);
gboolean    graph_wants_grad       (const LoomTensor *t);
/* Frees what compile made (programs, memory): compile.c. */
void        graph_uncompile        (LoomGraph *g);

G_END_DECLS
