/* A DCGAN's width, batch and learning rate for a time budget (see
 * loom-generative.h): a cost model of a training step in flops, a
 * device's nominal rate, and the widest network that still makes
 * thousands of steps. */
#include <loom/loom-generative.h>

double
loom_generative_dcgan_step_flops (const LoomGanConfig *c, guint batch)
{
  guint L = c->levels;
  double g = 0.0, d = 0.0;

  g_return_val_if_fail (c != NULL && c->kind == LOOM_GAN_DCGAN && L >= 1 && L < 16, 0.0);
  /* G: transposed 4×4 convolutions, layer i making 4·2^i a side; a stride-2
   * output pixel takes 2×2 of the 16 taps, the first layer (1×1 in) one. */
  for (guint i = 0; i <= L; i++)
    {
      double in = i == 0 ? c->latent : (double) c->g_width * (1u << (L - i));
      double out = i == L ? c->channels : (double) c->g_width * (1u << (L - 1 - i));
      double side = 4.0 * (1u << i);

      g += 2.0 * side * side * in * out * (i == 0 ? 1.0 : 4.0);
    }
  /* D: 4×4 stride-2 convolutions down to 4 a side, then a 4×4 one to 1. */
  for (guint i = 0; i <= L; i++)
    {
      double in = i == 0 ? c->channels + c->classes : (double) c->d_width * (1u << (i - 1));
      double out = i == L ? 1.0 : (double) c->d_width * (1u << i);
      double side = i == L ? 1.0 : 4.0 * (1u << (L - 1 - i));

      d += 2.0 * side * side * in * out * 16.0;
    }
  /* A step: G forward and backward (about three forwards); D forward and
   * backward on three batches (real, G's detached, G's through D frozen). */
  return (double) batch * (3.0 * g + 9.0 * d);
}

double
loom_generative_device_gflops (const LoomDeviceInfo *info)
{
  g_return_val_if_fail (info != NULL, 0.0);
  if (info->backend == LOOM_BACKEND_VULKAN && g_strcmp0 (info->type, "discrete") == 0)
    return 2000.0;
  if (info->backend == LOOM_BACKEND_VULKAN && g_strcmp0 (info->type, "integrated") == 0)
    return 300.0;
  /* The CPU (and CPU-type Vulkan drivers): 50 a core. */
  return 50.0 * g_get_num_processors ();
}

void
loom_generative_dcgan_budget (guint levels, guint channels, double seconds, double gflops,
                              LoomGanBudget *out)
{
  static const guint widths[] = { 64, 48, 32, 24, 16 };
  static const guint batches[] = { 64, 32 };
  LoomGanConfig c = { LOOM_GAN_DCGAN, channels, 100, levels, 0, 0, FALSE, 0, FALSE };

  g_return_if_fail (out != NULL && levels >= 1 && levels < 16);
  *out = (LoomGanBudget) { 16, 32, 2e-4f, 0.0 };
  for (guint i = 0; i < G_N_ELEMENTS (widths); i++)
    for (guint j = 0; j < G_N_ELEMENTS (batches); j++)
      {
        double steps;

        c.g_width = c.d_width = widths[i];
        steps = seconds * gflops * 1e9 / loom_generative_dcgan_step_flops (&c, batches[j]);
        out->steps = steps;
        if (steps >= LOOM_GAN_BUDGET_STEPS)
          {
            out->width = widths[i];
            out->batch = batches[j];
            return;
          }
      }
}
