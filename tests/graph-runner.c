/* graph-runner MANIFEST OUTDIR DEVICE: trains the small models that
 * tests/torch-graph.py also trains with PyTorch, from the same initial
 * weights and data, and writes the loss of every step and the final
 * weights.
 *
 * MANIFEST is a JSON list of {"name", "model": "mlp" | "cnn" | ..., "steps",
 * "optimizer": "sgd" | "adam", "lr", "momentum", "weight_decay"}; inputs NAME.<tensor> beside it, raw float32; outputs
 * NAME.losses and NAME.<parameter>.final in OUTDIR. */
#include <string.h>

#include <loom/loom-graph.h>
#include "runner.h"

typedef struct
{
  LoomGraph  *graph;
  LoomTensor *loss;
  LoomTensor *tensors[10];      /* inputs, then parameters, named below */
  const char *names[10];
  guint       n_tensors;
} Model;

static LoomTensor *
add (Model *m, LoomTensor *t, const char *name)
{
  m->tensors[m->n_tensors] = t;
  m->names[m->n_tensors++] = name;
  return t;
}

/* x (12×8) → linear 8→16 → tanh → linear 16→4 → MSE against a 12×4 target. */
static void
build_mlp (Model *m)
{
  LoomGraph *g = m->graph;
  LoomTensor *x = add (m, loom_graph_input (g, "x", 12, 8, 1, 1), "x");
  LoomTensor *t = add (m, loom_graph_input (g, "target", 12, 4, 1, 1), "target");
  LoomTensor *w1 = add (m, loom_graph_parameter (g, "w1", 16, 8, 1, 1), "w1");
  LoomTensor *b1 = add (m, loom_graph_parameter (g, "b1", 16, 1, 1, 1), "b1");
  LoomTensor *w2 = add (m, loom_graph_parameter (g, "w2", 4, 16, 1, 1), "w2");
  LoomTensor *b2 = add (m, loom_graph_parameter (g, "b2", 4, 1, 1, 1), "b2");
  LoomTensor *h = loom_graph_activation (g, LOOM_ACTIVATION_TANH, 0.0f,
                                         loom_graph_linear (g, x, w1, b1));

  m->loss = loom_graph_mse_loss (g, loom_graph_linear (g, h, w2, b2), t);
}

/* x (2×3×9×9) → conv 3→4 3×3 reflect-padded → GELU → conv 4→2 3×3 stride 2
 * zero-padded → MSE against a 2×2×5×5 target. */
static void
build_cnn (Model *m)
{
  LoomGraph *g = m->graph;
  LoomConv2d same = { .pad_h = 1, .pad_w = 1, .pad_mode = LOOM_PAD_REFLECT };
  LoomConv2d down = { .stride_h = 2, .stride_w = 2, .pad_h = 1, .pad_w = 1 };
  LoomTensor *x = add (m, loom_graph_input (g, "x", 2, 3, 9, 9), "x");
  LoomTensor *t = add (m, loom_graph_input (g, "target", 2, 2, 5, 5), "target");
  LoomTensor *w1 = add (m, loom_graph_parameter (g, "w1", 4, 3, 3, 3), "w1");
  LoomTensor *b1 = add (m, loom_graph_parameter (g, "b1", 4, 1, 1, 1), "b1");
  LoomTensor *w2 = add (m, loom_graph_parameter (g, "w2", 2, 4, 3, 3), "w2");
  LoomTensor *b2 = add (m, loom_graph_parameter (g, "b2", 2, 1, 1, 1), "b2");
  LoomTensor *h = loom_graph_activation (g, LOOM_ACTIVATION_GELU, 0.0f,
                                         loom_graph_conv2d (g, x, w1, b1, &same));

  m->loss = loom_graph_mse_loss (g, loom_graph_conv2d (g, h, w2, b2, &down), t);
}

/* x (2×3×8×8) → conv 3→4 3×3 zero-padded → ReLU → conv 4→3 1×1 →
 * cross-entropy against 2×1×8×8 labels (−1 unlabelled), weighted classes. */
