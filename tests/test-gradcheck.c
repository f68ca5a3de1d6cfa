/* Finite-difference gradient checks: for small graphs built from every
 * layer with a gradient, the backward pass must agree with central
 * differences of the loss, (L(p + ε) − L(p − ε)) / 2ε, at sampled
 * coordinates of every parameter, on the CPU backend and on Vulkan.
 * (PyTorch checks the same gradients in tests/torch-*.py; this check
 * needs no reference at all.) */
#include <math.h>
#include <string.h>

#include <loom/loom-graph.h>
#include "test-util.h"

#define EPS       2e-3f
#define TOLERANCE 2e-2          /* float32 differences of a float32 loss */
#define SAMPLES   12            /* coordinates checked per tensor */

typedef struct
{
  LoomGraph  *graph;
  LoomTensor *loss;
  LoomTensor *params[6];
  guint       n_params;
  LoomTensor *inputs[2];        /* fixed data */
  guint       n_inputs;
} Check;

static LoomTensor *
param (Check *c, guint n, guint ch, guint h, guint w)
{
  return c->params[c->n_params++] = loom_graph_parameter (c->graph, "p", n, ch, h, w);
}

static LoomTensor *
input (Check *c, guint n, guint ch, guint h, guint w)
{
  return c->inputs[c->n_inputs++] = loom_graph_input (c->graph, "in", n, ch, h, w);
}

