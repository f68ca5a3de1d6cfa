/* gan-runner: Loom's GANs for tools/eval/texture.py (and the other GAN
 * evaluations).
 *
 *   gan-runner train KIND PLANES CHANNELS WIDTH HEIGHT COUNT SECONDS MODEL [DEVICE]
 *       KIND dcgan or texture; PLANES holds COUNT images of CHANNELS × H × W
 *       floats in [0, 1]; trains for SECONDS with the defaults
 *       (LOOM_EVAL_LEVELS, _WIDTH, _LATENT, _CROP, _BATCH, _LR, _LOSS=hinge,
 *       _TURNS=0|1, _SPECTRAL_NORM=1 override them; _BUDGET=1: a DCGAN's
 *       width, batch and rate fitted to SECONDS first; flips and turns are
 *       otherwise the sample's choice) and saves MODEL; prints steps and times.
 *   gan-runner generate MODEL COUNT WIDTH HEIGHT SEED OUT [DEVICE]
 *       COUNT images (count × channels × H × W floats in [0, 1]) into OUT.
 *   gan-runner pix2pix PLANES LABELS CHANNELS WIDTH HEIGHT CLASSES SECONDS MODEL [DEVICE]
 *       label→image from one image and its dense labels (H × W floats).
 *   gan-runner render MODEL LABELS WIDTH HEIGHT SEED OUT [DEVICE]
 *       the image of a label map. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <loom/loom-generative.h>
#include "load.h"

static guint
env_or (const char *name, guint value)
{
  return g_getenv (name) ? (guint) atoi (g_getenv (name)) : value;
}

static gboolean
report (const LoomTrainProgress *p, gpointer data)
{
  if (p->step % 100 == 0)            /* losses "D", "G" */
    fprintf (stderr, "step %u: D %.3f G %.3f\n", p->step, p->losses[0].value,
             p->losses[1].value);
  return TRUE;
}

/* Saves W (consumed) to PATH and prints the seconds since T0 and its
 * provenance as one JSON line, for the scripts. */
static gboolean
save_and_report (LoomWeights *w, const char *path, gint64 t0, GError **error)
{
  gboolean ok = w != NULL && loom_weights_save (w, path, error);

  if (ok)
    printf ("{\"seconds\":%.2f,\"provenance\":%s}\n", (g_get_monotonic_time () - t0) / 1e6,
            loom_weights_get_metadata (w, LOOM_METADATA_PROVENANCE));
  loom_weights_free (w);
  return ok;
}

static gboolean
train (int argc, char **argv, GError **error)
{
  guint channels = (guint) atoi (argv[3]), width = (guint) atoi (argv[4]);
  guint height = (guint) atoi (argv[5]), count = (guint) atoi (argv[6]);
  gboolean dcgan = strcmp (argv[1], "dcgan") == 0;
  gsize per = (gsize) channels * width * height;
  g_autofree float *planes = eval_load (argv[2], per * count, error);
  g_autofree LoomGenerativeImage *images = g_new (LoomGenerativeImage, MAX (count, 1));
  LoomGenerativeConfig c;
  LoomDevice *device;
  LoomWeights *w;
  gint64 t0;

  if (planes == NULL)
    return FALSE;
  device = loom_device_open (argc > 9 ? argv[9] : "cpu", error);
  if (device == NULL)
    return FALSE;
  for (guint i = 0; i < count; i++)
    images[i] = (LoomGenerativeImage) { planes + i * per, width, height, NULL };
  loom_generative_config_init (&c, dcgan ? LOOM_GAN_DCGAN : LOOM_GAN_TEXTURE, channels);
  c.gan.levels = env_or ("LOOM_EVAL_LEVELS", c.gan.levels);
  /* A DCGAN fitted to the time (what `loom train-gan --time` does) where
   * the width, batch and learning rate are not set here. */
  if (dcgan && g_getenv ("LOOM_EVAL_BUDGET"))
    {
      LoomGanBudget fit;

      loom_generative_dcgan_budget (c.gan.levels, channels, atof (argv[7]),
                                    loom_generative_device_gflops (loom_device_get_info (device)),
                                    &fit);
      c.gan.g_width = c.gan.d_width = fit.width;
      c.batch = fit.batch;
      c.learning_rate = fit.learning_rate;
    }
  c.gan.g_width = c.gan.d_width = env_or ("LOOM_EVAL_WIDTH", c.gan.g_width);
  c.gan.latent = env_or ("LOOM_EVAL_LATENT", c.gan.latent);
  c.crop = env_or ("LOOM_EVAL_CROP", c.crop);
  c.batch = env_or ("LOOM_EVAL_BATCH", c.batch);
  if (g_getenv ("LOOM_EVAL_LR"))
    c.learning_rate = (float) atof (g_getenv ("LOOM_EVAL_LR"));
  if (g_strcmp0 (g_getenv ("LOOM_EVAL_LOSS"), "hinge") == 0)
    c.loss = LOOM_GAN_LOSS_HINGE;
  if (g_getenv ("LOOM_EVAL_TURNS"))
    c.turns = atoi (g_getenv ("LOOM_EVAL_TURNS")) != 0;
  if (g_getenv ("LOOM_EVAL_SPECTRAL_NORM"))
    c.gan.spectral_norm = atoi (g_getenv ("LOOM_EVAL_SPECTRAL_NORM")) != 0;
  c.steps = 0;
  c.seconds = atof (argv[7]);
  t0 = g_get_monotonic_time ();
  w = loom_generative_train (device, &c, images, count, NULL, report, NULL, NULL, error);
  loom_device_free (device);
  return save_and_report (w, argv[8], t0, error);
}

