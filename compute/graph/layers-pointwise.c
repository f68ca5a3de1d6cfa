/* Value by value and window by window: sums and products with
 * broadcasting, activations, randomness (dropout, noise), pooling,
 * upsampling and the augmentation layers (no gradient), each builder
 * beside its backward. */
#include "graph-private.h"

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
      graph_accumulate (g, x, contribution);
      return;
    }
  dims_of (contribution, p.dims);
  dims_of (x, xd);
  for (guint i = 0; i < 4; i++)
    p.keep |= (guint32) (xd[i] == p.dims[i]) << i;
  dx = graph_tensor_like (g, "broadcast dx", x);
  graph_emit (g, &loom_op_sum_to, &p, (LoomTensor *[]) { dx, contribution });
  graph_accumulate (g, x, dx);
}

/* The output gradient goes to both inputs: copies, since a gradient tensor
 * may later be added to in place. */
static void
add_backward (LoomGraph *g, Node *node)
{
  for (guint i = 0; i < 2; i++)
    if (graph_wants_grad (node->in[i]))
      {
        LoomTensor *dx = graph_tensor_like (g, "add dx", node->out);

        graph_emit_elementwise (g, &loom_op_copy, 0.0f, 0, dx, node->out->grad, NULL);
        accumulate_broadcast (g, node->in[i], dx);
      }
}

static void
mul_backward (LoomGraph *g, Node *node)
{
  for (guint i = 0; i < 2; i++)
    if (graph_wants_grad (node->in[i]))
      {
        LoomTensor *dx = graph_tensor_like (g, "mul dx", node->out), *other = node->in[1 - i];

        if (other->length == dx->length)
          graph_emit_elementwise (g, &loom_op_mul, 0.0f, 0, dx, node->out->grad, other);
        else
          {
            LoomBroadcastParams p = { .mul = 1 };
            guint32 od[4];

            dims_of (dx, p.dims);
            dims_of (other, od);
            loom_broadcast_strides (p.dims, p.dims, p.a_strides);
            loom_broadcast_strides (od, p.dims, p.b_strides);
            graph_emit (g, &loom_op_broadcast, &p, (LoomTensor *[]) { dx, node->out->grad, other });
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
          g_autofree char *as = graph_shape (a), *bs = graph_shape (b);

          return graph_fail (g, "%s: %s and %s differ in shape and do not broadcast "
                             "(sizes that differ must be 1 in one of them)", name, as, bs);
        }
      p.dims[i] = MAX (ad[i], bd[i]);
    }
  y = graph_tensor_new (g, name, p.dims[0], p.dims[1], p.dims[2], p.dims[3], TENSOR_VALUE);
  if (a->length == y->length && b->length == y->length)
    graph_emit_elementwise (g, op, 0.0f, 0, y, a, b);
  else
    {
      loom_broadcast_strides (ad, p.dims, p.a_strides);
      loom_broadcast_strides (bd, p.dims, p.b_strides);
      graph_emit (g, &loom_op_broadcast, &p, (LoomTensor *[]) { y, a, b });
    }
  graph_node_new (g, backward, y, a, b, NULL);
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

/* ---- activations ------------------------------------------------------ */

static void
activation_backward (LoomGraph *g, Node *node)
{
  LoomTensor *x = node->in[0];
  LoomTensor *dx = graph_tensor_like (g, "activation dx", x);

  graph_emit_elementwise (g, &loom_op_activation_backward, node->slope, node->kind,
                          dx, node->out->grad, x);
  graph_accumulate (g, x, dx);
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
    return graph_fail (g, "activation: unknown kind %d", (int) kind);
  y = graph_tensor_like (g, "activation", x);
  graph_emit_elementwise (g, &loom_op_activation_forward, slope, kind, y, x, NULL);
  node = graph_node_new (g, activation_backward, y, x, NULL, NULL);
  node->kind = kind;
  node->slope = slope;
  return y;
}

/* ---- randomness ------------------------------------------------------------ */

/* A one-float view of the scalars' seed, for the random ops to bind. */
static LoomTensor *
seed_tensor (LoomGraph *g)
{
  if (g->seed_view == NULL)
    {
      graph_ensure_scalars (g);
      g->seed_view = graph_tensor_new (g, "seed", 1, 1, 1, 1, TENSOR_STATE);
      g->seed_view->view_of = g->scalars;
      g->seed_view->view_offset = LOOM_SCALAR_SEED;
    }
  return g->seed_view;
}

static void
dropout_backward (LoomGraph *g, Node *node)
{
  LoomTensor *x = node->in[0];
  LoomTensor *dx = graph_tensor_like (g, "dropout dx", x);

  graph_emit (g, &loom_op_dropout_backward, &node->p.dropout,
              (LoomTensor *[]) { dx, node->out->grad, seed_tensor (g) });
  graph_accumulate (g, x, dx);
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
    return graph_fail (g, "dropout: the probability %g is not in [0, 1)", p);
  y = graph_tensor_like (g, "dropout", x);
  node = graph_node_new (g, dropout_backward, y, x, NULL, NULL);
  node->p.dropout = (LoomDropoutParams) { (guint32) x->length, p, 1.0f / (1.0f - p), g->streams++ };
  graph_emit (g, &loom_op_dropout_forward, &node->p.dropout,
              (LoomTensor *[]) { y, x, seed_tensor (g) });
  return y;
}

LoomTensor *
loom_graph_noise (LoomGraph *g, const char *name, guint n, guint c, guint h, guint w,
                  gboolean normal)
{
  LoomTensor *t;
  LoomRandomParams p;

  g_return_val_if_fail (g != NULL && name != NULL, NULL);
  t = graph_declare (g, "noise", name, n, c, h, w, TENSOR_VALUE);
  if (t == NULL)
    return NULL;
  p = (LoomRandomParams) { (guint32) t->length, !!normal, normal ? 0.0f : 0.0f, 1.0f,
                           g->streams++ };
  graph_emit (g, &loom_op_random_fill, &p, (LoomTensor *[]) { t, seed_tensor (g) });
  t->persistent = TRUE;         /* readable after the run */
  return t;
}

/* ---- pooling -------------------------------------------------------------- */

static void
pool2d_backward (LoomGraph *g, Node *node)
{
  LoomTensor *x = node->in[0];
  LoomTensor *dx = graph_tensor_like (g, "pool2d dx", x);

  graph_emit (g, &loom_op_pool_backward, &node->p.pool, (LoomTensor *[]) { dx, node->out->grad, x });
  graph_accumulate (g, x, dx);
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
      g_autofree char *xs = graph_shape (x);

      return graph_fail (g, "pool2d: input %s, kernel %u, padding %u: the kernel must fit the padded "
                         "input and the padding be at most half the kernel", xs, kernel, pad);
    }
  p = (LoomPoolParams) { x->n * x->c, x->h, x->w, (x->h + 2 * pad - kernel) / stride + 1,
                         (x->w + 2 * pad - kernel) / stride + 1, kernel, stride, pad, !!max };
  y = graph_tensor_new (g, max ? "max_pool2d" : "avg_pool2d", x->n, x->c, p.p, p.q, TENSOR_VALUE);
  graph_emit (g, &loom_op_pool_forward, &p, (LoomTensor *[]) { y, x });
  node = graph_node_new (g, pool2d_backward, y, x, NULL, NULL);
  node->p.pool = p;
  return y;
}