static void
build (Check *c, const char *which)
{
  LoomGraph *g = c->graph = loom_graph_new ();

  if (g_str_has_prefix (which, "linear"))
    {
      LoomTensor *x = param (c, 3, 5, 1, 1);
      LoomTensor *y = loom_graph_linear (g, x, param (c, 4, 5, 1, 1), param (c, 4, 1, 1, 1));

      c->loss = loom_graph_mse_loss (g, y, input (c, 3, 4, 1, 1));
    }
  else if (g_str_has_prefix (which, "conv-"))
    {
      /* conv-<mode>-<stride>-<dilation> */
      g_auto (GStrv) f = g_strsplit (which, "-", -1);
      LoomConv2d conv = {
        .stride_h = (guint) atoi (f[2]), .stride_w = (guint) atoi (f[2]),
        .dilation_h = (guint) atoi (f[3]), .dilation_w = (guint) atoi (f[3]),
        .pad_h = 2, .pad_w = 1,
        .pad_mode = strcmp (f[1], "reflect") == 0 ? LOOM_PAD_REFLECT
                  : strcmp (f[1], "circular") == 0 ? LOOM_PAD_CIRCULAR : LOOM_PAD_ZERO,
      };
      LoomTensor *x = param (c, 2, 3, 6, 7);
      LoomTensor *y = loom_graph_conv2d (g, x, param (c, 4, 3, 3, 3), param (c, 4, 1, 1, 1), &conv);
      guint ph = (6 + 4 - conv.dilation_h * 2 - 1) / conv.stride_h + 1;
      guint pw = (7 + 2 - conv.dilation_w * 2 - 1) / conv.stride_w + 1;

      c->loss = loom_graph_mse_loss (g, y, input (c, 2, 4, ph, pw));
    }
  else if (g_str_has_prefix (which, "convT"))
    {
      LoomConv2d up = { .stride_h = 2, .stride_w = 2, .pad_h = 1, .pad_w = 1,
                        .output_pad_h = 1 };
      LoomTensor *x = param (c, 2, 3, 3, 4);
      LoomTensor *y = loom_graph_conv_transpose2d (g, x, param (c, 3, 2, 3, 3),
                                                   param (c, 2, 1, 1, 1), &up);

      /* (3 − 1)·2 − 2 + 2 + 1 + 1 = 6 by (4 − 1)·2 − 2 + 2 + 1 = 7 */
      c->loss = loom_graph_mse_loss (g, y, input (c, 2, 2, 6, 7));
    }
  else if (g_str_has_suffix (which, "pool"))
    {
      gboolean max = g_str_has_prefix (which, "max");
      LoomTensor *y = loom_graph_pool2d (g, param (c, 2, 3, 7, 8), max, 3, 2, 1);

      c->loss = loom_graph_mse_loss (g, y, input (c, 2, 3, 4, 4));
    }
  else if (g_str_has_prefix (which, "upsample"))
    {
      gboolean bilinear = g_str_has_suffix (which, "bilinear");
      LoomTensor *y = loom_graph_upsample (g, param (c, 2, 3, 4, 5), 2, bilinear);

      c->loss = loom_graph_mse_loss (g, y, input (c, 2, 3, 8, 10));
    }
  else if (strcmp (which, "batchnorm") == 0)
    {
      LoomTensor *x = param (c, 3, 4, 3, 5);
      LoomTensor *y = loom_graph_batch_norm (g, x, param (c, 4, 1, 1, 1), param (c, 4, 1, 1, 1),
                                             NULL, NULL, TRUE, 0.1f, 1e-5f);

      c->loss = loom_graph_mse_loss (g, y, input (c, 3, 4, 3, 5));
    }
  else if (g_str_has_prefix (which, "groupnorm"))
    {
      guint groups = (guint) atoi (which + strlen ("groupnorm-"));
      LoomTensor *x = param (c, 3, 4, 3, 5);
      LoomTensor *y = loom_graph_group_norm (g, x, groups, param (c, 4, 1, 1, 1),
                                             param (c, 4, 1, 1, 1), 1e-5f);

      c->loss = loom_graph_mse_loss (g, y, input (c, 3, 4, 3, 5));
    }
  else if (strcmp (which, "add-mul") == 0)
    {
      /* a·b + a: a used twice, so its two gradients must add up */
      LoomTensor *a = param (c, 2, 3, 4, 5), *b = param (c, 2, 3, 4, 5);
      LoomTensor *y = loom_graph_add (g, loom_graph_mul (g, a, b), a);

      c->loss = loom_graph_mse_loss (g, y, input (c, 2, 3, 4, 5));
    }
  else if (strcmp (which, "broadcast") == 0)
    {
      /* a·s + b: a per-channel scale s, a per-sample bias image b, and
       * reshape and channel slices around them */
      LoomTensor *a = param (c, 2, 3, 4, 5), *scale = param (c, 1, 3, 1, 1);
      LoomTensor *bias = param (c, 2, 1, 4, 5), *gate = param (c, 2, 1, 1, 5);
      LoomTensor *y = loom_graph_add (g, loom_graph_mul (g, a, scale), bias);

      y = loom_graph_mul (g, gate, loom_graph_slice_channels (g, y, 1, 2));
      y = loom_graph_reshape (g, loom_graph_activation (g, LOOM_ACTIVATION_TANH, 0, y), 2, 40, 1, 1);
      c->loss = loom_graph_mse_loss (g, y, input (c, 2, 40, 1, 1));
    }
  else if (strcmp (which, "concat") == 0)
    {
      LoomTensor *y = loom_graph_concat (g, param (c, 2, 3, 4, 5), param (c, 2, 2, 4, 5));

      /* tanh after, so that each half's gradient depends on its values */
      y = loom_graph_activation (g, LOOM_ACTIVATION_TANH, 0, y);
      c->loss = loom_graph_mse_loss (g, y, input (c, 2, 5, 4, 5));
    }
  else if (g_str_has_prefix (which, "activation"))
    {
      LoomActivation kind = (LoomActivation) atoi (which + strlen ("activation-"));
      LoomTensor *y = loom_graph_activation (g, kind, 0.1f, param (c, 2, 3, 4, 5));

      c->loss = loom_graph_mse_loss (g, y, input (c, 2, 3, 4, 5));
    }
  else if (strcmp (which, "loss-sum") == 0)     /* two losses, one gradient */
    {
      LoomTensor *a = param (c, 2, 3, 2, 2), *b = param (c, 1, 4, 3, 1);

      c->loss = loom_graph_loss_add (g, loom_graph_mse_loss (g, a, input (c, 2, 3, 2, 2)),
                                     loom_graph_loss (g, LOOM_LOSS_BCE_WITH_LOGITS, b,
                                                      input (c, 1, 4, 3, 1), FALSE));
    }
  else if (strcmp (which, "spectral-norm") == 0)
    {
      /* y = x · (W / σ(W))ᵀ + b, u (an input: written at random) converged
       * by the runs before the check, so each further power iteration
       * leaves σ as it is. */
      LoomTensor *x = param (c, 3, 12, 1, 1), *w = param (c, 4, 3, 2, 2);
      LoomTensor *u = c->inputs[c->n_inputs++] = loom_graph_buffer (g, "u", 4, 1, 1, 1);
      LoomTensor *w_sn = loom_graph_spectral_norm (g, w, u, 1e-12f);
      LoomTensor *y = loom_graph_linear (g, x, loom_graph_reshape (g, w_sn, 4, 12, 1, 1),
                                         param (c, 4, 1, 1, 1));

      c->loss = loom_graph_mse_loss (g, y, input (c, 3, 4, 1, 1));
    }
  else if (g_str_has_prefix (which, "loss-"))
    {
      LoomLoss kind = (LoomLoss) atoi (which + strlen ("loss-"));

      c->loss = loom_graph_loss (g, kind, param (c, 2, 3, 4, 5), input (c, 2, 3, 4, 5),
                                 kind == LOOM_LOSS_L1);
    }
  else /* cross-entropy, weighted, with ignored pixels */
    {
      LoomTensor *logits = param (c, 2, 4, 3, 5);
      LoomTensor *labels = input (c, 2, 1, 3, 5);
      LoomTensor *weights = input (c, 4, 1, 1, 1);

      c->loss = loom_graph_cross_entropy (g, logits, labels, weights, -1);
    }
}