static gboolean
pix2pix (int argc, char **argv, GError **error)
{
  guint channels = (guint) atoi (argv[4]), width = (guint) atoi (argv[5]);
  guint height = (guint) atoi (argv[6]);
  g_autofree float *planes = eval_load (argv[2], (gsize) channels * width * height, error);
  g_autofree float *labels = planes ? eval_load (argv[3], (gsize) width * height, error) : NULL;
  LoomGenerativeImage image = { planes, width, height, labels };
  LoomGenerativeConfig c;
  LoomDevice *device;
  LoomWeights *w;
  gint64 t0;

  if (labels == NULL || (device = loom_device_open (argc > 10 ? argv[10] : "cpu", error)) == NULL)
    return FALSE;
  loom_generative_config_init (&c, LOOM_GAN_PIX2PIX, channels);
  c.gan.classes = (guint) atoi (argv[7]);
  c.gan.levels = env_or ("LOOM_EVAL_LEVELS", c.gan.levels);
  c.gan.g_width = env_or ("LOOM_EVAL_WIDTH", c.gan.g_width);
  c.crop = env_or ("LOOM_EVAL_CROP", c.crop);
  c.batch = env_or ("LOOM_EVAL_BATCH", c.batch);
  if (g_getenv ("LOOM_EVAL_LR"))
    c.learning_rate = (float) atof (g_getenv ("LOOM_EVAL_LR"));
  c.steps = 0;
  c.seconds = atof (argv[8]);
  t0 = g_get_monotonic_time ();
  w = loom_generative_train (device, &c, &image, 1, NULL, report, NULL, NULL, error);
  loom_device_free (device);
  return save_and_report (w, argv[9], t0, error);
}

static gboolean
render (int argc, char **argv, GError **error)
{
  guint width = (guint) atoi (argv[4]), height = (guint) atoi (argv[5]);
  g_autofree float *labels = eval_load (argv[3], (gsize) width * height, error);
  LoomWeights *w = labels ? loom_weights_load (argv[2], error) : NULL;
  LoomGanConfig c;
  LoomDevice *device = NULL;
  g_autofree float *out = NULL;
  gboolean ok = FALSE;

  if (w == NULL || !loom_gan_config_from_weights (w, &c, error)
      || (device = loom_device_open (argc > 8 ? argv[8] : "cpu", error)) == NULL)
    goto done;
  out = g_new (float, (gsize) c.channels * width * height);
  ok = loom_generative_render (device, w, labels, width, height, (guint32) atoi (argv[6]), 0,
                               out, error)
    && g_file_set_contents (argv[7], (const char *) out,
                            (gssize) ((gsize) c.channels * width * height * sizeof (float)), error);
done:
  loom_device_free (device);
  loom_weights_free (w);
  return ok;
}

static gboolean
generate (int argc, char **argv, GError **error)
{
  guint count = (guint) atoi (argv[3]), width = (guint) atoi (argv[4]);
  guint height = (guint) atoi (argv[5]);
  LoomWeights *w = loom_weights_load (argv[2], error);
  LoomGanConfig c;
  LoomDevice *device;
  g_autofree float *out = NULL;
  gboolean ok;

  if (w == NULL || !loom_gan_config_from_weights (w, &c, error))
    {
      loom_weights_free (w);
      return FALSE;
    }
  if (c.kind == LOOM_GAN_DCGAN)
    width = height = loom_gan_image_side (&c);
  device = loom_device_open (argc > 8 ? argv[8] : "cpu", error);
  out = g_new (float, (gsize) count * c.channels * width * height);
  ok = device != NULL
    && loom_generative_generate (device, w, count, (guint32) atoi (argv[6]), width, height, 0,
                                 out, NULL, error)
    && g_file_set_contents (argv[7], (const char *) out,
                            (gssize) ((gsize) count * c.channels * width * height * sizeof (float)),
                            error);
  loom_device_free (device);
  loom_weights_free (w);
  return ok;
}

int
main (int argc, char **argv)
{
  g_autoptr (GError) error = NULL;
  gboolean ok;

  if (argc >= 9 && (strcmp (argv[1], "dcgan") == 0 || strcmp (argv[1], "texture") == 0))
    ok = train (argc, argv, &error);
  else if (argc >= 8 && strcmp (argv[1], "generate") == 0)
    ok = generate (argc, argv, &error);
  else if (argc >= 10 && strcmp (argv[1], "pix2pix") == 0)
    ok = pix2pix (argc, argv, &error);
  else if (argc >= 8 && strcmp (argv[1], "render") == 0)
    ok = render (argc, argv, &error);
  else
    {
      fprintf (stderr, "usage: %s dcgan|texture PLANES CHANNELS WIDTH HEIGHT COUNT SECONDS MODEL "
               "[DEVICE]\n       %s generate MODEL COUNT WIDTH HEIGHT SEED OUT [DEVICE]\n"
               "       %s pix2pix PLANES LABELS CHANNELS WIDTH HEIGHT CLASSES SECONDS MODEL "
               "[DEVICE]\n       %s render MODEL LABELS WIDTH HEIGHT SEED OUT [DEVICE]\n",
               argv[0], argv[0], argv[0], argv[0]);
      return 2;
    }
  if (!ok)
    {
      fprintf (stderr, "%s\n", error->message);
      return 1;
    }
  return 0;
}
