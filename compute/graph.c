/* Static graphs: layers become steps (an op, its params, the tensors it
 * binds), the backward pass appends the steps of each layer's gradient in
 * reverse, and compile places every tensor in one device buffer, sharing
 * memory between tensors whose lifetimes (first to last step) never meet. */
#include <math.h>
#include <string.h>

#include "backend.h"
#include <loom/loom-graph.h>
#include "op-registry.h"
#include "ops/conv.h"
#include "ops/cross_entropy.h"
#include "ops/dropout.h"
#include "ops/elementwise.h"
#include "ops/optimizer.h"
#include "ops/params.h"
#include "ops/philox.h"

#define ALIGN_FLOATS 64         /* 256 bytes: any device's storage offset alignment */

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

static void uncompile (LoomGraph *g);

static void
tensor_free (LoomTensor *t)
{
  g_free (t->name);
  g_free (t);
}

LoomGraph *
loom_graph_new (void)
{
  LoomGraph *g = g_new0 (LoomGraph, 1);

  g->tensors = g_ptr_array_new_with_free_func ((GDestroyNotify) tensor_free);
  g->nodes = g_ptr_array_new_with_free_func (g_free);
  g->steps = g_array_new (FALSE, TRUE, sizeof (Step));
  return g;
}

void
loom_graph_free (LoomGraph *g)
{
  if (g == NULL)
    return;
  uncompile (g);
  g_ptr_array_unref (g->tensors);
  g_ptr_array_unref (g->nodes);
  g_array_unref (g->steps);
  g_clear_error (&g->error);
  g_free (g);
}

G_GNUC_PRINTF (2, 3) static LoomTensor *
fail (LoomGraph *g, const char *format, ...)
{
  va_list args;

  if (g->error == NULL)
    {
      va_start (args, format);
      g->error = g_error_new_valist (LOOM_ERROR, LOOM_ERROR_INVALID_ARGUMENT, format, args);
      va_end (args);
    }
  return NULL;
}

static LoomTensor *
tensor_new (LoomGraph *g, const char *name, guint n, guint c, guint h, guint w, TensorKind kind)
{
  LoomTensor *t = g_new0 (LoomTensor, 1);

  t->name = g_strdup (name);
  t->n = n, t->c = c, t->h = h, t->w = w;
  t->length = (gsize) n * c * h * w;
  t->kind = kind;
  t->persistent = kind != TENSOR_VALUE;
  g_ptr_array_add (g->tensors, t);
  return t;
}

static LoomTensor *
tensor_like (LoomGraph *g, const char *name, const LoomTensor *like)
{
  return tensor_new (g, name, like->n, like->c, like->h, like->w, TENSOR_VALUE);
}

static char *
shape (const LoomTensor *t)
{
  return g_strdup_printf ("%u×%u×%u×%u", t->n, t->c, t->h, t->w);
}

static LoomTensor *
declare (LoomGraph *g, const char *what, const char *name, guint n, guint c, guint h, guint w,
         TensorKind kind)
{
  if (g->trained)
    return fail (g, "%s %s: the graph already has its backward pass", what, name);
  if ((guint64) n * c * h * w == 0 || (guint64) n * c * h * w > G_MAXUINT32)
    return fail (g, "%s %s: %u×%u×%u×%u is empty or has more than 2^32 elements",
                 what, name, n, c, h, w);
  return tensor_new (g, name, n, c, h, w, kind);
}

LoomTensor *
loom_graph_input (LoomGraph *g, const char *name, guint n, guint c, guint h, guint w)
{
  g_return_val_if_fail (g != NULL && name != NULL, NULL);
  return declare (g, "input", name, n, c, h, w, TENSOR_INPUT);
}

LoomTensor *
loom_graph_buffer (LoomGraph *g, const char *name, guint n, guint c, guint h, guint w)
{
  g_return_val_if_fail (g != NULL && name != NULL, NULL);
  return declare (g, "buffer", name, n, c, h, w, TENSOR_STATE);
}

LoomTensor *
loom_graph_parameter (LoomGraph *g, const char *name, guint n, guint c, guint h, guint w)
{
  g_return_val_if_fail (g != NULL && name != NULL, NULL);
  return declare (g, "parameter", name, n, c, h, w, TENSOR_PARAMETER);
}

/* The per-step scalars tensor, made on first need (optimizers, noise). */
static LoomTensor *
ensure_scalars (LoomGraph *g)
{
  if (g->scalars == NULL)
    g->scalars = tensor_new (g, "scalars", 1, 1, 1, LOOM_N_SCALARS, TENSOR_STATE);
  return g->scalars;
}

/* Appends a step running OP over the tensors BIND (op binding order). */
static void
emit (LoomGraph *g, const LoomOp *op, const void *params, LoomTensor *const *bind)
{
  Step step = { .op = op };

  memcpy (step.params, params, op->params_size);
  memcpy (step.bind, bind, op->n_bindings * sizeof (LoomTensor *));
  g_array_append_val (g->steps, step);
}

static void
emit_elementwise (LoomGraph *g, const LoomOp *op, float alpha, guint32 kind,
                  LoomTensor *b0, LoomTensor *b1, LoomTensor *b2)
{
  LoomEltParams p = { (guint32) b0->length, alpha, kind };
  LoomTensor *bind[] = { b0, b1, b2 };

  emit (g, op, &p, bind);
}

static Node *
node_new (LoomGraph *g, BackwardFunc backward, LoomTensor *out,
          LoomTensor *a, LoomTensor *b, LoomTensor *c)
{
  Node *node = g_new0 (Node, 1);

  node->backward = backward;
  node->out = out;
  node->in[0] = a, node->in[1] = b, node->in[2] = c;
  g_ptr_array_add (g->nodes, node);
  return node;
}

/* Adds CONTRIBUTION to T's gradient: the first becomes it, later ones add. */
static void
accumulate (LoomGraph *g, LoomTensor *t, LoomTensor *contribution)
{
  if (t->grad == NULL)
    t->grad = contribution;
  else
    emit_elementwise (g, &loom_op_axpy, 1.0f, 0, t->grad, t->grad, contribution);
}

static gboolean
wants_grad (const LoomTensor *t)
{
  return t != NULL && t->needs_grad;
}

/* ---- linear ----------------------------------------------------------- */

static void
linear_backward (LoomGraph *g, Node *node)
{
  LoomTensor *x = node->in[0], *weight = node->in[1], *bias = node->in[2];
  LoomTensor *dy = node->out->grad;
  guint n = x->n, c = (guint) (x->length / x->n), k = weight->n;

  if (wants_grad (x))
    {
      LoomTensor *dx = tensor_like (g, "linear dx", x);
      LoomGemmParams p = { n, c, k, FALSE, FALSE, 1.0f, 0.0f };       /* dy · W */

      emit (g, &loom_op_gemm, &p, (LoomTensor *[]) { dx, dy, weight });
      accumulate (g, x, dx);
    }
  if (wants_grad (weight))
    {
      LoomTensor *dw = tensor_like (g, "linear dw", weight);
      LoomGemmParams p = { k, c, n, TRUE, FALSE, 1.0f, 0.0f };        /* dyᵀ · x */

      emit (g, &loom_op_gemm, &p, (LoomTensor *[]) { dw, dy, x });
      accumulate (g, weight, dw);
    }
  if (wants_grad (bias))
    {
      LoomTensor *db = tensor_like (g, "linear db", bias);
      LoomChannelParams p = { n, k, 1 };

      emit (g, &loom_op_channel_sum, &p, (LoomTensor *[]) { db, dy });
      accumulate (g, bias, db);
    }
}

LoomTensor *
loom_graph_linear (LoomGraph *g, LoomTensor *x, LoomTensor *weight, LoomTensor *bias)
{
  g_autofree char *xs = NULL, *ws = NULL;
  LoomTensor *y;
  guint c;

  g_return_val_if_fail (g != NULL, NULL);
  if (x == NULL || weight == NULL || g->error != NULL)
    return NULL;
  c = (guint) (x->length / x->n);
  if (weight->length / weight->n != c || (bias != NULL && bias->length != weight->n))
    {
      xs = shape (x), ws = shape (weight);
      return fail (g, "linear: input %s, weight %s, bias %" G_GSIZE_FORMAT ": the weight must be "
                   "K×%u and the bias K long", xs, ws, bias ? bias->length : 0, c);
    }
  y = tensor_new (g, "linear", x->n, weight->n, 1, 1, TENSOR_VALUE);
  emit (g, &loom_op_gemm, &(LoomGemmParams) { x->n, weight->n, c, FALSE, TRUE, 1.0f, 0.0f },
        (LoomTensor *[]) { y, x, weight });
  if (bias != NULL)
    emit (g, &loom_op_bias_add, &(LoomChannelParams) { x->n, weight->n, 1 },
          (LoomTensor *[]) { y, bias });
  node_new (g, linear_backward, y, x, weight, bias);
  return y;
}

/* ---- conv2d ----------------------------------------------------------- */

