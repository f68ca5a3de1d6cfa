/* Layers that move values without computing them: concatenation, views
 * (reshape, detach) and channel slices, each builder beside its backward. */
#include "graph-private.h"

/* ---- concatenation ------------------------------------------------------ */

static void
concat_backward (LoomGraph *g, Node *node)
{
  LoomTensor *dy = node->out->grad;
  guint first = 0;

  for (guint i = 0; i < 2; i++)
    {
      LoomTensor *x = node->in[i];

      if (graph_wants_grad (x))
        {
          LoomTensor *dx = graph_tensor_like (g, "concat dx", x);
          LoomChannelCopyParams p = { x->n, x->h * x->w, dy->c, first, x->c, 0, x->c };

          graph_emit (g, &loom_op_channel_copy, &p, (LoomTensor *[]) { dx, dy });
          graph_accumulate (g, x, dx);
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
      g_autofree char *as = graph_shape (a), *bs = graph_shape (b);

      return graph_fail (g, "concat: %s and %s differ in batch or size", as, bs);
    }
  y = graph_tensor_new (g, "concat", a->n, a->c + b->c, a->h, a->w, TENSOR_VALUE);
  graph_emit (g, &loom_op_channel_copy,
              &(LoomChannelCopyParams) { a->n, a->h * a->w, a->c, 0, y->c, 0, a->c },
              (LoomTensor *[]) { y, a });
  graph_emit (g, &loom_op_channel_copy,
              &(LoomChannelCopyParams) { b->n, b->h * b->w, b->c, 0, y->c, a->c, b->c },
              (LoomTensor *[]) { y, b });
  graph_node_new (g, concat_backward, y, a, b, NULL);
  return y;
}

/* ---- views and slices --------------------------------------------------------- */

/* A tensor that is a window of BASE's memory (its root, if BASE is a view). */
static LoomTensor *
view_new (LoomGraph *g, const char *name, LoomTensor *base, gsize offset,
          guint n, guint c, guint h, guint w)
{
  LoomTensor *t = graph_tensor_new (g, name, n, c, h, w, TENSOR_VALUE);

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

  graph_accumulate (g, x, view_new (g, "reshape dx", dy, 0, x->n, x->c, x->h, x->w));
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
      g_autofree char *xs = graph_shape (x);

      return graph_fail (g, "reshape: %s has %" G_GSIZE_FORMAT " values, %u×%u×%u×%u would have %"
                         G_GUINT64_FORMAT, xs, x->length, n, c, h, w, (guint64) n * c * h * w);
    }
  y = view_new (g, "reshape", x, 0, n, c, h, w);
  graph_node_new (g, reshape_backward, y, x, NULL, NULL);
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
  LoomTensor *dx = graph_tensor_like (g, "slice dx", x);
  LoomChannelCopyParams p = { x->n, x->h * x->w, dy->c, 0, x->c, node->kind, dy->c };

  graph_emit_elementwise (g, &loom_op_fill, 0.0f, 0, dx, NULL, NULL);
  graph_emit (g, &loom_op_channel_copy, &p, (LoomTensor *[]) { dx, dy });
  graph_accumulate (g, x, dx);
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
      g_autofree char *xs = graph_shape (x);

      return graph_fail (g, "slice_channels: channels [%u, %u + %u) are not inside %s",
                         first, first, count, xs);
    }
  y = graph_tensor_new (g, "slice", x->n, count, x->h, x->w, TENSOR_VALUE);
  graph_emit (g, &loom_op_channel_copy,
              &(LoomChannelCopyParams) { x->n, x->h * x->w, x->c, first, count, 0, count },
              (LoomTensor *[]) { y, x });
  graph_node_new (g, slice_backward, y, x, NULL, NULL)->kind = first;
  return y;
}
