/* A graph's life: tensors and the nodes the backward pass walks, the
 * builders' shared helpers (errors that stick until compile, steps,
 * gradient accumulation) and the accessors. */
#include <string.h>

#include "graph-private.h"

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
  graph_uncompile (g);
  g_ptr_array_unref (g->tensors);
  g_ptr_array_unref (g->nodes);
  g_array_unref (g->steps);
  g_clear_error (&g->error);
  g_free (g);
}

LoomTensor *
graph_fail (LoomGraph *g, const char *format, ...)
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

LoomTensor *
graph_tensor_new (LoomGraph *g, const char *name, guint n, guint c, guint h, guint w,
                  TensorKind kind)
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

LoomTensor *
graph_tensor_like (LoomGraph *g, const char *name, const LoomTensor *like)
{
  return graph_tensor_new (g, name, like->n, like->c, like->h, like->w, TENSOR_VALUE);
}

char *
graph_shape (const LoomTensor *t)
{
  return g_strdup_printf ("%u×%u×%u×%u", t->n, t->c, t->h, t->w);
}

LoomTensor *
graph_declare (LoomGraph *g, const char *what, const char *name, guint n, guint c, guint h,
               guint w, TensorKind kind)
{
  if (g->trained)
    return graph_fail (g, "%s %s: the graph already has its backward pass", what, name);
  if ((guint64) n * c * h * w == 0 || (guint64) n * c * h * w > G_MAXUINT32)
    return graph_fail (g, "%s %s: %u×%u×%u×%u is empty or has more than 2^32 elements",
                       what, name, n, c, h, w);
  return graph_tensor_new (g, name, n, c, h, w, kind);
}

LoomTensor *
loom_graph_input (LoomGraph *g, const char *name, guint n, guint c, guint h, guint w)
{
  g_return_val_if_fail (g != NULL && name != NULL, NULL);
  return graph_declare (g, "input", name, n, c, h, w, TENSOR_INPUT);
}

LoomTensor *
loom_graph_buffer (LoomGraph *g, const char *name, guint n, guint c, guint h, guint w)
{
  g_return_val_if_fail (g != NULL && name != NULL, NULL);
  return graph_declare (g, "buffer", name, n, c, h, w, TENSOR_STATE);
}

LoomTensor *
loom_graph_parameter (LoomGraph *g, const char *name, guint n, guint c, guint h, guint w)
{
  g_return_val_if_fail (g != NULL && name != NULL, NULL);
  return graph_declare (g, "parameter", name, n, c, h, w, TENSOR_PARAMETER);
}

/* The per-step scalars tensor, made on first need (optimizers, noise). */
LoomTensor *
graph_ensure_scalars (LoomGraph *g)
{
  if (g->scalars == NULL)
    g->scalars = graph_tensor_new (g, "scalars", 1, 1, 1, LOOM_N_SCALARS, TENSOR_STATE);
  return g->scalars;
}

/* Appends a step running OP over the tensors BIND (op binding order). */
void
graph_emit (LoomGraph *g, const LoomOp *op, const void *params, LoomTensor *const *bind)
{
  Step step = { .op = op };

  memcpy (step.params, params, op->params_size);
  memcpy (step.bind, bind, op->n_bindings * sizeof (LoomTensor *));
  g_array_append_val (g->steps, step);
}

void
graph_emit_elementwise (LoomGraph *g, const LoomOp *op, float alpha, guint32 kind,
                        LoomTensor *b0, LoomTensor *b1, LoomTensor *b2)
{
  LoomEltParams p = { (guint32) b0->length, alpha, kind };
  LoomTensor *bind[] = { b0, b1, b2 };

  graph_emit (g, op, &p, bind);
}

Node *
graph_node_new (LoomGraph *g, BackwardFunc backward, LoomTensor *out,
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
void
graph_accumulate (LoomGraph *g, LoomTensor *t, LoomTensor *contribution)
{
  if (t->grad == NULL)
    t->grad = contribution;
  else
    graph_emit_elementwise (g, &loom_op_axpy, 1.0f, 0, t->grad, t->grad, contribution);
}

gboolean
graph_wants_grad (const LoomTensor *t)
{
  return t != NULL && t->needs_grad;
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
