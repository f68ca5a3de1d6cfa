#include <stdlib.h>
#include <string.h>

#include "bench.h"
#include <loom/loom-gan.h>
#include <loom/loom-unet.h>

/* Transposed convolutions are named by their own input and output: convT
 * 128→64 4×4 stride 2 on 16×128×16×16 is the gradient of a convolution
 * 64→128 on 16×64×32×32, which is what CONV holds. */
#define CONV(n_, c_, hw_, k_, kernel_, stride_, pad_) {                          \
    .batch = n_, .in_channels = c_, .in_height = hw_, .in_width = hw_,            \
    .out_channels = k_, .kernel_h = kernel_, .kernel_w = kernel_,                 \
    .stride_h = stride_, .stride_w = stride_, .pad_h = pad_, .pad_w = pad_ }

const ConvBench conv_benches[] = {
  { "conv3x3_64_256_fwd", CONV (1, 64, 256, 64, 3, 1, 1), FALSE, FALSE },
  { "conv3x3_64_256_fwdbwd", CONV (1, 64, 256, 64, 3, 1, 1), FALSE, TRUE },
  { "conv3x3_16_256_b4_fwdbwd", CONV (4, 16, 256, 16, 3, 1, 1), FALSE, TRUE },
  { "convT4x4_128_64_fwdbwd", CONV (16, 64, 32, 128, 4, 2, 1), TRUE, TRUE },
};
const guint n_conv_benches = G_N_ELEMENTS (conv_benches);

static void
fill_random (LoomBuffer *buf, GRand *rand, GError **error)
{
  gsize n = loom_buffer_get_length (buf);
  g_autofree float *data = g_new (float, MAX (n, 1));

  for (gsize i = 0; i < n; i++)
    data[i] = (float) g_rand_double_range (rand, -1.0, 1.0);
  loom_buffer_write (buf, 0, n, data, error);
}

/* One step: forward, and with BACKWARD the input, weight and bias gradients.
 * A transposed convolution runs the same three kernels in another order. */
static gboolean
step (const ConvBench *bench, LoomBuffer **t, GError **error)
{
  enum { X, W, B, Y, DY, DX, DW, DB };
  const LoomConv2d *conv = &bench->conv;

  if (bench->transposed)
    /* forward: y' = backward_data(x' = Y) lands in DX's shape; its input
     * gradient is a forward convolution, its weight gradient a weight one. */
    return loom_conv2d_backward_data (conv, t[DX], t[Y], t[W], error)
        && (!bench->backward
            || (loom_conv2d_forward (conv, t[DY], t[X], t[W], NULL, error)
                && loom_conv2d_backward_weight (conv, t[DW], NULL, t[X], t[Y], error)));
  return loom_conv2d_forward (conv, t[Y], t[X], t[W], t[B], error)
      && (!bench->backward
          || (loom_conv2d_backward_data (conv, t[DX], t[DY], t[W], error)
              && loom_conv2d_backward_weight (conv, t[DW], t[DB], t[X], t[DY], error)));
}

gboolean
conv_bench_run (LoomDevice *device, const ConvBench *bench, guint repeat,
                double *ms, double *flops, GError **error)
{
  const LoomConv2d *c = &bench->conv;
  guint oh, ow;
  gsize lengths[8];
  LoomBuffer *t[8] = { NULL };
  GRand *rand = g_rand_new_with_seed (5);
  gboolean ok = FALSE;

  if (!loom_conv2d_output_size (c, &oh, &ow, error))
    return FALSE;
  lengths[0] = lengths[5] = (gsize) c->batch * c->in_channels * c->in_height * c->in_width;
  lengths[1] = lengths[6] = (gsize) c->out_channels * c->in_channels * c->kernel_h * c->kernel_w;
  lengths[2] = lengths[7] = c->out_channels;
  lengths[3] = lengths[4] = (gsize) c->batch * c->out_channels * oh * ow;
  for (guint i = 0; i < 8; i++)
    {
      t[i] = loom_buffer_new (device, lengths[i], error);
      if (t[i] == NULL)
        goto out;
      fill_random (t[i], rand, error);
    }
  *flops = 2.0 * c->batch * c->out_channels * oh * ow * c->in_channels * c->kernel_h
           * c->kernel_w * (bench->backward ? 3 : 1);
  for (guint r = 0; r <= repeat; r++)
    {
      gint64 start = g_get_monotonic_time ();

      if (!step (bench, t, error) || !loom_device_sync (device, error))
        goto out;
      if (r > 0)
        ms[r - 1] = (g_get_monotonic_time () - start) / 1000.0;
    }
  ok = TRUE;
out:
  for (guint i = 0; i < 8; i++)
    loom_buffer_free (t[i]);
  g_rand_free (rand);
  return ok;
}