static void
conv2d_backward (LoomGraph *g, Node *node)
{
  LoomTensor *x = node->in[0], *weight = node->in[1], *bias = node->in[2];
  LoomTensor *dy = node->out->grad;
  const LoomConvParams *p = &node->p.conv;

  if (wants_grad (x))
    {
      LoomTensor *dx = tensor_like (g, "conv2d dx", x);

      emit (g, &loom_op_conv2d_backward_data, p, (LoomTensor *[]) { dx, dy, weight });
      accumulate (g, x, dx);
    }
  if (wants_grad (weight))
    {
      LoomTensor *dw = tensor_like (g, "conv2d dw", weight);
      LoomTensor *ws = tensor_new (g, "conv2d dw slices", p->splits, weight->n, weight->c * weight->h,
                                   weight->w, TENSOR_VALUE);
      LoomSumSlicesParams sum = { (guint32) weight->length, p->splits };

      emit (g, &loom_op_conv2d_backward_weight, p, (LoomTensor *[]) { ws, x, dy });
      emit (g, &loom_op_sum_slices, &sum, (LoomTensor *[]) { dw, ws });
      accumulate (g, weight, dw);
    }
  if (wants_grad (bias))
    {
      LoomTensor *db = tensor_like (g, "conv2d db", bias);
      LoomChannelParams sum = { p->n, p->k, p->p * p->q };

      emit (g, &loom_op_channel_sum, &sum, (LoomTensor *[]) { db, dy });
      accumulate (g, bias, db);
    }
}

LoomTensor *
loom_graph_conv2d (LoomGraph *g, LoomTensor *x, LoomTensor *weight, LoomTensor *bias,
                   const LoomConv2d *conv)
{
  LoomConv2d full;
  GError *error = NULL;
  LoomTensor *y;
  Node *node;
  LoomConvParams p;

  g_return_val_if_fail (g != NULL && conv != NULL, NULL);
  if (x == NULL || weight == NULL || g->error != NULL)
    return NULL;
  full = *conv;
  full.batch = x->n, full.in_channels = x->c, full.in_height = x->h, full.in_width = x->w;
  full.out_channels = weight->n, full.kernel_h = weight->h, full.kernel_w = weight->w;
  if (weight->c != x->c || (bias != NULL && bias->length != weight->n))
    {
      g_autofree char *xs = shape (x), *ws = shape (weight);

      return fail (g, "conv2d: input %s, weights %s, bias %" G_GSIZE_FORMAT ": the weights "
                   "need %u input channels and the bias one value per output channel",
                   xs, ws, bias ? bias->length : 0, x->c);
    }
  if (!loom_conv_params_init (&p, &full, "conv2d", &error))
    {
      fail (g, "%s", error->message);
      g_error_free (error);
      return NULL;
    }
  p.has_bias = bias != NULL;
  y = tensor_new (g, "conv2d", p.n, p.k, p.p, p.q, TENSOR_VALUE);
  emit (g, &loom_op_conv2d_forward, &p, (LoomTensor *[]) { y, x, weight, bias ? bias : weight });
  node = node_new (g, conv2d_backward, y, x, weight, bias);
  node->p.conv = p;
  return y;
}

/* ---- transposed convolution -------------------------------------------- */

/* node->p.conv is the convolution transposed: from the output's shape (its
 * x) to the input's (its y). */
static void
conv_transpose2d_backward (LoomGraph *g, Node *node)
{
  LoomTensor *x = node->in[0], *weight = node->in[1], *bias = node->in[2];
  LoomTensor *dy = node->out->grad;
  LoomConvParams p = node->p.conv;

  if (wants_grad (x))
    {
      LoomTensor *dx = tensor_like (g, "conv_transpose2d dx", x);

      p.has_bias = FALSE;
      emit (g, &loom_op_conv2d_forward, &p, (LoomTensor *[]) { dx, dy, weight, weight });
      accumulate (g, x, dx);
    }
  if (wants_grad (weight))
    {
      LoomTensor *dw = tensor_like (g, "conv_transpose2d dw", weight);
      LoomTensor *ws = tensor_new (g, "conv_transpose2d dw slices", p.splits, weight->n,
                                   weight->c * weight->h, weight->w, TENSOR_VALUE);

      emit (g, &loom_op_conv2d_backward_weight, &p, (LoomTensor *[]) { ws, dy, x });
      emit (g, &loom_op_sum_slices, &(LoomSumSlicesParams) { (guint32) weight->length, p.splits },
            (LoomTensor *[]) { dw, ws });
      accumulate (g, weight, dw);
    }
  if (wants_grad (bias))
    {
      LoomTensor *db = tensor_like (g, "conv_transpose2d db", bias);

      emit (g, &loom_op_channel_sum, &(LoomChannelParams) { p.n, p.c, p.h * p.w },
            (LoomTensor *[]) { db, dy });
      accumulate (g, bias, db);
    }
}

LoomTensor *
loom_graph_conv_transpose2d (LoomGraph *g, LoomTensor *x, LoomTensor *weight, LoomTensor *bias,
                             const LoomConv2d *conv)
{
  LoomConv2d forward;
  GError *error = NULL;
  guint stride_h = MAX (conv->stride_h, 1), stride_w = MAX (conv->stride_w, 1);
  guint dil_h = MAX (conv->dilation_h, 1), dil_w = MAX (conv->dilation_w, 1);
  gint64 out_h, out_w;
  LoomConvParams p;
  LoomTensor *y;
  Node *node;

  g_return_val_if_fail (g != NULL && conv != NULL, NULL);
  if (x == NULL || weight == NULL || g->error != NULL)
    return NULL;
  out_h = ((gint64) x->h - 1) * stride_h - 2 * (gint64) conv->pad_h
          + (gint64) dil_h * (weight->h - 1) + conv->output_pad_h + 1;
  out_w = ((gint64) x->w - 1) * stride_w - 2 * (gint64) conv->pad_w
          + (gint64) dil_w * (weight->w - 1) + conv->output_pad_w + 1;
  if (weight->n != x->c || (bias != NULL && bias->length != weight->c) || out_h < 1 || out_w < 1
      || out_h > G_MAXUINT32 || out_w > G_MAXUINT32
      || conv->output_pad_h >= MAX (stride_h, dil_h) || conv->output_pad_w >= MAX (stride_w, dil_w))
    {
      g_autofree char *xs = shape (x), *ws = shape (weight);

      return fail (g, "conv_transpose2d: input %s, weights %s (Ci×Co×R×S), bias %" G_GSIZE_FORMAT
                   ", stride %u×%u, padding %u×%u, output padding %u×%u: the weights need %u "
                   "input channels, the bias one value per output channel, the output at least "
                   "one pixel and the output padding less than the stride", xs, ws,
                   bias ? bias->length : 0, stride_h, stride_w, conv->pad_h, conv->pad_w,
                   conv->output_pad_h, conv->output_pad_w, x->c);
    }
  forward = *conv;
  forward.batch = x->n, forward.in_channels = weight->c;
  forward.in_height = (guint) out_h, forward.in_width = (guint) out_w;
  forward.out_channels = weight->n, forward.kernel_h = weight->h, forward.kernel_w = weight->w;
  if (!loom_conv_params_init (&p, &forward, "conv_transpose2d", &error))
    {
      fail (g, "%s", error->message);
      g_error_free (error);
      return NULL;
    }
  g_assert (p.p == x->h && p.q == x->w);
  y = tensor_new (g, "conv_transpose2d", x->n, weight->c, (guint) out_h, (guint) out_w,
                  TENSOR_VALUE);
  emit (g, &loom_op_conv2d_backward_data, &p, (LoomTensor *[]) { y, x, weight });
  if (bias != NULL)
    emit (g, &loom_op_bias_add, &(LoomChannelParams) { y->n, y->c, y->h * y->w },
          (LoomTensor *[]) { y, bias });
  node = node_new (g, conv_transpose2d_backward, y, x, weight, bias);
  node->p.conv = p;
  return y;
}

/* ---- concatenation ------------------------------------------------------ */

static void
concat_backward (LoomGraph *g, Node *node)
{
  LoomTensor *dy = node->out->grad;
  guint first = 0;

  for (guint i = 0; i < 2; i++)
    {
      LoomTensor *x = node->in[i];

      if (wants_grad (x))
        {
          LoomTensor *dx = tensor_like (g, "concat dx", x);
          LoomChannelCopyParams p = { x->n, x->h * x->w, dy->c, first, x->c, 0, x->c };

          emit (g, &loom_op_channel_copy, &p, (LoomTensor *[]) { dx, dy });
          accumulate (g, x, dx);
        }
      first += x->c;
    }
}

LoomTensor *
loom_graph_concat (LoomGraph *g, LoomTensor *a, LoomTensor *b)
{
  LoomTensor *y;

  g_return_val_if_fail (g != NULL, NULL);
  if (a == NULL || b == NULL || g->error != NULL)
    return NULL;
  if (a->n != b->n || a->h != b->h || a->w != b->w)
    {
      g_autofree char *as = shape (a), *bs = shape (b);

      return fail (g, "concat: %s and %s differ in batch or size", as, bs);
    }
  y = tensor_new (g, "concat", a->n, a->c + b->c, a->h, a->w, TENSOR_VALUE);
  emit (g, &loom_op_channel_copy,
        &(LoomChannelCopyParams) { a->n, a->h * a->w, a->c, 0, y->c, 0, a->c },
        (LoomTensor *[]) { y, a });
  emit (g, &loom_op_channel_copy,
        &(LoomChannelCopyParams) { b->n, b->h * b->w, b->c, 0, y->c, a->c, b->c },
        (LoomTensor *[]) { y, b });
  node_new (g, concat_backward, y, a, b, NULL);
  return y;
}

/* ---- pooling -------------------------------------------------------------- */

