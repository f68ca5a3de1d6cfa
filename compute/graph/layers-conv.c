/* The layers with weights: linear, conv2d and the transposed convolution,
 * each builder beside its backward. */
#include "graph-private.h"

/* ---- linear ----------------------------------------------------------- */

static void
linear_backward (LoomGraph *g, Node *node)
{
  LoomTensor *x = node->in[0], *weight = node->in[1], *bias = node->in[2];
  LoomTensor *dy = node->out->grad;
  guint n = x->n, c = (guint) (x->length / x->n), k = weight->n;

  if (graph_wants_grad (x))
    {
      LoomTensor *dx = graph_tensor_like (g, "linear dx", x);
      LoomGemmParams p = { n, c, k, FALSE, FALSE, 1.0f, 0.0f };       /* dy · W */

      graph_emit (g, &loom_op_gemm, &p, (LoomTensor *[]) { dx, dy, weight });
      graph_accumulate (g, x, dx);
    }
  if (graph_wants_grad (weight))
    {
      LoomTensor *dw = graph_tensor_like (g, "linear dw", weight);
      LoomGemmParams p = { k, c, n, TRUE, FALSE, 1.0f, 0.0f };        /* dyᵀ · x */

      graph_emit (g, &loom_op_gemm, &p, (LoomTensor *[]) { dw, dy, x });
      graph_accumulate (g, weight, dw);
    }
  if (graph_wants_grad (bias))
    {
      LoomTensor *db = graph_tensor_like (g, "linear db", bias);
      LoomChannelParams p = { n, k, 1 };

      graph_emit (g, &loom_op_channel_sum, &p, (LoomTensor *[]) { db, dy });
      graph_accumulate (g, bias, db);
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
      xs = graph_shape (x), ws = graph_shape (weight);
      return graph_fail (g, "linear: input %s, weight %s, bias %" G_GSIZE_FORMAT ": the weight "
                         "must be K×%u and the bias K long", xs, ws, bias ? bias->length : 0, c);
    }
  y = graph_tensor_new (g, "linear", x->n, weight->n, 1, 1, TENSOR_VALUE);
  graph_emit (g, &loom_op_gemm, &(LoomGemmParams) { x->n, weight->n, c, FALSE, TRUE, 1.0f, 0.0f },
              (LoomTensor *[]) { y, x, weight });
  if (bias != NULL)
    graph_emit (g, &loom_op_bias_add, &(LoomChannelParams) { x->n, weight->n, 1 },
                (LoomTensor *[]) { y, bias });
  graph_node_new (g, linear_backward, y, x, weight, bias);
  return y;
}

/* ---- conv2d ----------------------------------------------------------- */

static void
conv2d_backward (LoomGraph *g, Node *node)
{
  LoomTensor *x = node->in[0], *weight = node->in[1], *bias = node->in[2];
  LoomTensor *dy = node->out->grad;
  const LoomConvParams *p = &node->p.conv;

  if (graph_wants_grad (x))
    {
      LoomTensor *dx = graph_tensor_like (g, "conv2d dx", x);

      graph_emit (g, &loom_op_conv2d_backward_data, p, (LoomTensor *[]) { dx, dy, weight });
      graph_accumulate (g, x, dx);
    }
  if (graph_wants_grad (weight))
    {
      LoomTensor *dw = graph_tensor_like (g, "conv2d dw", weight);
      LoomTensor *ws = graph_tensor_new (g, "conv2d dw slices", p->splits, weight->n,
                                         weight->c * weight->h, weight->w, TENSOR_VALUE);
      LoomSumSlicesParams sum = { (guint32) weight->length, p->splits };

      graph_emit (g, &loom_op_conv2d_backward_weight, p, (LoomTensor *[]) { ws, x, dy });
      graph_emit (g, &loom_op_sum_slices, &sum, (LoomTensor *[]) { dw, ws });
      graph_accumulate (g, weight, dw);
    }
  if (graph_wants_grad (bias))
    {
      LoomTensor *db = graph_tensor_like (g, "conv2d db", bias);
      LoomChannelParams sum = { p->n, p->k, p->p * p->q };

      graph_emit (g, &loom_op_channel_sum, &sum, (LoomTensor *[]) { db, dy });
      graph_accumulate (g, bias, db);
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
      g_autofree char *xs = graph_shape (x), *ws = graph_shape (weight);

      return graph_fail (g, "conv2d: input %s, weights %s, bias %" G_GSIZE_FORMAT ": the weights "
                         "need %u input channels and the bias one value per output channel",
                         xs, ws, bias ? bias->length : 0, x->c);
    }
  if (!loom_conv_params_init (&p, &full, "conv2d", &error))
    {
      graph_fail (g, "%s", error->message);
      g_error_free (error);
      return NULL;
    }
  p.has_bias = bias != NULL;
  y = graph_tensor_new (g, "conv2d", p.n, p.k, p.p, p.q, TENSOR_VALUE);
  graph_emit (g, &loom_op_conv2d_forward, &p, (LoomTensor *[]) { y, x, weight, bias ? bias : weight });
  node = graph_node_new (g, conv2d_backward, y, x, weight, bias);
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

  if (graph_wants_grad (x))
    {
      LoomTensor *dx = graph_tensor_like (g, "conv_transpose2d dx", x);

      p.has_bias = FALSE;
      graph_emit (g, &loom_op_conv2d_forward, &p, (LoomTensor *[]) { dx, dy, weight, weight });
      graph_accumulate (g, x, dx);
    }
  if (graph_wants_grad (weight))
    {
      LoomTensor *dw = graph_tensor_like (g, "conv_transpose2d dw", weight);
      LoomTensor *ws = graph_tensor_new (g, "conv_transpose2d dw slices", p.splits, weight->n,
                                         weight->c * weight->h, weight->w, TENSOR_VALUE);

      graph_emit (g, &loom_op_conv2d_backward_weight, &p, (LoomTensor *[]) { ws, dy, x });
      graph_emit (g, &loom_op_sum_slices,
                  &(LoomSumSlicesParams) { (guint32) weight->length, p.splits },
                  (LoomTensor *[]) { dw, ws });
      graph_accumulate (g, weight, dw);
    }
  if (graph_wants_grad (bias))
    {
      LoomTensor *db = graph_tensor_like (g, "conv_transpose2d db", bias);

      graph_emit (g, &loom_op_channel_sum, &(LoomChannelParams) { p.n, p.c, p.h * p.w },
                  (LoomTensor *[]) { db, dy });
      graph_accumulate (g, bias, db);
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
      g_autofree char *xs = graph_shape (x), *ws = graph_shape (weight);

      return graph_fail (g, "conv_transpose2d: input %s, weights %s (Ci×Co×R×S), bias %" G_GSIZE_FORMAT
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
      graph_fail (g, "%s", error->message);
      g_error_free (error);
      return NULL;
    }
  g_assert (p.p == x->h && p.q == x->w);
  y = graph_tensor_new (g, "conv_transpose2d", x->n, weight->c, (guint) out_h, (guint) out_w,
                        TENSOR_VALUE);
  graph_emit (g, &loom_op_conv2d_backward_data, &p, (LoomTensor *[]) { y, x, weight });
  if (bias != NULL)
    graph_emit (g, &loom_op_bias_add, &(LoomChannelParams) { y->n, y->c, y->h * y->w },
                (LoomTensor *[]) { y, bias });
  node = graph_node_new (g, conv_transpose2d_backward, y, x, weight, bias);
  node->p.conv = p;
  return y;
}