static float
loss_of (Check *c)
{
  GError *error = NULL;
  float loss;

  g_assert_true (loom_graph_run (c->graph, &error));
  g_assert_true (loom_graph_read (c->graph, c->loss, &loss, &error));
  g_assert_no_error (error);
  return loss;
}

static void
check (LoomDevice *device, const char *which)
{
  Check c = { 0 };
  GRand *rand = g_rand_new_with_seed (11);
  GError *error = NULL;

  build (&c, which);
  /* SGD at rate 0: the gradients are computed, the parameters stay. */
  g_assert_true (loom_graph_train_sgd (c.graph, c.loss, 0.0f, 0.0f, &error));
  g_assert_true (loom_graph_compile (c.graph, device, &error));
  g_assert_no_error (error);
  for (guint i = 0; i < c.n_params + c.n_inputs; i++)
    {
      LoomTensor *t = i < c.n_params ? c.params[i] : c.inputs[i - c.n_params];
      gsize n = loom_tensor_get_length (t);
      g_autofree float *data = g_new (float, n);

      for (gsize j = 0; j < n; j++)
        {
          data[j] = (float) g_rand_double_range (rand, -1.0, 1.0);
          /* Keep ReLU's kink and the labels' meaning away from the samples. */
          if (strcmp (which, "activation-0") == 0 || strcmp (which, "activation-1") == 0)
            data[j] += data[j] < 0 ? -0.05f : 0.05f;
        }
      /* Targets: BCE wants [0, 1], hinge ±1; L1 and hinge kinks kept away. */
      if (strcmp (which, "loss-2") == 0 && i == c.n_params)
        for (gsize j = 0; j < n; j++)
          data[j] = 0.5f + 0.5f * data[j];
      if (strcmp (which, "loss-3") == 0 && i == c.n_params)
        for (gsize j = 0; j < n; j++)
          data[j] = j % 2 ? 1.0f : -1.0f;
      if ((strcmp (which, "loss-1") == 0 || strcmp (which, "loss-3") == 0) && i == c.n_params)
        {
          g_autofree float *y = g_new (float, n);

          /* y = target + 0.5 or so: never at the kink of |y − t| or 1 − t·y */
          for (gsize j = 0; j < n; j++)
            y[j] = data[j] * (strcmp (which, "loss-3") == 0 ? 0.5f : 1.0f)
                   + (j % 3 ? 0.3f : -0.3f);
          g_assert_true (loom_graph_write (c.graph, c.params[0], y, &error));
        }
      if (strcmp (which, "cross-entropy") == 0 && i == c.n_params)      /* labels */
        for (gsize j = 0; j < n; j++)
          data[j] = (float) (g_rand_int_range (rand, 0, 5) - 1);         /* −1 ignored */
      if (strcmp (which, "cross-entropy") == 0 && i == c.n_params + 1)  /* class weights */
        for (gsize j = 0; j < n; j++)
          data[j] = 0.5f + (float) j * 0.5f;
      g_assert_true (loom_graph_write (c.graph, t, data, &error));
    }
  loss_of (&c);
  for (guint run = 0; strcmp (which, "spectral-norm") == 0 && run < 200; run++)
    loss_of (&c);

  for (guint i = 0; i < c.n_params; i++)
    {
      LoomTensor *p = c.params[i];
      gsize n = loom_tensor_get_length (p);
      g_autofree float *value = g_new (float, n);
      g_autofree float *grad = g_new (float, n);
      double scale = 0.0;

      g_assert_true (loom_graph_read (c.graph, p, value, &error));
      g_assert_true (loom_graph_read (c.graph, loom_tensor_get_grad (p), grad, &error));
      for (gsize j = 0; j < n; j++)
        scale = MAX (scale, fabs (grad[j]));
      for (guint s = 0; s < SAMPLES; s++)
        {
          gsize j = (gsize) g_rand_int_range (rand, 0, (gint32) n);
          float keep = value[j], up, down;
          double fd;

          value[j] = keep + EPS;
          loom_graph_write (c.graph, p, value, &error);
          up = loss_of (&c);
          value[j] = keep - EPS;
          loom_graph_write (c.graph, p, value, &error);
          down = loss_of (&c);
          value[j] = keep;
          loom_graph_write (c.graph, p, value, &error);
          fd = ((double) up - down) / (2.0 * EPS);
          if (fabs (fd - grad[j]) > TOLERANCE * MAX (scale, 1e-3))
            g_error ("%s on %s: parameter %u, element %" G_GSIZE_FORMAT ": backward %g, "
                     "finite difference %g", which, loom_device_get_info (device)->name, i, j,
                     grad[j], fd);
        }
    }
  loom_graph_free (c.graph);
  g_rand_free (rand);
}