static void
pool2d_backward (LoomGraph *g, Node *node)
{
  LoomTensor *x = node->in[0];
  LoomTensor *dx = tensor_like (g, "pool2d dx", x);

  emit (g, &loom_op_pool_backward, &node->p.pool, (LoomTensor *[]) { dx, node->out->grad, x });
  accumulate (g, x, dx);
}

LoomTensor *
loom_graph_pool2d (LoomGraph *g, LoomTensor *x, gboolean max, guint kernel, guint stride,
                   guint pad)
{
  LoomPoolParams p;
  LoomTensor *y;
  Node *node;

  g_return_val_if_fail (g != NULL, NULL);
  if (x == NULL || g->error != NULL)
    return NULL;
  stride = MAX (stride, 1);
  if (kernel == 0 || 2 * pad > kernel || x->h + 2 * pad < kernel || x->w + 2 * pad < kernel)
    {
      g_autofree char *xs = shape (x);

      return fail (g, "pool2d: input %s, kernel %u, padding %u: the kernel must fit the padded "
                   "input and the padding be at most half the kernel", xs, kernel, pad);
    }
  p = (LoomPoolParams) { x->n * x->c, x->h, x->w, (x->h + 2 * pad - kernel) / stride + 1,
                         (x->w + 2 * pad - kernel) / stride + 1, kernel, stride, pad, !!max };
  y = tensor_new (g, max ? "max_pool2d" : "avg_pool2d", x->n, x->c, p.p, p.q, TENSOR_VALUE);
  emit (g, &loom_op_pool_forward, &p, (LoomTensor *[]) { y, x });
  node = node_new (g, pool2d_backward, y, x, NULL, NULL);
  node->p.pool = p;
  return y;
}

/* ---- upsampling ------------------------------------------------------------ */

static void
upsample_backward (LoomGraph *g, Node *node)
{
  LoomTensor *x = node->in[0];
  LoomTensor *dx = tensor_like (g, "upsample dx", x);

  emit (g, &loom_op_upsample_backward, &node->p.upsample,
        (LoomTensor *[]) { dx, node->out->grad });
  accumulate (g, x, dx);
}

LoomTensor *
loom_graph_upsample (LoomGraph *g, LoomTensor *x, guint scale, gboolean bilinear)
{
  LoomTensor *y;
  Node *node;

  g_return_val_if_fail (g != NULL, NULL);
  if (x == NULL || g->error != NULL)
    return NULL;
  if (scale < 1 || scale > 64 || (guint64) x->h * scale * x->w * scale * x->n * x->c > G_MAXUINT32)
    {
      g_autofree char *xs = shape (x);

      return fail (g, "upsample: input %s by %u: the factor must be 1 to 64 and the output "
                   "under 2^32 elements", xs, scale);
    }
  y = tensor_new (g, bilinear ? "upsample bilinear" : "upsample nearest", x->n, x->c,
                  x->h * scale, x->w * scale, TENSOR_VALUE);
  node = node_new (g, upsample_backward, y, x, NULL, NULL);
  node->p.upsample = (LoomUpsampleParams) { x->n * x->c, x->h, x->w, scale, !!bilinear };
  emit (g, &loom_op_upsample_forward, &node->p.upsample, (LoomTensor *[]) { y, x });
  return y;
}

/* ---- batch normalisation ---------------------------------------------------- */

static void
batch_norm_backward (LoomGraph *g, Node *node)
{
  LoomTensor *x = node->in[0], *gamma = node->in[1], *beta = node->in[2];
  LoomTensor *mean = node->saved, *var = node->saved2;
  LoomTensor *dy = node->out->grad;
  LoomTensor *dbeta = tensor_like (g, "batch_norm dbeta", beta);
  LoomTensor *dgamma = tensor_like (g, "batch_norm dgamma", gamma);

  emit (g, &loom_op_batch_norm_grad_stats, &node->p.bn,
        (LoomTensor *[]) { dbeta, dgamma, dy, x, mean, var });
  if (wants_grad (x))
    {
      LoomTensor *dx = tensor_like (g, "batch_norm dx", x);
      /* With running statistics (evaluation) the statistics are constants:
       * the two sums drop out of the gradient. */
      LoomTensor *zeros = node->kind ? NULL
                                     : tensor_new (g, "zeros", 1, 1, 1, beta->length, TENSOR_STATE);

      emit (g, &loom_op_batch_norm_backward, &node->p.bn,
            (LoomTensor *[]) { dx, dy, x, mean, var, gamma, zeros ? zeros : dbeta,
                               zeros ? zeros : dgamma });
      accumulate (g, x, dx);
    }
  if (wants_grad (gamma))
    accumulate (g, gamma, dgamma);
  if (wants_grad (beta))
    accumulate (g, beta, dbeta);
}

LoomTensor *
loom_graph_batch_norm (LoomGraph *g, LoomTensor *x, LoomTensor *gamma, LoomTensor *beta,
                       LoomTensor *running_mean, LoomTensor *running_var, gboolean training,
                       float momentum, float eps)
{
  LoomBatchNormParams p;
  LoomTensor *y, *mean, *var;
  Node *node;

  g_return_val_if_fail (g != NULL, NULL);
  if (x == NULL || gamma == NULL || beta == NULL || g->error != NULL)
    return NULL;
  if (gamma->length != x->c || beta->length != x->c
      || (running_mean != NULL && running_mean->length != x->c)
      || (running_var != NULL && running_var->length != x->c)
      || (!training && (running_mean == NULL || running_var == NULL))
      || (training && (guint64) x->n * x->h * x->w < 2))
    {
      g_autofree char *xs = shape (x);

      return fail (g, "batch_norm: input %s needs %u-long γ, β and running statistics "
                   "(required for evaluation), and more than one value per channel to train",
                   xs, x->c);
    }
  p = (LoomBatchNormParams) { x->n, x->c, x->h * x->w, eps, momentum };
  if (training)
    {
      mean = tensor_new (g, "batch_norm mean", 1, 1, 1, x->c, TENSOR_VALUE);
      var = tensor_new (g, "batch_norm var", 1, 1, 1, x->c, TENSOR_VALUE);
      emit (g, &loom_op_batch_norm_stats, &p, (LoomTensor *[]) { mean, var, x });
      if (running_mean != NULL && running_var != NULL)
        emit (g, &loom_op_batch_norm_running, &p,
              (LoomTensor *[]) { running_mean, running_var, mean, var, ensure_scalars (g) });
    }
  else
    mean = running_mean, var = running_var;
  y = tensor_like (g, "batch_norm", x);
  emit (g, &loom_op_batch_norm_forward, &p, (LoomTensor *[]) { y, x, mean, var, gamma, beta });
  node = node_new (g, batch_norm_backward, y, x, gamma, beta);
  node->p.bn = p;
  node->saved = mean;
  node->saved2 = var;
  node->kind = !!training;
  return y;
}

/* ---- sums and products ------------------------------------------------------ */

static void
dims_of (const LoomTensor *t, guint32 *dims)
{
  dims[0] = t->n, dims[1] = t->c, dims[2] = t->h, dims[3] = t->w;
}

/* CONTRIBUTION (the output's shape) summed down to X's shape where X
 * broadcast, then added to X's gradient. */
static void
accumulate_broadcast (LoomGraph *g, LoomTensor *x, LoomTensor *contribution)
{
  LoomSumToParams p = { .keep = 0 };
  guint32 xd[4];
  LoomTensor *dx;

  if (x->length == contribution->length)
    {
      accumulate (g, x, contribution);
      return;
    }
  dims_of (contribution, p.dims);
  dims_of (x, xd);
  for (guint i = 0; i < 4; i++)
    p.keep |= (guint32) (xd[i] == p.dims[i]) << i;
  dx = tensor_like (g, "broadcast dx", x);
  emit (g, &loom_op_sum_to, &p, (LoomTensor *[]) { dx, contribution });
  accumulate (g, x, dx);
}

/* The output gradient goes to both inputs: copies, since a gradient tensor
 * may later be added to in place. */
static void
add_backward (LoomGraph *g, Node *node)
{
  for (guint i = 0; i < 2; i++)
    if (wants_grad (node->in[i]))
      {
        LoomTensor *dx = tensor_like (g, "add dx", node->out);

        emit_elementwise (g, &loom_op_copy, 0.0f, 0, dx, node->out->grad, NULL);
        accumulate_broadcast (g, node->in[i], dx);
      }
}

static void
mul_backward (LoomGraph *g, Node *node)
{
  for (guint i = 0; i < 2; i++)
    if (wants_grad (node->in[i]))
      {
        LoomTensor *dx = tensor_like (g, "mul dx", node->out), *other = node->in[1 - i];

        if (other->length == dx->length)
          emit_elementwise (g, &loom_op_mul, 0.0f, 0, dx, node->out->grad, other);
        else
          {
            LoomBroadcastParams p = { .mul = 1 };
            guint32 od[4];

            dims_of (dx, p.dims);
            dims_of (other, od);
            loom_broadcast_strides (p.dims, p.dims, p.a_strides);
            loom_broadcast_strides (od, p.dims, p.b_strides);
            emit (g, &loom_op_broadcast, &p, (LoomTensor *[]) { dx, node->out->grad, other });
          }
        accumulate_broadcast (g, node->in[i], dx);
      }
}

/* y = a + b or a · b; sizes that differ must be 1 in one of them
 * (PyTorch's broadcasting over N, C, H, W). */