/* ---- upsampling ------------------------------------------------------------ */

static void
upsample_backward (LoomGraph *g, Node *node)
{
  LoomTensor *x = node->in[0];
  LoomTensor *dx = graph_tensor_like (g, "upsample dx", x);

  graph_emit (g, &loom_op_upsample_backward, &node->p.upsample,
              (LoomTensor *[]) { dx, node->out->grad });
  graph_accumulate (g, x, dx);
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
      g_autofree char *xs = graph_shape (x);

      return graph_fail (g, "upsample: input %s by %u: the factor must be 1 to 64 and the output "
                         "under 2^32 elements", xs, scale);
    }
  y = graph_tensor_new (g, bilinear ? "upsample bilinear" : "upsample nearest", x->n, x->c,
                        x->h * scale, x->w * scale, TENSOR_VALUE);
  node = graph_node_new (g, upsample_backward, y, x, NULL, NULL);
  node->p.upsample = (LoomUpsampleParams) { x->n * x->c, x->h, x->w, scale, !!bilinear };
  graph_emit (g, &loom_op_upsample_forward, &node->p.upsample, (LoomTensor *[]) { y, x });
  return y;
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
      graph_fail (g, "affine_sample: %u crops of %u×%u×%u need %u×%d maps (have %" G_GSIZE_FORMAT ")",
                  batch, channels, size, size, batch, LOOM_AFFINE_FLOATS, maps->length);
      return FALSE;
    }
  p.image_floats = (guint32) images->length;
  p.label_floats = (guint32) labels->length;
  *x = graph_tensor_new (g, "augmented", batch, channels, size, size, TENSOR_VALUE);
  *crop_labels = graph_tensor_new (g, "augmented labels", batch, 1, size, size, TENSOR_VALUE);
  graph_emit (g, &loom_op_affine_sample, &p,
              (LoomTensor *[]) { *x, *crop_labels, images, labels, maps });
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
      g_autofree char *xs = graph_shape (x);

      return graph_fail (g, "photometric: %s needs square crops and %u×%d settings", xs, x->n,
                         LOOM_PHOTO_FLOATS);
    }
  p = (LoomPhotoParams) { x->n, x->c, x->h };
  y = graph_tensor_like (g, "photometric", x);
  graph_emit (g, &loom_op_photometric, &p, (LoomTensor *[]) { y, x, settings });
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
      g_autofree char *ls = graph_shape (labels);

      return graph_fail (g, "one_hot: labels %s need one channel, and classes (%u) at least one",
                         ls, classes);
    }
  y = graph_tensor_new (g, "one-hot", labels->n, classes, labels->h, labels->w, TENSOR_VALUE);
  graph_emit (g, &loom_op_one_hot, &(LoomOneHotParams) { labels->n, classes, labels->h * labels->w },
              (LoomTensor *[]) { y, labels });
  return y;
}
