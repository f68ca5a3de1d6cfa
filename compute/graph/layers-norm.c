/* Batch and group normalisation, each builder beside its backward. */
#include "graph-private.h"

/* ---- batch normalisation ---------------------------------------------------- */

static void
batch_norm_backward (LoomGraph *g, Node *node)
{
  LoomTensor *x = node->in[0], *gamma = node->in[1], *beta = node->in[2];
  LoomTensor *mean = node->saved, *var = node->saved2;
  LoomTensor *dy = node->out->grad;
  LoomTensor *dbeta = graph_tensor_like (g, "batch_norm dbeta", beta);
  LoomTensor *dgamma = graph_tensor_like (g, "batch_norm dgamma", gamma);

  graph_emit (g, &loom_op_batch_norm_grad_stats, &node->p.bn,
              (LoomTensor *[]) { dbeta, dgamma, dy, x, mean, var });
  if (graph_wants_grad (x))
    {
      LoomTensor *dx = graph_tensor_like (g, "batch_norm dx", x);
      /* With running statistics (evaluation) the statistics are constants:
       * the two sums drop out of the gradient. */
      LoomTensor *zeros = node->kind ? NULL
                                     : graph_tensor_new (g, "zeros", 1, 1, 1, beta->length,
                                                         TENSOR_STATE);

      graph_emit (g, &loom_op_batch_norm_backward, &node->p.bn,
                  (LoomTensor *[]) { dx, dy, x, mean, var, gamma, zeros ? zeros : dbeta,
                                     zeros ? zeros : dgamma });
      graph_accumulate (g, x, dx);
    }
  if (graph_wants_grad (gamma))
    graph_accumulate (g, gamma, dgamma);
  if (graph_wants_grad (beta))
    graph_accumulate (g, beta, dbeta);
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
      g_autofree char *xs = graph_shape (x);

      return graph_fail (g, "batch_norm: input %s needs %u-long γ, β and running statistics "
                         "(required for evaluation), and more than one value per channel to train",
                         xs, x->c);
    }
  p = (LoomBatchNormParams) { x->n, x->c, x->h * x->w, eps, momentum };
  if (training)
    {
      mean = graph_tensor_new (g, "batch_norm mean", 1, 1, 1, x->c, TENSOR_VALUE);
      var = graph_tensor_new (g, "batch_norm var", 1, 1, 1, x->c, TENSOR_VALUE);
      graph_emit (g, &loom_op_batch_norm_stats, &p, (LoomTensor *[]) { mean, var, x });
      if (running_mean != NULL && running_var != NULL)
        graph_emit (g, &loom_op_batch_norm_running, &p,
                    (LoomTensor *[]) { running_mean, running_var, mean, var,
                                       graph_ensure_scalars (g) });
    }
  else
    mean = running_mean, var = running_var;
  y = graph_tensor_like (g, "batch_norm", x);
  graph_emit (g, &loom_op_batch_norm_forward, &p, (LoomTensor *[]) { y, x, mean, var, gamma, beta });
  node = graph_node_new (g, batch_norm_backward, y, x, gamma, beta);
  node->p.bn = p;
  node->saved = mean;
  node->saved2 = var;
  node->kind = !!training;
  return y;
}

/* ---- group normalisation -------------------------------------------------- */

/* LENGTH copies of VALUE, written once at compile. */
static LoomTensor *
constant (LoomGraph *g, gsize length, float value)
{
  LoomTensor *t = graph_tensor_new (g, "constant", 1, 1, 1, (guint) length, TENSOR_STATE);

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

  if (graph_wants_grad (gamma) || graph_wants_grad (beta))
    {
      LoomTensor *dgamma = graph_tensor_like (g, "group_norm dgamma", gamma);
      LoomTensor *dbeta = graph_tensor_like (g, "group_norm dbeta", beta);

      /* Σ dy and Σ dy·x̂ per channel: x̂ against mean 0, variance 1, ε 0. */
      graph_emit (g, &loom_op_batch_norm_grad_stats, &per_channel,
                  (LoomTensor *[]) { dbeta, dgamma, dy, xhat, constant (g, x->c, 0.0f),
                                     constant (g, x->c, 1.0f) });
      if (graph_wants_grad (gamma))
        graph_accumulate (g, gamma, dgamma);
      if (graph_wants_grad (beta))
        graph_accumulate (g, beta, dbeta);
    }
  if (graph_wants_grad (x))
    {
      LoomTensor *dxhat = graph_tensor_like (g, "group_norm dx̂", x);
      LoomTensor *s1 = graph_tensor_new (g, "group_norm Σ dx̂", 1, 1, 1, segments, TENSOR_VALUE);
      LoomTensor *s2 = graph_tensor_new (g, "group_norm Σ dx̂·x̂", 1, 1, 1, segments, TENSOR_VALUE);
      LoomTensor *dx = graph_tensor_like (g, "group_norm dx", x);

      graph_emit (g, &loom_op_channel_affine, &(LoomChannelParams) { x->n, x->c, x->h * x->w },
                  (LoomTensor *[]) { dxhat, dy, gamma, constant (g, x->c, 0.0f) });
      graph_emit (g, &loom_op_batch_norm_grad_stats, view,
                  (LoomTensor *[]) { s1, s2, dxhat, x, mean, var });
      graph_emit (g, &loom_op_batch_norm_backward, view,
                  (LoomTensor *[]) { dx, dxhat, x, mean, var, constant (g, segments, 1.0f), s1, s2 });
      graph_accumulate (g, x, dx);
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
      g_autofree char *xs = graph_shape (x);

      return graph_fail (g, "group_norm: input %s in %u groups: the groups must divide the "
                         "%u channels, hold more than one value, and γ, β have one value per "
                         "channel",
                         xs, groups, x->c);
    }
  view = (LoomBatchNormParams) { 1, x->n * groups, x->c / groups * x->h * x->w, eps, 0.0f };
  mean = graph_tensor_new (g, "group_norm mean", 1, 1, 1, view.c, TENSOR_VALUE);
  var = graph_tensor_new (g, "group_norm var", 1, 1, 1, view.c, TENSOR_VALUE);
  xhat = graph_tensor_like (g, "group_norm x̂", x);
  y = graph_tensor_like (g, "group_norm", x);
  graph_emit (g, &loom_op_batch_norm_stats, &view, (LoomTensor *[]) { mean, var, x });
  graph_emit (g, &loom_op_batch_norm_forward, &view,
              (LoomTensor *[]) { xhat, x, mean, var, constant (g, view.c, 1.0f),
                                 constant (g, view.c, 0.0f) });
  graph_emit (g, &loom_op_channel_affine, &(LoomChannelParams) { x->n, x->c, x->h * x->w },
              (LoomTensor *[]) { y, xhat, gamma, beta });
  node = graph_node_new (g, group_norm_backward, y, x, gamma, beta);
  node->p.bn = view;
  node->saved = mean;
  node->saved2 = var;
  node->saved3 = xhat;
  return y;
}