static LoomTensor *
pointwise (LoomGraph *g, const char *name, const LoomOp *op, BackwardFunc backward,
           LoomTensor *a, LoomTensor *b)
{
  LoomBroadcastParams p = { .mul = op == &loom_op_mul };
  guint32 ad[4], bd[4];
  LoomTensor *y;

  g_return_val_if_fail (g != NULL, NULL);
  if (a == NULL || b == NULL || g->error != NULL)
    return NULL;
  dims_of (a, ad);
  dims_of (b, bd);
  for (guint i = 0; i < 4; i++)
    {
      if (ad[i] != bd[i] && ad[i] != 1 && bd[i] != 1)
        {
          g_autofree char *as = shape (a), *bs = shape (b);

          return fail (g, "%s: %s and %s differ in shape and do not broadcast "
                       "(sizes that differ must be 1 in one of them)", name, as, bs);
        }
      p.dims[i] = MAX (ad[i], bd[i]);
    }
  y = tensor_new (g, name, p.dims[0], p.dims[1], p.dims[2], p.dims[3], TENSOR_VALUE);
  if (a->length == y->length && b->length == y->length)
    emit_elementwise (g, op, 0.0f, 0, y, a, b);
  else
    {
      loom_broadcast_strides (ad, p.dims, p.a_strides);
      loom_broadcast_strides (bd, p.dims, p.b_strides);
      emit (g, &loom_op_broadcast, &p, (LoomTensor *[]) { y, a, b });
    }
  node_new (g, backward, y, a, b, NULL);
  return y;
}

LoomTensor *
loom_graph_add (LoomGraph *g, LoomTensor *a, LoomTensor *b)
{
  return pointwise (g, "add", &loom_op_add, add_backward, a, b);
}

LoomTensor *
loom_graph_mul (LoomGraph *g, LoomTensor *a, LoomTensor *b)
{
  return pointwise (g, "mul", &loom_op_mul, mul_backward, a, b);
}

/* ---- augmentation ------------------------------------------------------------ */

gboolean
loom_graph_affine_sample (LoomGraph *g, LoomTensor *images, LoomTensor *labels,
                          LoomTensor *maps, guint batch, guint channels, guint size,
                          LoomTensor **x, LoomTensor **crop_labels)
{
  LoomAffineParams p = { batch, channels, size, 0, 0 };

  g_return_val_if_fail (g != NULL && x != NULL && crop_labels != NULL, FALSE);
  *x = *crop_labels = NULL;
  if (images == NULL || labels == NULL || maps == NULL || g->error != NULL)
    return FALSE;
  if (batch == 0 || channels == 0 || size == 0
      || maps->length != (gsize) batch * LOOM_AFFINE_FLOATS
      || images->length > G_MAXUINT32 || labels->length > G_MAXUINT32)
    {
      fail (g, "affine_sample: %u crops of %u×%u×%u need %u×%d maps (have %" G_GSIZE_FORMAT ")",
            batch, channels, size, size, batch, LOOM_AFFINE_FLOATS, maps->length);
      return FALSE;
    }
  p.image_floats = (guint32) images->length;
  p.label_floats = (guint32) labels->length;
  *x = tensor_new (g, "augmented", batch, channels, size, size, TENSOR_VALUE);
  *crop_labels = tensor_new (g, "augmented labels", batch, 1, size, size, TENSOR_VALUE);
  emit (g, &loom_op_affine_sample, &p, (LoomTensor *[]) { *x, *crop_labels, images, labels, maps });
  return TRUE;
}

LoomTensor *
loom_graph_photometric (LoomGraph *g, LoomTensor *x, LoomTensor *settings)
{
  LoomPhotoParams p;
  LoomTensor *y;

  g_return_val_if_fail (g != NULL, NULL);
  if (x == NULL || settings == NULL || g->error != NULL)
    return NULL;
  if (x->h != x->w || settings->length != (gsize) x->n * LOOM_PHOTO_FLOATS)
    {
      g_autofree char *xs = shape (x);

      return fail (g, "photometric: %s needs square crops and %u×%d settings", xs, x->n,
                   LOOM_PHOTO_FLOATS);
    }
  p = (LoomPhotoParams) { x->n, x->c, x->h };
  y = tensor_like (g, "photometric", x);
  emit (g, &loom_op_photometric, &p, (LoomTensor *[]) { y, x, settings });
  return y;
}

LoomTensor *
loom_graph_one_hot (LoomGraph *g, LoomTensor *labels, guint classes)
{
  LoomTensor *y;

  g_return_val_if_fail (g != NULL, NULL);
  if (labels == NULL || g->error != NULL)
    return NULL;
  if (labels->c != 1 || classes == 0)
    {
      g_autofree char *ls = shape (labels);

      return fail (g, "one_hot: labels %s need one channel, and classes (%u) at least one",
                   ls, classes);
    }
  y = tensor_new (g, "one-hot", labels->n, classes, labels->h, labels->w, TENSOR_VALUE);
  emit (g, &loom_op_one_hot, &(LoomOneHotParams) { labels->n, classes, labels->h * labels->w },
        (LoomTensor *[]) { y, labels });
  return y;
}

/* ---- views and slices --------------------------------------------------------- */

/* A tensor that is a window of BASE's memory (its root, if BASE is a view). */
static LoomTensor *
view_new (LoomGraph *g, const char *name, LoomTensor *base, gsize offset,
          guint n, guint c, guint h, guint w)
{
  LoomTensor *t = tensor_new (g, name, n, c, h, w, TENSOR_VALUE);

  while (base->view_of != NULL)
    {
      offset += base->view_offset;
      base = base->view_of;
    }
  t->view_of = base;
  t->view_offset = offset;
  t->persistent = base->persistent;
  return t;
}

static void
reshape_backward (LoomGraph *g, Node *node)
{
  LoomTensor *x = node->in[0], *dy = node->out->grad;

  accumulate (g, x, view_new (g, "reshape dx", dy, 0, x->n, x->c, x->h, x->w));
}

LoomTensor *
loom_graph_reshape (LoomGraph *g, LoomTensor *x, guint n, guint c, guint h, guint w)
{
  LoomTensor *y;

  g_return_val_if_fail (g != NULL, NULL);
  if (x == NULL || g->error != NULL)
    return NULL;
  if ((guint64) n * c * h * w != x->length)
    {
      g_autofree char *xs = shape (x);

      return fail (g, "reshape: %s has %" G_GSIZE_FORMAT " values, %u×%u×%u×%u would have %"
                   G_GUINT64_FORMAT, xs, x->length, n, c, h, w, (guint64) n * c * h * w);
    }
  y = view_new (g, "reshape", x, 0, n, c, h, w);
  node_new (g, reshape_backward, y, x, NULL, NULL);
  return y;
}

LoomTensor *
loom_graph_detach (LoomGraph *g, LoomTensor *x)
{
  g_return_val_if_fail (g != NULL, NULL);
  if (x == NULL || g->error != NULL)
    return NULL;
  /* No node: nothing flows back through it. */
  return view_new (g, "detached", x, 0, x->n, x->c, x->h, x->w);
}

static void
slice_backward (LoomGraph *g, Node *node)
{
  LoomTensor *x = node->in[0], *dy = node->out->grad;
  LoomTensor *dx = tensor_like (g, "slice dx", x);
  LoomChannelCopyParams p = { x->n, x->h * x->w, dy->c, 0, x->c, node->kind, dy->c };

  emit_elementwise (g, &loom_op_fill, 0.0f, 0, dx, NULL, NULL);
  emit (g, &loom_op_channel_copy, &p, (LoomTensor *[]) { dx, dy });
  accumulate (g, x, dx);
}

LoomTensor *
loom_graph_slice_channels (LoomGraph *g, LoomTensor *x, guint first, guint count)
{
  LoomTensor *y;

  g_return_val_if_fail (g != NULL, NULL);
  if (x == NULL || g->error != NULL)
    return NULL;
  if (count == 0 || first >= x->c || count > x->c - first)
    {
      g_autofree char *xs = shape (x);

      return fail (g, "slice_channels: channels [%u, %u + %u) are not inside %s",
                   first, first, count, xs);
    }
  y = tensor_new (g, "slice", x->n, count, x->h, x->w, TENSOR_VALUE);
  emit (g, &loom_op_channel_copy,
        &(LoomChannelCopyParams) { x->n, x->h * x->w, x->c, first, count, 0, count },
        (LoomTensor *[]) { y, x });
  node_new (g, slice_backward, y, x, NULL, NULL)->kind = first;
  return y;
}

/* ---- randomness ------------------------------------------------------------ */

/* A one-float view of the scalars' seed, for the random ops to bind. */
static LoomTensor *
seed_tensor (LoomGraph *g)
{
  if (g->seed_view == NULL)
    {
      ensure_scalars (g);
      g->seed_view = tensor_new (g, "seed", 1, 1, 1, 1, TENSOR_STATE);
      g->seed_view->view_of = g->scalars;
      g->seed_view->view_offset = LOOM_SCALAR_SEED;
    }
  return g->seed_view;
}

static void
dropout_backward (LoomGraph *g, Node *node)
{
  LoomTensor *x = node->in[0];
  LoomTensor *dx = tensor_like (g, "dropout dx", x);

  emit (g, &loom_op_dropout_backward, &node->p.dropout,
        (LoomTensor *[]) { dx, node->out->grad, seed_tensor (g) });
  accumulate (g, x, dx);
}