static void
build_seg (Model *m)
{
  LoomGraph *g = m->graph;
  LoomConv2d same = { .pad_h = 1, .pad_w = 1 };
  LoomConv2d point = { 0 };
  LoomTensor *x = add (m, loom_graph_input (g, "x", 2, 3, 8, 8), "x");
  LoomTensor *t = add (m, loom_graph_input (g, "target", 2, 1, 8, 8), "target");
  LoomTensor *w1 = add (m, loom_graph_parameter (g, "w1", 4, 3, 3, 3), "w1");
  LoomTensor *b1 = add (m, loom_graph_parameter (g, "b1", 4, 1, 1, 1), "b1");
  LoomTensor *w2 = add (m, loom_graph_parameter (g, "w2", 3, 4, 1, 1), "w2");
  LoomTensor *b2 = add (m, loom_graph_parameter (g, "b2", 3, 1, 1, 1), "b2");
  LoomTensor *cw = add (m, loom_graph_input (g, "class_weights", 3, 1, 1, 1), "class_weights");
  LoomTensor *h = loom_graph_activation (g, LOOM_ACTIVATION_RELU, 0.0f,
                                         loom_graph_conv2d (g, x, w1, b1, &same));

  m->loss = loom_graph_cross_entropy (g, loom_graph_conv2d (g, h, w2, b2, &point), t, cw, -1);
}

/* z (2×4×3×3) → transposed conv 4→3 4×4 stride 2 padding 1 → tanh → MSE
 * against a 2×3×6×6 target: a DCGAN generator's block. */
static void
build_gen (Model *m)
{
  LoomGraph *g = m->graph;
  LoomConv2d up = { .stride_h = 2, .stride_w = 2, .pad_h = 1, .pad_w = 1 };
  LoomTensor *z = add (m, loom_graph_input (g, "x", 2, 4, 3, 3), "x");
  LoomTensor *t = add (m, loom_graph_input (g, "target", 2, 3, 6, 6), "target");
  LoomTensor *w1 = add (m, loom_graph_parameter (g, "w1", 4, 3, 4, 4), "w1");
  LoomTensor *b1 = add (m, loom_graph_parameter (g, "b1", 3, 1, 1, 1), "b1");
  LoomTensor *y = loom_graph_activation (g, LOOM_ACTIVATION_TANH, 0.0f,
                                         loom_graph_conv_transpose2d (g, z, w1, b1, &up));

  m->loss = loom_graph_mse_loss (g, y, t);
}

/* x (4×3×6×6) → conv 3→5 3×3 (padding 1, no bias) → batch norm (training)
 * → ReLU → conv 5→2 1×1 → MSE against a 4×2×6×6 target; the running
 * statistics are compared too. */
static float bn_momentum = 0.1f;   /* the case's, when it says */

static void
build_bn (Model *m)
{
  LoomGraph *g = m->graph;
  LoomConv2d same = { .pad_h = 1, .pad_w = 1 };
  LoomConv2d point = { 0 };
  LoomTensor *x = add (m, loom_graph_input (g, "x", 4, 3, 6, 6), "x");
  LoomTensor *t = add (m, loom_graph_input (g, "target", 4, 2, 6, 6), "target");
  LoomTensor *w1 = add (m, loom_graph_parameter (g, "w1", 5, 3, 3, 3), "w1");
  LoomTensor *gamma = add (m, loom_graph_parameter (g, "gamma", 5, 1, 1, 1), "gamma");
  LoomTensor *beta = add (m, loom_graph_parameter (g, "beta", 5, 1, 1, 1), "beta");
  LoomTensor *rm = add (m, loom_graph_buffer (g, "running_mean", 5, 1, 1, 1), "running_mean");
  LoomTensor *rv = add (m, loom_graph_buffer (g, "running_var", 5, 1, 1, 1), "running_var");
  LoomTensor *w2 = add (m, loom_graph_parameter (g, "w2", 2, 5, 1, 1), "w2");
  LoomTensor *b2 = add (m, loom_graph_parameter (g, "b2", 2, 1, 1, 1), "b2");
  LoomTensor *h = loom_graph_batch_norm (g, loom_graph_conv2d (g, x, w1, NULL, &same),
                                         gamma, beta, rm, rv, TRUE, bn_momentum, 1e-5f);

  h = loom_graph_activation (g, LOOM_ACTIVATION_RELU, 0.0f, h);
  m->loss = loom_graph_mse_loss (g, loom_graph_conv2d (g, h, w2, b2, &point), t);
}

/* x (2×3×6×6) → conv 3→4 3×3 (padding 1) → group norm (2 groups) → ReLU →
 * conv 4→2 1×1 → MSE against a 2×2×6×6 target. */