/* The U-Net of the segmentation issue: 4 poolings, base 16, batch norm,
 * ReLU, RGB in, 4 classes (tools/bench.py times its PyTorch twin). */
static const LoomUNetConfig bench_unet = { 3, 4, 4, 16 };

const ModelBench model_benches[] = {
  { "unet_train_b4_256", 4, 256, TRUE, FALSE },
  { "unet_infer_1024", 1, 1024, FALSE, FALSE },
  { "dcgan_train_b64", 64, 64, TRUE, TRUE },
  { "dcgan_gen_64", 64, 64, FALSE, TRUE },
};

/* The generative issue's DCGAN: 64×64 RGB, latent 100, ngf = ndf = 64. */
static const LoomGanConfig bench_dcgan = { LOOM_GAN_DCGAN, 3, 100, 4, 64, 64, FALSE, 0, FALSE };
const guint n_model_benches = G_N_ELEMENTS (model_benches);

/* Convolution flops of one forward pass. */
static double
unet_flops (const LoomUNetConfig *c, guint n, guint size)
{
  double total = 0;

  for (guint i = 0; i <= c->depth; i++)
    {
      double pixels = (double) n * (size >> i) * (size >> i);
      double w = c->base << i, in = i == 0 ? c->in_channels : w / 2;

      total += 2 * pixels * 9 * (in * w + w * w);
      if (i < c->depth)
        total += 2 * pixels * 9 * ((w + 2 * w) * w + w * w);
    }
  return total + 2.0 * n * size * size * c->base * c->classes;
}

/* Convolution flops of one pass of G (and, with D, of D over one batch). */
static double
dcgan_flops (const LoomGanConfig *c, guint n, gboolean with_d)
{
  double total = 2.0 * n * c->latent * (c->g_width << (c->levels - 1)) * 16;   /* 1 → 4 */
  guint side = 4;

  for (guint i = 1; i <= c->levels; i++, side *= 2)      /* G: each input pixel × 16 taps */
    total += 2.0 * n * side * side * 16 * (c->g_width << (c->levels - i))
             * (i == c->levels ? c->channels : c->g_width << (c->levels - 1 - i));
  for (guint i = 0; with_d && i < c->levels; i++)        /* D: each output pixel × 16 taps */
    {
      double out = (double) (loom_gan_image_side (c) >> (i + 1));

      total += 2.0 * n * out * out * 16 * (c->d_width << i)
               * (i == 0 ? c->channels : c->d_width << (i - 1));
    }
  return total + (with_d ? 2.0 * n * 16 * (c->d_width << (c->levels - 1)) : 0.0);
}

static double
time_runs (LoomDevice *device, LoomGraph *g, guint repeat, double *ms, GError **error)
{
  for (guint r = 0; r <= repeat; r++)
    {
      gint64 start = g_get_monotonic_time ();

      if (!loom_graph_run (g, error) || !loom_device_sync (device, error))
        return FALSE;
      if (r > 0)
        ms[r - 1] = (g_get_monotonic_time () - start) / 1000.0;
    }
  return TRUE;
}