LoomTensor *
loom_graph_dropout (LoomGraph *g, LoomTensor *x, float p)
{
  LoomTensor *y;
  Node *node;

  g_return_val_if_fail (g != NULL, NULL);
  if (x == NULL || g->error != NULL)
    return NULL;
  if (!(p >= 0.0f && p < 1.0f))
    return fail (g, "dropout: the probability %g is not in [0, 1)", p);
  y = tensor_like (g, "dropout", x);
  node = node_new (g, dropout_backward, y, x, NULL, NULL);
  node->p.dropout = (LoomDropoutParams) { (guint32) x->length, p, 1.0f / (1.0f - p), g->streams++ };
  emit (g, &loom_op_dropout_forward, &node->p.dropout, (LoomTensor *[]) { y, x, seed_tensor (g) });
  return y;
}

LoomTensor *
loom_graph_noise (LoomGraph *g, const char *name, guint n, guint c, guint h, guint w,
                  gboolean normal)
{
  LoomTensor *t;
  LoomRandomParams p;

  g_return_val_if_fail (g != NULL && name != NULL, NULL);
  t = declare (g, "noise", name, n, c, h, w, TENSOR_VALUE);
  if (t == NULL)
    return NULL;
  p = (LoomRandomParams) { (guint32) t->length, !!normal, normal ? 0.0f : 0.0f, 1.0f,
                           g->streams++ };
  emit (g, &loom_op_random_fill, &p, (LoomTensor *[]) { t, seed_tensor (g) });
  t->persistent = TRUE;         /* readable after the run */
  return t;
}

/* ---- group normalisation -------------------------------------------------- */

/* LENGTH copies of VALUE, written once at compile. */
static LoomTensor *
constant (LoomGraph *g, gsize length, float value)
{
  LoomTensor *t = tensor_new (g, "constant", 1, 1, 1, (guint) length, TENSOR_STATE);

  t->constant = TRUE;
  t->fill = value;
  return t;
}

/* Group norm is batch norm's kernels on a view where each (sample, group)
 * is a "channel" of C/G·H·W contiguous values (n = 1, c = N·G), then a
 * per-channel affine map; node->saved/saved2 are the statistics,
 * node->in[...] x, γ, β. */
static void
group_norm_backward (LoomGraph *g, Node *node)
{
  LoomTensor *x = node->in[0], *gamma = node->in[1], *beta = node->in[2];
  LoomTensor *mean = node->saved, *var = node->saved2, *xhat = node->saved3;
  LoomTensor *dy = node->out->grad;
  const LoomBatchNormParams *view = &node->p.bn;
  guint32 segments = view->c;
  LoomBatchNormParams per_channel = { x->n, x->c, x->h * x->w, 0.0f, 0.0f };

  if (wants_grad (gamma) || wants_grad (beta))
    {
      LoomTensor *dgamma = tensor_like (g, "group_norm dgamma", gamma);
      LoomTensor *dbeta = tensor_like (g, "group_norm dbeta", beta);

      /* Σ dy and Σ dy·x̂ per channel: x̂ against mean 0, variance 1, ε 0. */
      emit (g, &loom_op_batch_norm_grad_stats, &per_channel,
            (LoomTensor *[]) { dbeta, dgamma, dy, xhat, constant (g, x->c, 0.0f),
                               constant (g, x->c, 1.0f) });
      if (wants_grad (gamma))
        accumulate (g, gamma, dgamma);
      if (wants_grad (beta))
        accumulate (g, beta, dbeta);
    }
  if (wants_grad (x))
    {
      LoomTensor *dxhat = tensor_like (g, "group_norm dx̂", x);
      LoomTensor *s1 = tensor_new (g, "group_norm Σ dx̂", 1, 1, 1, segments, TENSOR_VALUE);
      LoomTensor *s2 = tensor_new (g, "group_norm Σ dx̂·x̂", 1, 1, 1, segments, TENSOR_VALUE);
      LoomTensor *dx = tensor_like (g, "group_norm dx", x);

      emit (g, &loom_op_channel_affine, &(LoomChannelParams) { x->n, x->c, x->h * x->w },
            (LoomTensor *[]) { dxhat, dy, gamma, constant (g, x->c, 0.0f) });
      emit (g, &loom_op_batch_norm_grad_stats, view, (LoomTensor *[]) { s1, s2, dxhat, x, mean, var });
      emit (g, &loom_op_batch_norm_backward, view,
            (LoomTensor *[]) { dx, dxhat, x, mean, var, constant (g, segments, 1.0f), s1, s2 });
      accumulate (g, x, dx);
    }
}

LoomTensor *
loom_graph_group_norm (LoomGraph *g, LoomTensor *x, guint groups, LoomTensor *gamma,
                       LoomTensor *beta, float eps)
{
  LoomBatchNormParams view;
  LoomTensor *mean, *var, *xhat, *y;
  Node *node;

  g_return_val_if_fail (g != NULL, NULL);
  if (x == NULL || gamma == NULL || beta == NULL || g->error != NULL)
    return NULL;
  if (groups == 0 || x->c % groups != 0 || gamma->length != x->c || beta->length != x->c
      || (guint64) x->c / groups * x->h * x->w < 2)
    {
      g_autofree char *xs = shape (x);

      return fail (g, "group_norm: input %s in %u groups: the groups must divide the %u channels, "
                   "hold more than one value, and γ, β have one value per channel",
                   xs, groups, x->c);
    }
  view = (LoomBatchNormParams) { 1, x->n * groups, x->c / groups * x->h * x->w, eps, 0.0f };
  mean = tensor_new (g, "group_norm mean", 1, 1, 1, view.c, TENSOR_VALUE);
  var = tensor_new (g, "group_norm var", 1, 1, 1, view.c, TENSOR_VALUE);
  xhat = tensor_like (g, "group_norm x̂", x);
  y = tensor_like (g, "group_norm", x);
  emit (g, &loom_op_batch_norm_stats, &view, (LoomTensor *[]) { mean, var, x });
  emit (g, &loom_op_batch_norm_forward, &view,
        (LoomTensor *[]) { xhat, x, mean, var, constant (g, view.c, 1.0f),
                           constant (g, view.c, 0.0f) });
  emit (g, &loom_op_channel_affine, &(LoomChannelParams) { x->n, x->c, x->h * x->w },
        (LoomTensor *[]) { y, xhat, gamma, beta });
  node = node_new (g, group_norm_backward, y, x, gamma, beta);
  node->p.bn = view;
  node->saved = mean;
  node->saved2 = var;
  node->saved3 = xhat;
  return y;
}

/* ---- activations ------------------------------------------------------ */

static void
activation_backward (LoomGraph *g, Node *node)
{
  LoomTensor *x = node->in[0];
  LoomTensor *dx = tensor_like (g, "activation dx", x);

  emit_elementwise (g, &loom_op_activation_backward, node->slope, node->kind,
                    dx, node->out->grad, x);
  accumulate (g, x, dx);
}

LoomTensor *
loom_graph_activation (LoomGraph *g, LoomActivation kind, float slope, LoomTensor *x)
{
  LoomTensor *y;
  Node *node;

  g_return_val_if_fail (g != NULL, NULL);
  if (x == NULL || g->error != NULL)
    return NULL;
  if ((guint) kind >= LOOM_N_ACTIVATIONS)
    return fail (g, "activation: unknown kind %d", (int) kind);
  y = tensor_like (g, "activation", x);
  emit_elementwise (g, &loom_op_activation_forward, slope, kind, y, x, NULL);
  node = node_new (g, activation_backward, y, x, NULL, NULL);
  node->kind = kind;
  node->slope = slope;
  return y;
}

/* ---- losses ----------------------------------------------------------- */

/* d loss / dy = scale · loss'(y, t): a loss is where gradients start. */
static void
pointwise_loss_backward (LoomGraph *g, Node *node)
{
  LoomTensor *y = node->in[0], *target = node->in[1];
  LoomTensor *dy = tensor_like (g, "loss dy", y);

  emit_elementwise (g, &loom_op_pointwise_loss_backward, node->slope, node->kind, dy, y, target);
  accumulate (g, y, dy);
}

LoomTensor *
loom_graph_loss (LoomGraph *g, LoomLoss kind, LoomTensor *y, LoomTensor *target, gboolean sum)
{
  static const char *const names[] = { "mse_loss", "l1_loss", "bce_with_logits", "hinge_loss",
                                       "linear_loss" };
  LoomTensor *each, *total, *loss;
  float scale;
  Node *node;

  g_return_val_if_fail (g != NULL, NULL);
  if (y == NULL || target == NULL || g->error != NULL)
    return NULL;
  if ((guint) kind >= LOOM_N_LOSSES)
    return fail (g, "loss: unknown kind %d", (int) kind);
  if (y->length != target->length)
    {
      g_autofree char *ys = shape (y), *ts = shape (target);

      return fail (g, "%s: output %s and target %s differ in size", names[kind], ys, ts);
    }
  scale = sum ? 1.0f : 1.0f / (float) y->length;
  each = tensor_like (g, "loss per value", y);
  total = tensor_new (g, "loss sum", 1, 1, 1, 1, TENSOR_VALUE);
  loss = tensor_new (g, names[kind], 1, 1, 1, 1, TENSOR_VALUE);
  emit_elementwise (g, &loom_op_pointwise_loss_forward, 0.0f, kind, each, y, target);
  emit (g, &loom_op_channel_sum, &(LoomChannelParams) { 1, 1, (guint32) y->length },
        (LoomTensor *[]) { total, each });
  emit_elementwise (g, &loom_op_scale, scale, 0, loss, total, NULL);
  node = node_new (g, pointwise_loss_backward, loss, y, target, NULL);
  node->kind = kind;
  node->slope = scale;
  node->is_loss = TRUE;
  loss->persistent = TRUE;      /* read after the run */
  return loss;
}