static void
build_gn (Model *m)
{
  LoomGraph *g = m->graph;
  LoomConv2d same = { .pad_h = 1, .pad_w = 1 };
  LoomConv2d point = { 0 };
  LoomTensor *x = add (m, loom_graph_input (g, "x", 2, 3, 6, 6), "x");
  LoomTensor *t = add (m, loom_graph_input (g, "target", 2, 2, 6, 6), "target");
  LoomTensor *w1 = add (m, loom_graph_parameter (g, "w1", 4, 3, 3, 3), "w1");
  LoomTensor *b1 = add (m, loom_graph_parameter (g, "b1", 4, 1, 1, 1), "b1");
  LoomTensor *gamma = add (m, loom_graph_parameter (g, "gamma", 4, 1, 1, 1), "gamma");
  LoomTensor *beta = add (m, loom_graph_parameter (g, "beta", 4, 1, 1, 1), "beta");
  LoomTensor *w2 = add (m, loom_graph_parameter (g, "w2", 2, 4, 1, 1), "w2");
  LoomTensor *b2 = add (m, loom_graph_parameter (g, "b2", 2, 1, 1, 1), "b2");
  LoomTensor *h = loom_graph_group_norm (g, loom_graph_conv2d (g, x, w1, b1, &same), 2,
                                         gamma, beta, 1e-5f);

  h = loom_graph_activation (g, LOOM_ACTIVATION_RELU, 0.0f, h);
  m->loss = loom_graph_mse_loss (g, loom_graph_conv2d (g, h, w2, b2, &point), t);
}

/* x (2×4×6×6) → conv 4→6 3×3 (padding 1) → channels 0-2 · σ(channels 3-5)
 * (a gated convolution) → · scale (1×3×1×1) + bias image (1×1×6×6) → tanh
 * → reshape 2×108 → linear 108→4 → MSE: slices, broadcasting, reshape. */
static void
build_gate (Model *m)
{
  LoomGraph *g = m->graph;
  LoomConv2d same = { .pad_h = 1, .pad_w = 1 };
  LoomTensor *x = add (m, loom_graph_input (g, "x", 2, 4, 6, 6), "x");
  LoomTensor *t = add (m, loom_graph_input (g, "target", 2, 4, 1, 1), "target");
  LoomTensor *w1 = add (m, loom_graph_parameter (g, "w1", 6, 4, 3, 3), "w1");
  LoomTensor *b1 = add (m, loom_graph_parameter (g, "b1", 6, 1, 1, 1), "b1");
  LoomTensor *scale = add (m, loom_graph_parameter (g, "scale", 1, 3, 1, 1), "scale");
  LoomTensor *image = add (m, loom_graph_parameter (g, "image", 1, 1, 6, 6), "image");
  LoomTensor *w2 = add (m, loom_graph_parameter (g, "w2", 4, 108, 1, 1), "w2");
  LoomTensor *b2 = add (m, loom_graph_parameter (g, "b2", 4, 1, 1, 1), "b2");
  LoomTensor *h = loom_graph_conv2d (g, x, w1, b1, &same);
  LoomTensor *gate = loom_graph_activation (g, LOOM_ACTIVATION_SIGMOID, 0.0f,
                                            loom_graph_slice_channels (g, h, 3, 3));

  h = loom_graph_mul (g, loom_graph_slice_channels (g, h, 0, 3), gate);
  h = loom_graph_add (g, loom_graph_mul (g, h, scale), image);
  h = loom_graph_activation (g, LOOM_ACTIVATION_TANH, 0.0f, h);
  h = loom_graph_reshape (g, h, 2, 108, 1, 1);
  m->loss = loom_graph_mse_loss (g, loom_graph_linear (g, h, w2, b2), t);
}

/* A GAN step in one graph: real x (8×4), noise z (8×3); G: linear 3→4;
 * D: linear 4→6 → leaky ReLU 0.2 → linear 6→1.  BCE with logits of D(x)
 * against 1, of D(detach(G(z))) against 0, and of D with detached weights
 * on G(z) against 1, summed (loss_add): D learns from the first two, G
 * from the third, all updated at once. */
