/* The losses: where the backward pass starts.  Each builder is beside its
 * backward; a loss node's backward seeds the gradient. */
#include "graph-private.h"
#include "ops/cross_entropy.h"
#include "ops/pointwise_loss.h"

/* The pointwise loss op takes a LoomLoss as its kind. */
G_STATIC_ASSERT ((int) LOOM_LOSS_MSE == (int) LOOM_POINTWISE_MSE);
G_STATIC_ASSERT ((int) LOOM_LOSS_L1 == (int) LOOM_POINTWISE_L1);
G_STATIC_ASSERT ((int) LOOM_LOSS_BCE_WITH_LOGITS == (int) LOOM_POINTWISE_BCE_WITH_LOGITS);
G_STATIC_ASSERT ((int) LOOM_LOSS_HINGE == (int) LOOM_POINTWISE_HINGE);
G_STATIC_ASSERT ((int) LOOM_LOSS_LINEAR == (int) LOOM_POINTWISE_LINEAR);
G_STATIC_ASSERT ((int) LOOM_N_LOSSES == (int) LOOM_N_POINTWISE_LOSSES);

/* d loss / dy = scale · loss'(y, t): a loss is where gradients start. */
static void
pointwise_loss_backward (LoomGraph *g, Node *node)
{
  LoomTensor *y = node->in[0], *target = node->in[1];
  LoomTensor *dy = graph_tensor_like (g, "loss dy", y);

  graph_emit_elementwise (g, &loom_op_pointwise_loss_backward, node->slope, node->kind, dy, y, target);
  graph_accumulate (g, y, dy);
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
    return graph_fail (g, "loss: unknown kind %d", (int) kind);
  if (y->length != target->length)
    {
      g_autofree char *ys = graph_shape (y), *ts = graph_shape (target);

      return graph_fail (g, "%s: output %s and target %s differ in size", names[kind], ys, ts);
    }
  scale = sum ? 1.0f : 1.0f / (float) y->length;
  each = graph_tensor_like (g, "loss per value", y);
  total = graph_tensor_new (g, "loss sum", 1, 1, 1, 1, TENSOR_VALUE);
  loss = graph_tensor_new (g, names[kind], 1, 1, 1, 1, TENSOR_VALUE);
  graph_emit_elementwise (g, &loom_op_pointwise_loss_forward, 0.0f, kind, each, y, target);
  graph_emit (g, &loom_op_channel_sum, &(LoomChannelParams) { 1, 1, (guint32) y->length },
              (LoomTensor *[]) { total, each });
  graph_emit_elementwise (g, &loom_op_scale, scale, 0, loss, total, NULL);
  node = graph_node_new (g, pointwise_loss_backward, loss, y, target, NULL);
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
    return graph_fail (g, "loss_add: both terms must be distinct losses made by loss builders");
  loss = graph_tensor_new (g, "loss sum", 1, 1, 1, 1, TENSOR_VALUE);
  graph_emit_elementwise (g, &loom_op_axpy, 1.0f, 0, loss, a, b);
  node = graph_node_new (g, loss_add_backward, loss, a, b, NULL);
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
  LoomTensor *dlogits = graph_tensor_like (g, "cross_entropy dlogits", logits);
  LoomCrossEntropyParams p = { logits->n, logits->c, logits->h * logits->w,
                               (gint32) node->kind, weights != NULL, TRUE };

  graph_emit (g, &loom_op_cross_entropy_backward, &p,
              (LoomTensor *[]) { dlogits, logits, labels, weights ? weights : logits, node->saved });
  graph_accumulate (g, logits, dlogits);
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
      g_autofree char *ls = graph_shape (logits), *ts = graph_shape (labels);

      return graph_fail (g, "cross_entropy: logits %s need %u labels (N×1×H×W) and %u class weights; "
                         "labels are %s, weights %" G_GSIZE_FORMAT, ls, pixels, logits->c, ts,
                         class_weights ? class_weights->length : 0);
    }
  p = (LoomCrossEntropyParams) { logits->n, logits->c, logits->h * logits->w, ignore_label,
                                 class_weights != NULL, TRUE };
  loss_px = graph_tensor_like (g, "cross_entropy per pixel", labels);
  weight_px = graph_tensor_like (g, "cross_entropy weights", labels);
  loss_sum = graph_tensor_new (g, "cross_entropy sum", 1, 1, 1, 1, TENSOR_VALUE);
  weight_sum = graph_tensor_new (g, "cross_entropy weight sum", 1, 1, 1, 1, TENSOR_VALUE);
  loss = graph_tensor_new (g, "cross_entropy loss", 1, 1, 1, 1, TENSOR_VALUE);
  graph_emit (g, &loom_op_cross_entropy_forward, &p,
              (LoomTensor *[]) { loss_px, weight_px, logits, labels,
                                 class_weights ? class_weights : logits });
  graph_emit (g, &loom_op_channel_sum, &(LoomChannelParams) { 1, 1, pixels },
              (LoomTensor *[]) { loss_sum, loss_px });
  graph_emit (g, &loom_op_channel_sum, &(LoomChannelParams) { 1, 1, pixels },
              (LoomTensor *[]) { weight_sum, weight_px });
  graph_emit_elementwise (g, &loom_op_divide, 0.0f, 0, loss, loss_sum, weight_sum);
  node = graph_node_new (g, cross_entropy_backward, loss, logits, labels, class_weights);
  node->saved = weight_sum;
  node->kind = (guint32) ignore_label;
  node->is_loss = TRUE;
  loss->persistent = TRUE;
  return loss;
}