static Node *
loss_node_of (LoomGraph *g, LoomTensor *loss)
{
  for (guint i = 0; i < g->nodes->len; i++)
    {
      Node *node = g->nodes->pdata[i];

      if (node->out == loss && node->is_loss)
        return node;
    }
  return NULL;
}

/* The gradient of a sum of losses: each part's, from its own seed. */
static void
loss_add_backward (LoomGraph *g, Node *node)
{
  for (guint i = 0; i < 2; i++)
    {
      Node *part = loss_node_of (g, node->in[i]);

      part->backward (g, part);
    }
}

LoomTensor *
loom_graph_loss_add (LoomGraph *g, LoomTensor *a, LoomTensor *b)
{
  LoomTensor *loss;
  Node *node;

  g_return_val_if_fail (g != NULL, NULL);
  if (a == NULL || b == NULL || g->error != NULL)
    return NULL;
  if (a == b || loss_node_of (g, a) == NULL || loss_node_of (g, b) == NULL)
    return fail (g, "loss_add: both terms must be distinct losses made by loss builders");
  loss = tensor_new (g, "loss sum", 1, 1, 1, 1, TENSOR_VALUE);
  emit_elementwise (g, &loom_op_axpy, 1.0f, 0, loss, a, b);
  node = node_new (g, loss_add_backward, loss, a, b, NULL);
  node->is_loss = TRUE;
  loss->persistent = TRUE;
  return loss;
}

LoomTensor *
loom_graph_mse_loss (LoomGraph *g, LoomTensor *y, LoomTensor *target)
{
  return loom_graph_loss (g, LOOM_LOSS_MSE, y, target, FALSE);
}

/* The mean weighted loss's gradient: w[y]·(softmax − onehot) / Σ w. */
static void
cross_entropy_backward (LoomGraph *g, Node *node)
{
  LoomTensor *logits = node->in[0], *labels = node->in[1], *weights = node->in[2];
  LoomTensor *dlogits = tensor_like (g, "cross_entropy dlogits", logits);
  LoomCrossEntropyParams p = { logits->n, logits->c, logits->h * logits->w,
                               (gint32) node->kind, weights != NULL, TRUE };

  emit (g, &loom_op_cross_entropy_backward, &p,
        (LoomTensor *[]) { dlogits, logits, labels, weights ? weights : logits, node->saved });
  accumulate (g, logits, dlogits);
}

LoomTensor *
loom_graph_cross_entropy (LoomGraph *g, LoomTensor *logits, LoomTensor *labels,
                          LoomTensor *class_weights, int ignore_label)
{
  LoomTensor *loss_px, *weight_px, *loss_sum, *weight_sum, *loss;
  LoomCrossEntropyParams p;
  guint32 pixels;
  Node *node;

  g_return_val_if_fail (g != NULL, NULL);
  if (logits == NULL || labels == NULL || g->error != NULL)
    return NULL;
  pixels = logits->n * logits->h * logits->w;
  if (labels->length != pixels || (class_weights != NULL && class_weights->length != logits->c))
    {
      g_autofree char *ls = shape (logits), *ts = shape (labels);

      return fail (g, "cross_entropy: logits %s need %u labels (N×1×H×W) and %u class weights; "
                   "labels are %s, weights %" G_GSIZE_FORMAT, ls, pixels, logits->c, ts,
                   class_weights ? class_weights->length : 0);
    }
  p = (LoomCrossEntropyParams) { logits->n, logits->c, logits->h * logits->w, ignore_label,
                                 class_weights != NULL, TRUE };
  loss_px = tensor_like (g, "cross_entropy per pixel", labels);
  weight_px = tensor_like (g, "cross_entropy weights", labels);
  loss_sum = tensor_new (g, "cross_entropy sum", 1, 1, 1, 1, TENSOR_VALUE);
  weight_sum = tensor_new (g, "cross_entropy weight sum", 1, 1, 1, 1, TENSOR_VALUE);
  loss = tensor_new (g, "cross_entropy loss", 1, 1, 1, 1, TENSOR_VALUE);
  emit (g, &loom_op_cross_entropy_forward, &p,
        (LoomTensor *[]) { loss_px, weight_px, logits, labels,
                           class_weights ? class_weights : logits });
  emit (g, &loom_op_channel_sum, &(LoomChannelParams) { 1, 1, pixels },
        (LoomTensor *[]) { loss_sum, loss_px });
  emit (g, &loom_op_channel_sum, &(LoomChannelParams) { 1, 1, pixels },
        (LoomTensor *[]) { weight_sum, weight_px });
  emit_elementwise (g, &loom_op_divide, 0.0f, 0, loss, loss_sum, weight_sum);
  node = node_new (g, cross_entropy_backward, loss, logits, labels, class_weights);
  node->saved = weight_sum;
  node->kind = (guint32) ignore_label;
  node->is_loss = TRUE;
  loss->persistent = TRUE;
  return loss;
}

/* ---- training --------------------------------------------------------- */

/* Appends the backward pass from LOSS; WHO names the caller in errors. */
static gboolean
backward_from (LoomGraph *g, LoomTensor *loss, const char *who, GError **error)
{
  Node *loss_node = NULL;

  if (g->error != NULL)
    {
      g_propagate_error (error, g_error_copy (g->error));
      return FALSE;
    }
  for (guint i = 0; i < g->nodes->len; i++)
    if (((Node *) g->nodes->pdata[i])->out == loss && ((Node *) g->nodes->pdata[i])->is_loss)
      loss_node = g->nodes->pdata[i];
  if (loss == NULL || loss_node == NULL || g->trained)
    {
      g_set_error (error, LOOM_ERROR, LOOM_ERROR_INVALID_ARGUMENT,
                   g->trained ? "%s: the graph already has its backward pass"
                              : "%s: the loss must come from a loss builder", who);
      return FALSE;
    }
  g->trained = TRUE;

  /* Which tensors need a gradient, now that parameters may be frozen. */
  for (guint i = 0; i < g->tensors->len; i++)
    {
      LoomTensor *t = g->tensors->pdata[i];

      t->needs_grad = t->kind == TENSOR_PARAMETER && !t->frozen;
    }
  for (guint i = 0; i < g->nodes->len; i++)
    {
      Node *node = g->nodes->pdata[i];

      node->out->needs_grad = wants_grad (node->in[0]) || wants_grad (node->in[1])
                           || wants_grad (node->in[2]);
    }

  /* Reverse creation order: a layer's output gradient is complete before
   * its own backward runs, since everything that reads it came later. */
  loss_node->backward (g, loss_node);
  for (guint i = g->nodes->len; i-- > 0;)
    {
      Node *node = g->nodes->pdata[i];

      if (node->out->grad != NULL && !node->is_loss)
        node->backward (g, node);
    }
  return TRUE;
}

/* Scales every gradient by min(1, clip_norm / (‖all gradients‖ + 1e-6)),
 * as PyTorch's clip_grad_norm_, all on the device. */
static void
add_clipping (LoomGraph *g)
{
  LoomTensor *total = tensor_new (g, "gradient sum of squares", 1, 1, 1, 1, TENSOR_VALUE);
  LoomTensor *factor = tensor_new (g, "clip factor", 1, 1, 1, 1, TENSOR_VALUE);

  emit_elementwise (g, &loom_op_fill, 0.0f, 0, total, NULL, NULL);
  for (guint i = 0; i < g->tensors->len; i++)
    {
      LoomTensor *p = g->tensors->pdata[i];
      LoomTensor *square, *sum;

      if (p->accumulated == NULL)
        continue;
      square = tensor_like (g, "gradient squared", p);
      sum = tensor_new (g, "gradient sum of squares", 1, 1, 1, 1, TENSOR_VALUE);
      emit_elementwise (g, &loom_op_mul, 0.0f, 0, square, p->grad, p->grad);
      emit (g, &loom_op_channel_sum, &(LoomChannelParams) { 1, 1, (guint32) p->length },
            (LoomTensor *[]) { sum, square });
      emit_elementwise (g, &loom_op_axpy, 1.0f, 0, total, total, sum);
    }
  emit_elementwise (g, &loom_op_clip_scale, g->clip_norm, 0, factor, total, NULL);
  for (guint i = 0; i < g->tensors->len; i++)
    {
      LoomTensor *p = g->tensors->pdata[i];

      if (p->accumulated != NULL)
        emit_elementwise (g, &loom_op_scale_by, 0.0f, 0, p->grad, p->grad, factor);
    }
}

void
loom_graph_clip_grad_norm (LoomGraph *g, float max_norm)
{
  g_return_if_fail (g != NULL && !g->trained);
  g->clip_norm = max_norm;
}

/* After the backward steps come two segments: one that adds each
 * parameter's gradient to its accumulator (micro-batches), and the update:
 * the accumulated gradients join the last one, OP (sgd_step, adam_step)
 * applies them, the accumulators restart at zero. */