static void
build_gan (Model *m)
{
  LoomGraph *g = m->graph;
  LoomTensor *x = add (m, loom_graph_input (g, "x", 8, 4, 1, 1), "x");
  LoomTensor *t = add (m, loom_graph_input (g, "target", 8, 2, 1, 1), "target");
  LoomTensor *z = add (m, loom_graph_input (g, "z", 8, 3, 1, 1), "z");
  LoomTensor *gw = add (m, loom_graph_parameter (g, "gw", 4, 3, 1, 1), "gw");
  LoomTensor *gb = add (m, loom_graph_parameter (g, "gb", 4, 1, 1, 1), "gb");
  LoomTensor *d[4] = {
    add (m, loom_graph_parameter (g, "dw1", 6, 4, 1, 1), "dw1"),
    add (m, loom_graph_parameter (g, "db1", 6, 1, 1, 1), "db1"),
    add (m, loom_graph_parameter (g, "dw2", 1, 6, 1, 1), "dw2"),
    add (m, loom_graph_parameter (g, "db2", 1, 1, 1, 1), "db2"),
  };
  LoomTensor *frozen[4], *fake = loom_graph_linear (g, z, gw, gb), *judged[3];
  LoomTensor *seen[3] = { x, loom_graph_detach (g, fake), fake };

  for (guint i = 0; i < 4; i++)
    frozen[i] = loom_graph_detach (g, d[i]);
  for (guint i = 0; i < 3; i++)
    {
      LoomTensor *const *w = i == 2 ? frozen : d;
      LoomTensor *h = loom_graph_activation (g, LOOM_ACTIVATION_LEAKY_RELU, 0.2f,
                                             loom_graph_linear (g, seen[i], w[0], w[1]));

      judged[i] = loom_graph_linear (g, h, w[2], w[3]);
    }
  /* Targets: column 0 of T is 1, column 1 is 0 (t is 8×2). */
  m->loss = loom_graph_loss_add (g, loom_graph_loss_add (g,
                                   loom_graph_loss (g, LOOM_LOSS_BCE_WITH_LOGITS, judged[0],
                                                    loom_graph_slice_channels (g, t, 0, 1), FALSE),
                                   loom_graph_loss (g, LOOM_LOSS_BCE_WITH_LOGITS, judged[1],
                                                    loom_graph_slice_channels (g, t, 1, 1), FALSE)),
                                 loom_graph_loss (g, LOOM_LOSS_BCE_WITH_LOGITS, judged[2],
                                                  loom_graph_slice_channels (g, t, 0, 1), FALSE));
}

/* x (2×3×6×6) → conv 3→4 3×3 (padding 1) with a spectrally normalised
 * weight (u1: its 4-vector) → leaky ReLU 0.2 → conv 4→2 1×1, spectrally
 * normalised too (u2) → MSE against a 2×2×6×6 target.  The u vectors and
 * the weights' last gradients are compared as well. */
static void
build_sn (Model *m)
{
  LoomGraph *g = m->graph;
  LoomConv2d same = { .pad_h = 1, .pad_w = 1 };
  LoomConv2d point = { 0 };
  LoomTensor *x = add (m, loom_graph_input (g, "x", 2, 3, 6, 6), "x");
  LoomTensor *t = add (m, loom_graph_input (g, "target", 2, 2, 6, 6), "target");
  LoomTensor *w1 = add (m, loom_graph_parameter (g, "w1", 4, 3, 3, 3), "w1");
  LoomTensor *b1 = add (m, loom_graph_parameter (g, "b1", 4, 1, 1, 1), "b1");
  LoomTensor *u1 = add (m, loom_graph_buffer (g, "u1", 4, 1, 1, 1), "u1");
  LoomTensor *w2 = add (m, loom_graph_parameter (g, "w2", 2, 4, 1, 1), "w2");
  LoomTensor *b2 = add (m, loom_graph_parameter (g, "b2", 2, 1, 1, 1), "b2");
  LoomTensor *u2 = add (m, loom_graph_buffer (g, "u2", 2, 1, 1, 1), "u2");
  LoomTensor *h = loom_graph_conv2d (g, x, loom_graph_spectral_norm (g, w1, u1, 1e-12f), b1,
                                     &same);

  h = loom_graph_activation (g, LOOM_ACTIVATION_LEAKY_RELU, 0.2f, h);
  h = loom_graph_conv2d (g, h, loom_graph_spectral_norm (g, w2, u2, 1e-12f), b2, &point);
  m->loss = loom_graph_mse_loss (g, h, t);
}