static void
test_gradcheck (gconstpointer data)
{
  const char *backend = ((const char *const *) data)[0];
  const char *which = ((const char *const *) data)[1];
  LoomDevice *device = strcmp (backend, "cpu") == 0 ? loom_device_open ("cpu", NULL)
                                                    : test_open_vulkan ();

  if (device == NULL)
    return;
  check (device, which);
  test_close (device);
}

int
main (int argc, char **argv)
{
  static const char *graphs[] = {
    "linear", "convT", "concat", "maxpool", "avgpool", "upsample-nearest", "upsample-bilinear",
    "batchnorm", "groupnorm-2", "groupnorm-4", "add-mul", "broadcast", "conv-zero-1-1", "conv-reflect-2-1", "conv-circular-1-2", "conv-zero-2-2",
    "activation-0", "activation-1", "activation-2", "activation-3", "activation-4",
    "cross-entropy", "loss-0", "loss-1", "loss-2", "loss-3", "loss-4", "loss-sum",
    "spectral-norm",
  };
  static const char *backends[] = { "cpu", "vulkan" };

  test_init (&argc, &argv);
  for (guint b = 0; b < G_N_ELEMENTS (backends); b++)
    for (guint i = 0; i < G_N_ELEMENTS (graphs); i++)
      {
        const char **pair = g_new (const char *, 2);
        g_autofree char *path = g_strdup_printf ("/gradcheck/%s/%s", backends[b], graphs[i]);

        pair[0] = backends[b];
        pair[1] = graphs[i];
        g_test_add_data_func_full (path, pair, test_gradcheck, g_free);
      }
  return g_test_run ();
}