static gboolean
dcgan_bench_run (LoomDevice *device, const ModelBench *bench, guint repeat, double *ms,
                 double *flops, GError **error)
{
  const LoomGanConfig *c = &bench_dcgan;
  guint n = bench->batch, s = loom_gan_image_side (c);
  LoomGraph *g = loom_graph_new ();
  LoomGan *gan = loom_gan_new (g, c, bench->train, error);
  LoomTensor *real = NULL, *fake, *loss = NULL, *ones = NULL, *zeros = NULL;
  g_autofree float *data = NULL;
  GRand *rand = g_rand_new_with_seed (9);
  gboolean ok = FALSE;

  if (gan == NULL)
    goto out;
  fake = loom_gan_generate_layer (gan, loom_graph_noise (g, "z", n, c->latent, 1, 1, TRUE),
                                  bench->train, 0.1f);
  if (bench->train)
    {
      LoomTensor *judged[3];

      real = loom_graph_input (g, "real", n, c->channels, s, s);
      ones = loom_graph_input (g, "ones", n, 1, 1, 1);
      zeros = loom_graph_input (g, "zeros", n, 1, 1, 1);
      judged[0] = loom_gan_judge_layer (gan, real, FALSE);
      judged[1] = loom_gan_judge_layer (gan, loom_graph_detach (g, fake), FALSE);
      judged[2] = loom_gan_judge_layer (gan, fake, TRUE);
      loss = loom_graph_loss_add (g, loom_graph_loss_add (g,
               loom_graph_loss (g, LOOM_LOSS_BCE_WITH_LOGITS, judged[0], ones, FALSE),
               loom_graph_loss (g, LOOM_LOSS_BCE_WITH_LOGITS, judged[1], zeros, FALSE)),
             loom_graph_loss (g, LOOM_LOSS_BCE_WITH_LOGITS, judged[2], ones, FALSE));
      if (!loom_graph_train_adam (g, loss, 2e-4f, 0.5f, 0.999f, 1e-8f, 0.0f, error))
        goto out;
    }
  if (!loom_graph_compile (g, device, error) || !loom_gan_init (gan, 1, error))
    goto out;
  if (bench->train)
    {
      data = g_new (float, loom_tensor_get_length (real));
      for (gsize i = 0; i < loom_tensor_get_length (real); i++)
        data[i] = (float) g_rand_double_range (rand, -1, 1);
      if (!loom_graph_write (g, real, data, error))
        goto out;
      for (gsize i = 0; i < n; i++)
        data[i] = 1.0f, data[n + i] = 0.0f;
      if (!loom_graph_write (g, ones, data, error) || !loom_graph_write (g, zeros, data + n, error))
        goto out;
    }
  /* Training: G forward, D forward three times, backward about twice. */
  *flops = bench->train ? 3 * dcgan_flops (c, n, FALSE) + 3 * 3 * (dcgan_flops (c, n, TRUE)
                                                                  - dcgan_flops (c, n, FALSE))
                        : dcgan_flops (c, n, FALSE);
  ok = time_runs (device, g, repeat, ms, error);
out:
  loom_gan_free (gan);
  loom_graph_free (g);
  g_rand_free (rand);
  return ok;
}

static gboolean
unet_bench_run (LoomDevice *device, const ModelBench *bench, guint repeat,
                double *ms, double *flops, GError **error)
{
  guint n = bench->batch, s = bench->size;
  LoomGraph *g = loom_graph_new ();
  LoomTensor *x = loom_graph_input (g, "x", n, bench_unet.in_channels, s, s);
  LoomTensor *labels = bench->train ? loom_graph_input (g, "labels", n, 1, s, s) : NULL;
  LoomUNet *u = loom_unet_build (g, &bench_unet, x, bench->train, error);
  g_autofree float *data = NULL;
  GRand *rand = g_rand_new_with_seed (9);
  gboolean ok = FALSE;

  if (u == NULL)
    goto out;
  if (bench->train
      && !loom_graph_train_adam (g, loom_graph_cross_entropy (g, loom_unet_get_logits (u), labels,
                                                              NULL, -1),
                                 1e-3f, 0.9f, 0.999f, 1e-8f, 0.0f, error))
    goto out;
  if (!loom_graph_compile (g, device, error) || !loom_unet_init (u, 1, error))
    goto out;
  data = g_new (float, loom_tensor_get_length (x));
  for (gsize i = 0; i < loom_tensor_get_length (x); i++)
    data[i] = (float) g_rand_double (rand);
  if (!loom_graph_write (g, x, data, error))
    goto out;
  if (labels != NULL)
    {
      for (gsize i = 0; i < loom_tensor_get_length (labels); i++)
        data[i] = (float) g_rand_int_range (rand, -1, (gint32) bench_unet.classes);
      if (!loom_graph_write (g, labels, data, error))
        goto out;
    }
  *flops = unet_flops (&bench_unet, n, s) * (bench->train ? 3 : 1);
  ok = time_runs (device, g, repeat, ms, error);
out:
  loom_unet_free (u);
  loom_graph_free (g);
  g_rand_free (rand);
  return ok;
}