static void
add_optimizer (LoomGraph *g, const LoomOp *op, LoomOptimizerParams params, gboolean two_states)
{
  ensure_scalars (g);
  g->backward_end = g->steps->len;
  for (guint i = 0; i < g->tensors->len; i++)
    {
      LoomTensor *p = g->tensors->pdata[i];

      if (p->kind != TENSOR_PARAMETER || p->grad == NULL)
        continue;
      p->grad->persistent = TRUE;       /* readable after a run */
      p->accumulated = tensor_new (g, "accumulated gradient", p->n, p->c, p->h, p->w,
                                   TENSOR_STATE);
      emit_elementwise (g, &loom_op_axpy, 1.0f, 0, p->accumulated, p->accumulated, p->grad);
    }
  g->update_begin = g->steps->len;
  for (guint i = 0; i < g->tensors->len; i++)
    {
      LoomTensor *p = g->tensors->pdata[i];

      if (p->accumulated == NULL)
        continue;
      emit_elementwise (g, &loom_op_axpy, 1.0f, 0, p->grad, p->grad, p->accumulated);
      emit_elementwise (g, &loom_op_fill, 0.0f, 0, p->accumulated, NULL, NULL);
    }
  if (g->clip_norm > 0.0f)
    add_clipping (g);
  for (guint i = 0; i < g->tensors->len; i++)
    {
      LoomTensor *p = g->tensors->pdata[i];
      LoomTensor *s1, *s2;

      if (p->accumulated == NULL)
        continue;
      s1 = tensor_new (g, "optimizer state", p->n, p->c, p->h, p->w, TENSOR_STATE);
      s2 = two_states ? tensor_new (g, "optimizer state", p->n, p->c, p->h, p->w, TENSOR_STATE)
                      : s1;
      params.n = (guint32) p->length;
      emit (g, op, &params, (LoomTensor *[]) { p, s1, s2, p->grad, g->scalars });
    }
}

void
loom_tensor_set_frozen (LoomTensor *t, gboolean frozen)
{
  g_return_if_fail (t != NULL && t->kind == TENSOR_PARAMETER);
  t->frozen = frozen;
}

gboolean
loom_graph_train_sgd (LoomGraph *g, LoomTensor *loss, float learning_rate, float momentum,
                      GError **error)
{
  g_return_val_if_fail (g != NULL, FALSE);
  if (!backward_from (g, loss, "train_sgd", error))
    return FALSE;
  add_optimizer (g, &loom_op_sgd_step, (LoomOptimizerParams) { .momentum = momentum }, FALSE);
  g->learning_rate = learning_rate;
  return TRUE;
}

gboolean
loom_graph_train_adam (LoomGraph *g, LoomTensor *loss, float learning_rate, float beta1,
                       float beta2, float eps, float weight_decay, GError **error)
{
  g_return_val_if_fail (g != NULL, FALSE);
  if (beta1 < 0.0f || beta1 >= 1.0f || beta2 < 0.0f || beta2 >= 1.0f || eps <= 0.0f)
    {
      g_set_error (error, LOOM_ERROR, LOOM_ERROR_INVALID_ARGUMENT,
                   "train_adam: betas must be in [0, 1) and eps positive (β₁ %g, β₂ %g, ε %g)",
                   beta1, beta2, eps);
      return FALSE;
    }
  if (!backward_from (g, loss, "train_adam", error))
    return FALSE;
  add_optimizer (g, &loom_op_adam_step, (LoomOptimizerParams) {
                   .beta1 = beta1, .beta2 = beta2, .eps = eps, .weight_decay = weight_decay },
                 TRUE);
  g->learning_rate = learning_rate;
  g->beta1 = beta1;
  g->beta2 = beta2;
  return TRUE;
}

LoomTensor *
loom_graph_ema (LoomGraph *g, LoomTensor *p, LoomTensor *rate)
{
  LoomTensor *ema, *gap;

  g_return_val_if_fail (g != NULL, NULL);
  if (p == NULL || rate == NULL || g->error != NULL)
    return NULL;
  if (!g->trained || p->kind != TENSOR_PARAMETER || rate->length != 1)
    return fail (g, "ema: needs a parameter of a trained graph (after train_*) and a rate "
                 "of one value");
  ema = tensor_new (g, "moving average", p->n, p->c, p->h, p->w, TENSOR_STATE);
  gap = tensor_like (g, "parameter − average", p);
  emit_elementwise (g, &loom_op_axpy, -1.0f, 0, gap, p, ema);
  emit (g, &loom_op_scale_by, &(LoomEltParams) { (guint32) p->length, 0.0f, 0 },
        (LoomTensor *[]) { gap, gap, rate });
  emit_elementwise (g, &loom_op_axpy, 1.0f, 0, ema, ema, gap);
  return ema;
}

void
loom_graph_set_learning_rate (LoomGraph *g, float learning_rate)
{
  g_return_if_fail (g != NULL);
  g->learning_rate = learning_rate;
}

/* ---- compile and run -------------------------------------------------- */

static gsize
aligned (gsize floats)
{
  return (MAX (floats, 1) + ALIGN_FLOATS - 1) / ALIGN_FLOATS * ALIGN_FLOATS;
}

static gint
by_length_desc (gconstpointer a, gconstpointer b)
{
  const LoomTensor *x = *(LoomTensor *const *) a, *y = *(LoomTensor *const *) b;

  return x->length < y->length ? 1 : x->length > y->length ? -1 : 0;
}

static gint
by_offset (gconstpointer a, gconstpointer b)
{
  const LoomTensor *x = *(LoomTensor *const *) a, *y = *(LoomTensor *const *) b;

  return x->offset < y->offset ? -1 : x->offset > y->offset;
}

/* Greedy placement, largest first: the lowest offset whose range no placed
 * tensor alive at the same time uses.  Returns the floats needed. */
static gsize
plan_memory (LoomGraph *g)
{
  g_autoptr (GPtrArray) order = g_ptr_array_new ();
  g_autoptr (GPtrArray) placed = g_ptr_array_new ();
  g_autoptr (GPtrArray) clash = g_ptr_array_new ();
  gint last_step = (gint) g->steps->len;
  gsize total = 0;

  for (guint i = 0; i < g->tensors->len; i++)
    {
      LoomTensor *t = g->tensors->pdata[i];

      t->first = t->last = -1;
    }
  for (guint s = 0; s < g->steps->len; s++)
    {
      Step *step = &g_array_index (g->steps, Step, s);

      for (guint b = 0; b < step->op->n_bindings; b++)
        {
          LoomTensor *t = step->bind[b];

          if (t->first < 0)
            t->first = (gint) s;
          t->last = (gint) s;
        }
    }
  /* A view's uses keep the memory it looks into alive. */
  for (guint i = 0; i < g->tensors->len; i++)
    {
      LoomTensor *t = g->tensors->pdata[i], *base = t->view_of;

      if (base == NULL || t->first < 0)
        continue;
      base->first = base->first < 0 ? t->first : MIN (base->first, t->first);
      base->last = MAX (base->last, t->last);
    }
  for (guint i = 0; i < g->tensors->len; i++)
    {
      LoomTensor *t = g->tensors->pdata[i];

      if (t->persistent)
        t->first = 0, t->last = last_step;
      if (t->first >= 0 && t->view_of == NULL)
        g_ptr_array_add (order, t);
    }
  g_ptr_array_sort (order, by_length_desc);

  for (guint i = 0; i < order->len; i++)
    {
      LoomTensor *t = order->pdata[i];
      gsize offset = 0;

      g_ptr_array_set_size (clash, 0);
      for (guint j = 0; j < placed->len; j++)
        {
          LoomTensor *o = placed->pdata[j];

          if (o->first <= t->last && t->first <= o->last)
            g_ptr_array_add (clash, o);
        }
      g_ptr_array_sort (clash, by_offset);
      for (guint j = 0; j < clash->len; j++)
        {
          LoomTensor *o = clash->pdata[j];

          if (offset + aligned (t->length) <= o->offset)
            break;
          offset = MAX (offset, o->offset + aligned (o->length));
        }
      t->offset = offset;
      total = MAX (total, offset + aligned (t->length));
      g_ptr_array_add (placed, t);
    }
  for (guint i = 0; i < g->tensors->len; i++)
    {
      LoomTensor *t = g->tensors->pdata[i];

      if (t->view_of != NULL)
        t->offset = t->view_of->offset + t->view_offset;
    }
  return total;
}

/* Steps [begin, end) appended to PROGRAM, bound to the graph's memory. */
static gboolean
add_steps (LoomGraph *g, LoomProgram *program, guint begin, guint end, GError **error)
{
  for (guint s = begin; s < end; s++)
    {
      Step *step = &g_array_index (g->steps, Step, s);
      LoomSpan spans[LOOM_OP_MAX_BINDINGS];

      for (guint b = 0; b < step->op->n_bindings; b++)
        spans[b] = (LoomSpan) { g->memory, step->bind[b]->offset, step->bind[b]->length };
      if (!loom_program_add (program, step->op, step->params, spans, error))
        return FALSE;
    }
  return TRUE;
}

/* The two programs a compiled graph runs; recorded at their first run. */
static gboolean
make_programs (LoomGraph *g, GError **error)
{
  g->step = loom_program_new (g->device);
  if (!g->trained)
    return add_steps (g, g->step, 0, g->steps->len, error);
  g->accumulate = loom_program_new (g->device);
  return add_steps (g, g->step, 0, g->backward_end, error)
      && add_steps (g, g->step, g->update_begin, g->steps->len, error)
      && add_steps (g, g->accumulate, 0, g->update_begin, error);
}

