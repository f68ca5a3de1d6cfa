/* Spectral normalisation (Miyato et al.), as PyTorch's
 * torch.nn.utils.spectral_norm with one power iteration per run, built
 * from gemm, the normalising factor (inv_norm) and scalings by a value on
 * the device, with its backward beside it. */
#include "graph-private.h"

/* A scalar dot product A·B of two vectors of LENGTH values: gemm 1×1. */
static void
emit_dot (LoomGraph *g, LoomTensor *out, LoomTensor *a, LoomTensor *b, guint32 length)
{
  LoomGemmParams p = { 1, 1, length, FALSE, TRUE, 1.0f, 0.0f };

  graph_emit (g, &loom_op_gemm, &p, (LoomTensor *[]) { out, a, b });
}

static void
scale_by (LoomGraph *g, LoomTensor *out, LoomTensor *x, LoomTensor *s)
{
  graph_emit_elementwise (g, &loom_op_scale_by, 0.0f, 0, out, x, s);
}

/* W_sn = W / σ with σ = uᵀ W v, u and v held constant (PyTorch computes
 * them without gradient), so with G the output's gradient and r = 1/σ:
 *   dW = r·G − r²·⟨G, W⟩·u vᵀ = r·(G − ⟨G, W_sn⟩·u vᵀ). */
static void
spectral_norm_backward (LoomGraph *g, Node *node)
{
  LoomTensor *w = node->in[0], *w_sn = node->out, *dy = w_sn->grad;
  LoomTensor *v = node->saved, *r = node->saved2, *u = node->saved3;
  guint32 k = w->n, c = (guint32) (w->length / w->n);
  LoomTensor *squares = graph_tensor_like (g, "spectral_norm dy·w", w);
  LoomTensor *dot = graph_tensor_new (g, "spectral_norm ⟨dy, w⟩", 1, 1, 1, 1, TENSOR_VALUE);
  LoomTensor *rc = graph_tensor_new (g, "spectral_norm r⟨dy, w⟩", 1, 1, 1, 1, TENSOR_VALUE);
  LoomTensor *vr = graph_tensor_like (g, "spectral_norm v·r⟨dy, w⟩", v);
  LoomTensor *dw = graph_tensor_like (g, "spectral_norm dw", w);
  LoomGemmParams outer = { k, c, 1, FALSE, FALSE, -1.0f, 1.0f };     /* dw −= u · vrᵀ */

  if (!graph_wants_grad (w))
    return;
  /* ⟨G, W_sn⟩ as the clipping's sums: products, then one split reduction. */
  graph_emit_elementwise (g, &loom_op_mul, 0.0f, 0, squares, dy, w_sn);
  graph_emit (g, &loom_op_channel_sum, &(LoomChannelParams) { 1, 1, (guint32) w->length },
              (LoomTensor *[]) { dot, squares });
  graph_emit_elementwise (g, &loom_op_mul, 0.0f, 0, rc, r, dot);
  scale_by (g, vr, v, rc);
  scale_by (g, dw, dy, r);
  graph_emit (g, &loom_op_gemm, &outer, (LoomTensor *[]) { dw, u, vr });
  graph_accumulate (g, w, dw);
}

LoomTensor *
loom_graph_spectral_norm (LoomGraph *g, LoomTensor *weight, LoomTensor *u, float eps)
{
  LoomTensor *a, *v, *b, *sa, *sb, *ra, *r, *w_sn;
  guint32 k, c;
  Node *node;

  g_return_val_if_fail (g != NULL, NULL);
  if (weight == NULL || u == NULL || g->error != NULL)
    return NULL;
  if (u->kind != TENSOR_STATE || u->view_of != NULL || u->length != weight->n
      || weight->length / weight->n > G_MAXUINT32 || !(eps > 0.0f))
    {
      g_autofree char *ws = graph_shape (weight), *us = graph_shape (u);

      return graph_fail (g, "spectral_norm: weight %s needs u, a buffer of its %u rows "
                         "(have %s), and eps > 0 (have %g)", ws, weight->n, us, eps);
    }
  k = weight->n;
  c = (guint32) (weight->length / weight->n);
  a = graph_tensor_new (g, "spectral_norm wᵀu", 1, c, 1, 1, TENSOR_VALUE);
  v = graph_tensor_new (g, "spectral_norm v", 1, c, 1, 1, TENSOR_VALUE);
  b = graph_tensor_new (g, "spectral_norm w v", 1, k, 1, 1, TENSOR_VALUE);
  sa = graph_tensor_new (g, "spectral_norm |wᵀu|²", 1, 1, 1, 1, TENSOR_VALUE);
  sb = graph_tensor_new (g, "spectral_norm |w v|²", 1, 1, 1, 1, TENSOR_VALUE);
  ra = graph_tensor_new (g, "spectral_norm 1/|wᵀu|", 1, 1, 1, 1, TENSOR_VALUE);
  r = graph_tensor_new (g, "spectral_norm 1/σ", 1, 1, 1, 1, TENSOR_VALUE);
  w_sn = graph_tensor_like (g, "spectral_norm", weight);

  /* v = normalize(Wᵀu): uᵀW as a 1×C row. */
  graph_emit (g, &loom_op_gemm, &(LoomGemmParams) { 1, c, k, FALSE, FALSE, 1.0f, 0.0f },
              (LoomTensor *[]) { a, u, weight });
  emit_dot (g, sa, a, a, c);
  graph_emit_elementwise (g, &loom_op_inv_norm, eps, 0, ra, sa, NULL);
  scale_by (g, v, a, ra);
  /* u = normalize(W v), σ = uᵀ W v = |W v| (once |W v| ≥ eps). */
  graph_emit (g, &loom_op_gemm, &(LoomGemmParams) { k, 1, c, FALSE, FALSE, 1.0f, 0.0f },
              (LoomTensor *[]) { b, weight, v });
  emit_dot (g, sb, b, b, k);
  graph_emit_elementwise (g, &loom_op_inv_norm, eps, 0, r, sb, NULL);
  scale_by (g, u, b, r);
  scale_by (g, w_sn, weight, r);

  node = graph_node_new (g, spectral_norm_backward, w_sn, weight, NULL, NULL);
  node->saved = v;
  node->saved2 = r;
  node->saved3 = u;
  return w_sn;
}
