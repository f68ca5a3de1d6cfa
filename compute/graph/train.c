/* Training: the backward pass derived from a loss, gradient clipping, the
 * optimizers (SGD, Adam) with micro-batch accumulation, moving averages
 * and the learning rate. */
#include "graph-private.h"

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

      node->out->needs_grad = graph_wants_grad (node->in[0]) || graph_wants_grad (node->in[1])
                           || graph_wants_grad (node->in[2]);
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
  LoomTensor *total = graph_tensor_new (g, "gradient sum of squares", 1, 1, 1, 1, TENSOR_VALUE);
  LoomTensor *factor = graph_tensor_new (g, "clip factor", 1, 1, 1, 1, TENSOR_VALUE);

  graph_emit_elementwise (g, &loom_op_fill, 0.0f, 0, total, NULL, NULL);
  for (guint i = 0; i < g->tensors->len; i++)
    {
      LoomTensor *p = g->tensors->pdata[i];
      LoomTensor *square, *sum;

      if (p->accumulated == NULL)
        continue;
      square = graph_tensor_like (g, "gradient squared", p);
      sum = graph_tensor_new (g, "gradient sum of squares", 1, 1, 1, 1, TENSOR_VALUE);
      graph_emit_elementwise (g, &loom_op_mul, 0.0f, 0, square, p->grad, p->grad);
      graph_emit (g, &loom_op_channel_sum, &(LoomChannelParams) { 1, 1, (guint32) p->length },
                  (LoomTensor *[]) { sum, square });
      graph_emit_elementwise (g, &loom_op_axpy, 1.0f, 0, total, total, sum);
    }
  graph_emit_elementwise (g, &loom_op_clip_scale, g->clip_norm, 0, factor, total, NULL);
  for (guint i = 0; i < g->tensors->len; i++)
    {
      LoomTensor *p = g->tensors->pdata[i];

      if (p->accumulated != NULL)
        graph_emit_elementwise (g, &loom_op_scale_by, 0.0f, 0, p->grad, p->grad, factor);
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
  graph_ensure_scalars (g);
  g->backward_end = g->steps->len;
  for (guint i = 0; i < g->tensors->len; i++)
    {
      LoomTensor *p = g->tensors->pdata[i];

      if (p->kind != TENSOR_PARAMETER || p->grad == NULL)
        continue;
      p->grad->persistent = TRUE;       /* readable after a run */
      p->accumulated = graph_tensor_new (g, "accumulated gradient", p->n, p->c, p->h, p->w,
                                         TENSOR_STATE);
      graph_emit_elementwise (g, &loom_op_axpy, 1.0f, 0, p->accumulated, p->accumulated, p->grad);
    }
  g->update_begin = g->steps->len;
  for (guint i = 0; i < g->tensors->len; i++)
    {
      LoomTensor *p = g->tensors->pdata[i];

      if (p->accumulated == NULL)
        continue;
      graph_emit_elementwise (g, &loom_op_axpy, 1.0f, 0, p->grad, p->grad, p->accumulated);
      graph_emit_elementwise (g, &loom_op_fill, 0.0f, 0, p->accumulated, NULL, NULL);
    }
  if (g->clip_norm > 0.0f)
    add_clipping (g);
  for (guint i = 0; i < g->tensors->len; i++)
    {
      LoomTensor *p = g->tensors->pdata[i];
      LoomTensor *s1, *s2;

      if (p->accumulated == NULL)
        continue;
      s1 = graph_tensor_new (g, "optimizer state", p->n, p->c, p->h, p->w, TENSOR_STATE);
      s2 = two_states ? graph_tensor_new (g, "optimizer state", p->n, p->c, p->h, p->w, TENSOR_STATE)
                      : s1;
      params.n = (guint32) p->length;
      graph_emit (g, op, &params, (LoomTensor *[]) { p, s1, s2, p->grad, g->scalars });
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
    return graph_fail (g, "ema: needs a parameter of a trained graph (after train_*) and a rate "
                       "of one value");
  ema = graph_tensor_new (g, "moving average", p->n, p->c, p->h, p->w, TENSOR_STATE);
  gap = graph_tensor_like (g, "parameter − average", p);
  graph_emit_elementwise (g, &loom_op_axpy, -1.0f, 0, gap, p, ema);
  graph_emit (g, &loom_op_scale_by, &(LoomEltParams) { (guint32) p->length, 0.0f, 0 },
              (LoomTensor *[]) { gap, gap, rate });
  graph_emit_elementwise (g, &loom_op_axpy, 1.0f, 0, ema, ema, gap);
  return ema;
}

void
loom_graph_set_learning_rate (LoomGraph *g, float learning_rate)
{
  g_return_if_fail (g != NULL);
  g->learning_rate = learning_rate;
}