static void
uncompile (LoomGraph *g)
{
  g_clear_pointer (&g->step, loom_program_free);
  g_clear_pointer (&g->accumulate, loom_program_free);
  g_clear_pointer (&g->memory, loom_buffer_free);
  g->device = NULL;
}

static gboolean
compile (LoomGraph *g, LoomDevice *device, GError **error)
{
  g->memory_floats = plan_memory (g);
  g->memory = loom_buffer_new (device, g->memory_floats, error);
  if (g->memory == NULL)
    return FALSE;
  g->device = device;
  /* Parameters and optimizer state start at zero, constants at their value. */
  if (!loom_fill (g->memory, 0.0f, error))
    return FALSE;
  for (guint i = 0; i < g->tensors->len; i++)
    {
      LoomTensor *t = g->tensors->pdata[i];
      g_autofree float *values = NULL;

      if (!t->constant || t->fill == 0.0f || t->first < 0)
        continue;
      values = g_new (float, t->length);
      for (gsize j = 0; j < t->length; j++)
        values[j] = t->fill;
      if (!loom_buffer_write (g->memory, t->offset, t->length, values, error))
        return FALSE;
    }
  return make_programs (g, error);
}

gboolean
loom_graph_compile (LoomGraph *g, LoomDevice *device, GError **error)
{
  g_return_val_if_fail (g != NULL && device != NULL, FALSE);
  if (g->error != NULL)
    {
      g_propagate_error (error, g_error_copy (g->error));
      return FALSE;
    }
  uncompile (g);
  if (compile (g, device, error))
    return TRUE;
  uncompile (g);
  return FALSE;
}

static gboolean
check_compiled (LoomGraph *g, LoomTensor *t, GError **error)
{
  if (g->memory == NULL)
    {
      g_set_error (error, LOOM_ERROR, LOOM_ERROR_INVALID_ARGUMENT, "the graph is not compiled");
      return FALSE;
    }
  if (t != NULL && t->first < 0)
    {
      g_set_error (error, LOOM_ERROR, LOOM_ERROR_INVALID_ARGUMENT,
                   "tensor %s is used by no step and has no memory", t->name);
      return FALSE;
    }
  return TRUE;
}

/* Each run: the learning rate, Adam's bias corrections for this step and a
 * fresh seed, written where the recorded steps read them. */
static gboolean
write_scalars (LoomGraph *g, GError **error)
{
  double t;
  guint32 seed;
  float scalars[LOOM_N_SCALARS] = { 0 };

  if (g->scalars == NULL)
    return TRUE;
  t = (double) ++g->runs;
  seed = g->seed * 0x9E3779B9u + (guint32) g->runs;
  scalars[LOOM_SCALAR_LR] = g->learning_rate;
  scalars[LOOM_SCALAR_BIAS1] = (float) (1.0 - pow (g->beta1, t));
  scalars[LOOM_SCALAR_BIAS2] = (float) (1.0 - pow (g->beta2, t));
  scalars[LOOM_SCALAR_RUNS] = (float) t;
  memcpy (&scalars[LOOM_SCALAR_SEED], &seed, sizeof seed);
  return loom_buffer_write (g->memory, g->scalars->offset, LOOM_N_SCALARS, scalars, error);
}

gboolean
loom_graph_run (LoomGraph *g, GError **error)
{
  g_return_val_if_fail (g != NULL, FALSE);
  return check_compiled (g, NULL, error) && write_scalars (g, error)
      && loom_program_run (g->step, error);
}

void
loom_graph_set_seed (LoomGraph *g, guint32 seed)
{
  g_return_if_fail (g != NULL);
  g->seed = seed;
  g->runs = 0;
}

gboolean
loom_graph_run_accumulate (LoomGraph *g, GError **error)
{
  g_return_val_if_fail (g != NULL, FALSE);
  if (!check_compiled (g, NULL, error))
    return FALSE;
  if (!g->trained)
    {
      g_set_error (error, LOOM_ERROR, LOOM_ERROR_INVALID_ARGUMENT,
                   "run_accumulate: the graph has no training steps");
      return FALSE;
    }
  return write_scalars (g, error) && loom_program_run (g->accumulate, error);
}

gboolean
loom_graph_write (LoomGraph *g, LoomTensor *t, const float *data, GError **error)
{
  g_return_val_if_fail (g != NULL && t != NULL && data != NULL, FALSE);
  return check_compiled (g, t, error)
      && loom_buffer_write (g->memory, t->offset, t->length, data, error);
}

gboolean
loom_graph_write_range (LoomGraph *g, LoomTensor *t, gsize first, gsize count,
                        const float *data, GError **error)
{
  g_return_val_if_fail (g != NULL && t != NULL && (data != NULL || count == 0), FALSE);
  if (!check_compiled (g, t, error))
    return FALSE;
  if (first > t->length || count > t->length - first)
    {
      g_set_error (error, LOOM_ERROR, LOOM_ERROR_INVALID_ARGUMENT,
                   "tensor %s: values [%" G_GSIZE_FORMAT ", +%" G_GSIZE_FORMAT ") are not inside its %"
                   G_GSIZE_FORMAT, t->name, first, count, t->length);
      return FALSE;
    }
  return loom_buffer_write (g->memory, t->offset + first, count, data, error);
}

void
loom_graph_keep (LoomGraph *g, LoomTensor *t)
{
  g_return_if_fail (g != NULL && t != NULL && g->memory == NULL);
  while (t->view_of != NULL)
    t = t->view_of;
  t->persistent = TRUE;
}

/* Whether a later step reuses T's memory (after T's last use), so that a
 * read after the run would see something else. */
static LoomTensor *
overwriter (LoomGraph *g, LoomTensor *t)
{
  LoomTensor *root = t;

  while (root->view_of != NULL)
    root = root->view_of;
  if (root->persistent)
    return NULL;
  for (guint i = 0; i < g->tensors->len; i++)
    {
      LoomTensor *o = g->tensors->pdata[i];

      if (o != root && o->view_of == NULL && o->first > root->last
          && o->offset < t->offset + t->length && t->offset < o->offset + o->length)
        return o;
    }
  return NULL;
}

gboolean
loom_graph_read (LoomGraph *g, LoomTensor *t, float *data, GError **error)
{
  LoomTensor *o;

  g_return_val_if_fail (g != NULL && t != NULL && data != NULL, FALSE);
  if (!check_compiled (g, t, error))
    return FALSE;
  if ((o = overwriter (g, t)) != NULL)
    {
      g_set_error (error, LOOM_ERROR, LOOM_ERROR_INVALID_ARGUMENT,
                   "tensor %s shares its memory with %s, which later steps write: call "
                   "loom_graph_keep on it before compiling to read it after a run",
                   t->name, o->name);
      return FALSE;
    }
  return loom_buffer_read (g->memory, t->offset, t->length, data, error);
}

gboolean
loom_graph_init_parameter (LoomGraph *g, LoomTensor *t, LoomInit kind, float scale,
                           guint32 seed, GError **error)
{
  double fan_in = (double) t->c * t->h * t->w, fan_out = (double) t->n * t->h * t->w;
  g_autofree float *data = NULL;
  double bound = 0.0;

  g_return_val_if_fail (g != NULL && t != NULL, FALSE);
  if (!check_compiled (g, t, error))
    return FALSE;
  data = g_new (float, t->length);
  switch (kind)
    {
    case LOOM_INIT_KAIMING_NORMAL: scale = (float) sqrt (2.0 / fan_in); kind = LOOM_INIT_NORMAL; break;
    case LOOM_INIT_KAIMING_UNIFORM: bound = 1.0 / sqrt (fan_in); break;
    case LOOM_INIT_XAVIER_UNIFORM: bound = sqrt (6.0 / (fan_in + fan_out)); break;
    case LOOM_INIT_UNIFORM: bound = scale; break;
    default: break;
    }
  for (gsize i = 0; i < t->length; i++)
    {
      guint32 a, b;

      loom_philox_draw (seed, 0x1A17u, i, &a, &b);
      if (kind == LOOM_INIT_ZEROS || kind == LOOM_INIT_ONES)
        data[i] = kind == LOOM_INIT_ONES ? 1.0f : 0.0f;
      else if (kind == LOOM_INIT_NORMAL)   /* Box–Muller, in double on the host */
        data[i] = (float) (scale * sqrt (-2.0 * log (((a >> 8) + 1) / 16777216.0))
                           * cos (2.0 * G_PI * loom_uniform_of (b)));
      else
        data[i] = (float) (bound * (2.0 * loom_uniform_of (a) - 1.0));
    }
  return loom_graph_write (g, t, data, error);
}

gsize
loom_tensor_get_length (LoomTensor *t)
{
  g_return_val_if_fail (t != NULL, 0);
  return t->length;
}

void
loom_tensor_get_shape (LoomTensor *t, guint *n, guint *c, guint *h, guint *w)
{
  g_return_if_fail (t != NULL);
  *n = t->n, *c = t->c, *h = t->h, *w = t->w;
}

LoomTensor *
loom_tensor_get_grad (LoomTensor *t)
{
  g_return_val_if_fail (t != NULL, NULL);
  return t->grad;
}

gsize
loom_graph_get_memory (LoomGraph *g)
{
  g_return_val_if_fail (g != NULL, 0);
  return g->memory_floats;
}