static gboolean
load (LoomGraph *g, LoomTensor *t, const char *path, GError **error)
{
  g_autofree char *data = NULL;
  gsize len;

  if (!g_file_get_contents (path, &data, &len, error))
    return FALSE;
  if (len != loom_tensor_get_length (t) * sizeof (float))
    {
      g_set_error (error, LOOM_ERROR, LOOM_ERROR_INVALID_ARGUMENT, "%s: %" G_GSIZE_FORMAT
                   " bytes for %" G_GSIZE_FORMAT " floats", path, len, loom_tensor_get_length (t));
      return FALSE;
    }
  return loom_graph_write (g, t, (const float *) data, error);
}

static gboolean
run_case (LoomDevice *device, const char *in_dir, const char *out_dir, JsonObject *c,
          GError **error)
{
  const char *name = json_object_get_string_member (c, "name");
  const char *model = json_object_get_string_member (c, "model");
  guint steps = (guint) json_object_get_int_member (c, "steps");
  Model m = { .graph = loom_graph_new () };
  g_autofree float *losses = g_new0 (float, MAX (steps, 1));
  g_autofree char *loss_file = g_strdup_printf ("%s/%s.losses", out_dir, name);
  gboolean ok = FALSE;

  bn_momentum = json_object_has_member (c, "bn_momentum")
              ? (float) json_object_get_double_member (c, "bn_momentum") : 0.1f;
  if (strcmp (model, "mlp") == 0)
    build_mlp (&m);
  else if (strcmp (model, "seg") == 0)
    build_seg (&m);
  else if (strcmp (model, "gen") == 0)
    build_gen (&m);
  else if (strcmp (model, "bn") == 0)
    build_bn (&m);
  else if (strcmp (model, "gn") == 0)
    build_gn (&m);
  else if (strcmp (model, "gate") == 0)
    build_gate (&m);
  else if (strcmp (model, "gan") == 0)
    build_gan (&m);
  else if (strcmp (model, "sn") == 0)
    build_sn (&m);
  else
    build_cnn (&m);
  if (json_object_has_member (c, "clip"))
    loom_graph_clip_grad_norm (m.graph, (float) json_object_get_double_member (c, "clip"));
  if (strcmp (json_object_get_string_member (c, "optimizer"), "adam") == 0)
    {
      if (!loom_graph_train_adam (m.graph, m.loss, (float) json_object_get_double_member (c, "lr"),
                                  0.9f, 0.999f, 1e-8f,
                                  (float) json_object_get_double_member (c, "weight_decay"), error))
        goto out;
    }
  else if (!loom_graph_train_sgd (m.graph, m.loss, (float) json_object_get_double_member (c, "lr"),
                                  (float) json_object_get_double_member (c, "momentum"), error))
    goto out;
  if (!loom_graph_compile (m.graph, device, error))
    goto out;
  for (guint i = 0; i < m.n_tensors; i++)
    {
      g_autofree char *path = g_strdup_printf ("%s/%s.%s", in_dir, name, m.names[i]);

      if (!load (m.graph, m.tensors[i], path, error))
        goto out;
    }
  for (guint s = 0; s < steps; s++)
    if (!loom_graph_run (m.graph, error) || !loom_graph_read (m.graph, m.loss, &losses[s], error))
      goto out;
  if (!g_file_set_contents (loss_file, (const char *) losses, steps * sizeof (float), error))
    goto out;
  for (guint i = 2; i < m.n_tensors; i++)      /* the parameters */
    {
      if (strcmp (m.names[i], "class_weights") == 0 || strcmp (m.names[i], "z") == 0)
        continue;
      gsize n = loom_tensor_get_length (m.tensors[i]);
      g_autofree float *data = g_new (float, n);
      g_autofree char *path = g_strdup_printf ("%s/%s.%s-final", out_dir, name, m.names[i]);

      if (!loom_graph_read (m.graph, m.tensors[i], data, error)
          || !g_file_set_contents (path, (const char *) data, n * sizeof (float), error))
        goto out;
      /* sn: the weights' gradients of the last step too. */
      if (strcmp (model, "sn") == 0 && m.names[i][0] == 'w')
        {
          g_autofree char *grad_path = g_strdup_printf ("%s/%s.%s-grad", out_dir, name,
                                                        m.names[i]);

          if (!loom_graph_read (m.graph, loom_tensor_get_grad (m.tensors[i]), data, error)
              || !g_file_set_contents (grad_path, (const char *) data, n * sizeof (float), error))
            goto out;
        }
    }
  ok = TRUE;
out:
  loom_graph_free (m.graph);
  return ok;
}

int
main (int argc, char **argv)
{
  return runner_main (argc, argv, "graph-runner", run_case);
}