gboolean
model_bench_run (LoomDevice *device, const ModelBench *bench, guint repeat,
                 double *ms, double *flops, GError **error)
{
  return bench->gan ? dcgan_bench_run (device, bench, repeat, ms, flops, error)
                    : unet_bench_run (device, bench, repeat, ms, flops, error);
}

/* ---- devices and GEMM timing, for info and bench --------------------- */

/* Every device to run on: each Vulkan device by index, then the CPU.  With
 * BACKEND set, only those of that backend. */
GPtrArray *
bench_device_specs (const char *backend)
{
  GPtrArray *specs = g_ptr_array_new_with_free_func (g_free);
  g_autoptr (GPtrArray) infos = loom_list_devices ();

  for (guint i = 0; i < infos->len; i++)
    {
      const LoomDeviceInfo *info = infos->pdata[i];
      gboolean vulkan = info->backend == LOOM_BACKEND_VULKAN;

      if (backend != NULL && strcmp (backend, vulkan ? "vulkan" : "cpu") != 0)
        continue;
      g_ptr_array_add (specs, vulkan ? g_strdup_printf ("%d", info->index) : g_strdup ("cpu"));
    }
  return specs;
}

static int
compare_double (const void *a, const void *b)
{
  double x = *(const double *) a, y = *(const double *) b;

  return x < y ? -1 : x > y;
}

Timing
bench_timing_of (double *ms, guint n)
{
  qsort (ms, n, sizeof (double), compare_double);
  return (Timing) { n % 2 ? ms[n / 2] : 0.5 * (ms[n / 2 - 1] + ms[n / 2]), ms[0], ms[n - 1] };
}

void
bench_random_floats (float *data, gsize n, guint32 seed)
{
  GRand *rand = g_rand_new_with_seed (seed);

  for (gsize i = 0; i < n; i++)
    data[i] = (float) g_rand_double_range (rand, -1.0, 1.0);
  g_rand_free (rand);
}

/* Times C = A·B (N×N) REPEAT times after one warm-up run. */
gboolean
bench_time_gemm (LoomDevice *device, guint n, guint repeat, Timing *t, float *result, GError **error)
{
  gsize nn = (gsize) n * n;
  g_autofree float *host = g_new (float, nn);
  g_autofree double *ms = g_new (double, repeat);
  LoomBuffer *a = NULL, *b = NULL, *c = NULL;
  gboolean ok = FALSE;

  if ((a = loom_buffer_new (device, nn, error)) == NULL
      || (b = loom_buffer_new (device, nn, error)) == NULL
      || (c = loom_buffer_new (device, nn, error)) == NULL)
    goto out;
  bench_random_floats (host, nn, 1);
  if (!loom_buffer_write (a, 0, nn, host, error))
    goto out;
  bench_random_floats (host, nn, 2);
  if (!loom_buffer_write (b, 0, nn, host, error))
    goto out;
  for (guint r = 0; r <= repeat; r++)
    {
      gint64 start = g_get_monotonic_time ();

      if (!loom_gemm (c, a, b, n, n, n, FALSE, FALSE, 1.0f, 0.0f, error)
          || !loom_device_sync (device, error))
        goto out;
      if (r > 0)
        ms[r - 1] = (g_get_monotonic_time () - start) / 1000.0;
    }
  *t = bench_timing_of (ms, repeat);
  ok = result == NULL || loom_buffer_read (c, 0, nn, result, error);
out:
  loom_buffer_free (a);
  loom_buffer_free (b);
  loom_buffer_free (c);
  return ok;
}
