/* GAN training and generation (see loom-generative.h). */
#include <math.h>
#include <string.h>

#include "budget.h"
#include "crop-map.h"
#include <loom/loom-generative.h>
#include <loom/loom-image.h>
#include <loom/loom-segment.h>
#include "ops/params.h"
#include "ops/philox.h"
#include "op-registry.h"
#include "tiles.h"

void
loom_generative_config_init (LoomGenerativeConfig *c, LoomGanKind kind, guint channels)
{
  gboolean dcgan = kind == LOOM_GAN_DCGAN, pix2pix = kind == LOOM_GAN_PIX2PIX;

  *c = (LoomGenerativeConfig) {
    .gan = { kind, channels, dcgan ? 100 : pix2pix ? 1 : 16, 4, dcgan ? 64 : 16,
             dcgan ? 64 : pix2pix ? 32 : 16, kind == LOOM_GAN_TEXTURE, 0 },
    /* Textures: narrow networks on small crops make the most steps a
     * minute, which is what a short run needs (tools/eval/texture.py). */
    .crop = dcgan ? 64 : pix2pix ? 128 : 64, .batch = dcgan ? 64 : pix2pix ? 4 : 16,
    .steps = dcgan ? 2000 : 1000, .learning_rate = 2e-4f, .beta1 = 0.5f,
    .loss = LOOM_GAN_LOSS_NON_SATURATING, .l1 = pix2pix ? 100.0f : 0.0f,
    .ema = pix2pix ? 0.0f : 0.999f, .seed = 1, .augment = TRUE, .turns = !dcgan,
  };
}

/* ---- training ------------------------------------------------------------ */

static gboolean
check_images (const LoomGenerativeConfig *c, const LoomGenerativeImage *images, guint n_images,
              guint *crop, GError **error)
{
  guint step = 1u << c->gan.levels, smallest = G_MAXUINT;

  if (n_images == 0)
    {
      g_set_error (error, LOOM_ERROR, LOOM_ERROR_INVALID_ARGUMENT, "gan: no images");
      return FALSE;
    }
  for (guint i = 0; i < n_images; i++)
    {
      if (images[i].planes == NULL || images[i].width == 0 || images[i].height == 0)
        {
          g_set_error (error, LOOM_ERROR, LOOM_ERROR_INVALID_ARGUMENT,
                       "gan: image %u has no pixels", i + 1);
          return FALSE;
        }
      if (c->gan.kind == LOOM_GAN_PIX2PIX && images[i].labels == NULL)
        {
          g_set_error (error, LOOM_ERROR, LOOM_ERROR_INVALID_ARGUMENT,
                       "gan: image %u has no label map; a label→image model learns from "
                       "images and their labels", i + 1);
          return FALSE;
        }
      for (gsize j = 0; c->gan.kind == LOOM_GAN_PIX2PIX
                        && j < (gsize) images[i].width * images[i].height; j++)
        if (images[i].labels[j] >= (float) c->gan.classes)
          {
            g_set_error (error, LOOM_ERROR, LOOM_ERROR_INVALID_ARGUMENT,
                         "gan: image %u has label %g; the model has %u classes", i + 1,
                         images[i].labels[j], c->gan.classes);
            return FALSE;
          }
      if (c->gan.kind == LOOM_GAN_DCGAN
          && (images[i].width != loom_gan_image_side (&c->gan)
              || images[i].height != loom_gan_image_side (&c->gan)))
        {
          g_set_error (error, LOOM_ERROR, LOOM_ERROR_INVALID_ARGUMENT,
                       "gan: image %u is %u×%u; this DCGAN learns images of %u×%u",
                       i + 1, images[i].width, images[i].height,
                       loom_gan_image_side (&c->gan), loom_gan_image_side (&c->gan));
          return FALSE;
        }
      smallest = MIN (smallest, MIN (images[i].width, images[i].height));
    }
  *crop = c->gan.kind == LOOM_GAN_DCGAN ? loom_gan_image_side (&c->gan)
                                        : MIN (c->crop, smallest) / step * step;
  if (*crop < 2 * step)
    {
      g_set_error (error, LOOM_ERROR, LOOM_ERROR_INVALID_ARGUMENT,
                   "gan: an image of %u pixels across is too small for a texture GAN of %u "
                   "levels (at least %u)", smallest, c->gan.levels, 2 * step);
      return FALSE;
    }
  if (c->batch == 0 || (c->steps == 0 && c->seconds <= 0))
    {
      g_set_error (error, LOOM_ERROR, LOOM_ERROR_INVALID_ARGUMENT,
                   "gan: a batch of at least one image and a step count or a time budget "
                   "are needed");
      return FALSE;
    }
  return TRUE;
}

/* What the training loop holds. */
typedef struct
{
  const LoomGenerativeConfig *config;
  const LoomGenerativeImage  *images;
  guint                       n_images, crop;
  float                     **scaled;   /* each image in [−1, 1], as G makes them */
  guint32                    *image_at, *label_at;
  GRand                      *rand;
  LoomGraph                  *graph;
  LoomGan                    *gan;
  GPtrArray                  *averages; /* G's moving averages, or NULL */
} Trainer;

/* The maps of a batch of real crops; without atlases (HOST), the crops
 * (and their labels) cut here into X and LABELS by the op's own reference
 * code. */
static void
sample_batch (Trainer *t, float *maps, gboolean host, float *x, float *labels)
{
  const LoomGenerativeConfig *c = t->config;
  guint channels = c->gan.channels;
  gsize per = (gsize) t->crop * t->crop;
  float no_labels[1] = { LOOM_UNLABELLED };

  for (guint i = 0; i < c->batch; i++)
    {
      guint k = (guint) g_rand_int_range (t->rand, 0, (gint32) t->n_images);
      const LoomGenerativeImage *im = &t->images[k];
      guint x0 = (guint) g_rand_int_range (t->rand, 0, (gint32) (im->width - t->crop + 1));
      guint y0 = (guint) g_rand_int_range (t->rand, 0, (gint32) (im->height - t->crop + 1));
      guint turn = c->augment && c->turns ? (guint) g_rand_int_range (t->rand, 0, 4) : 0;
      gboolean flip = c->augment && g_rand_boolean (t->rand);
      float *m = maps + i * LOOM_AFFINE_FLOATS;

      loom_crop_map (m, t->crop, x0, y0, turn, flip, 0.0, 1.0, 0.0);
      loom_crop_map_source (m, host ? 0 : t->image_at[k], host ? 0 : t->label_at[k], im->width,
                            im->height);
      if (host)
        {
          LoomAffineParams p = { 1, channels, t->crop,
                                 (guint32) MIN ((gsize) channels * im->width * im->height,
                                                G_MAXUINT32),
                                 im->labels ? (guint32) MIN ((gsize) im->width * im->height,
                                                             G_MAXUINT32) : 1 };
          float *const b[] = { x + i * channels * per, labels + i * per, t->scaled[k],
                               im->labels ? (float *) im->labels : no_labels, m };

          loom_op_affine_sample.reference (&p, b);
        }
    }
}

static char *
provenance (const Trainer *t, guint steps)
{
  const LoomGenerativeConfig *c = t->config;

  return g_strdup_printf ("{\"task\":\"gan\",\"images\":%u,\"steps\":%u,\"crop\":%u,"
                          "\"batch\":%u,\"seed\":%u,\"learning_rate\":%g,\"loss\":\"%s\","
                          "\"ema\":%g,\"loom\":\"%s\"}",
                          t->n_images, steps, t->crop, c->batch, c->seed, c->learning_rate,
                          c->loss == LOOM_GAN_LOSS_HINGE ? "hinge" : "non-saturating",
                          c->ema, LOOM_VERSION);
}

static LoomWeights *
snapshot (Trainer *t, guint steps, GError **error)
{
  LoomWeights *w = loom_weights_new ();
  g_autofree char *prov = provenance (t, steps);

  if (!loom_gan_store_averaged (t->gan, t->averages, w, error))
    {
      loom_weights_free (w);
      return NULL;
    }
  loom_weights_set_metadata (w, LOOM_METADATA_PROVENANCE, prov);
  if (t->config->colors != NULL)
    loom_segment_set_classes (w, t->config->colors, NULL);
  return w;
}

/* The averaged G never ran, so the running statistics of its batch norms
 * are the live G's.  Recomputes them: the averaged G in training mode on
 * RUNS batches of fresh noise, statistics averaged over all of them.
 * Returns WEIGHTS with those statistics in place of the old ones. */
static LoomWeights *
recalibrate (LoomDevice *device, const Trainer *t, LoomWeights *weights, GError **error)
{
  const LoomGanConfig *c = &t->config->gan;
  guint side = c->kind == LOOM_GAN_DCGAN ? 1 : t->crop >> c->levels;
  LoomGraph *g = loom_graph_new ();
  LoomTensor *z = loom_graph_noise (g, "z", t->config->batch, c->latent, side, side, TRUE);
  LoomGan *gan = loom_gan_new (g, c, FALSE, error);
  LoomWeights *out = NULL, *result = NULL;

  if (gan == NULL)
    goto done;
  loom_gan_generate_layer (gan, z, TRUE, -1e-9f);     /* a cumulative average */
  if (!loom_graph_compile (g, device, error) || !loom_gan_load (gan, weights, error))
    goto done;
  loom_graph_set_seed (g, t->config->seed ^ 0x5EC0DEu);
  for (guint run = 0; run < 16; run++)
    if (!loom_graph_run (g, error))
      goto done;
  out = loom_weights_new ();
  if (!loom_gan_store (gan, out, error))
    goto done;
  /* Everything else as it was: D, the live G, the metadata. */
  for (const char *const *name = loom_weights_get_names (weights); *name != NULL; name++)
    {
      guint n_dims;
      const guint64 *shape;
      const float *data = loom_weights_lookup (weights, *name, &n_dims, &shape);

      if (loom_weights_lookup (out, *name, NULL, NULL) == NULL
          && !loom_weights_add (out, *name, n_dims, shape, data, error))
        goto done;
    }
  loom_weights_set_metadata (out, LOOM_METADATA_PROVENANCE,
                             loom_weights_get_metadata (weights, LOOM_METADATA_PROVENANCE));
  result = g_steal_pointer (&out);
done:
  loom_weights_free (out);
  loom_gan_free (gan);
  loom_graph_free (g);
  return result;
}

/* The loss terms' targets: a tensor shaped like LOGITS filled with VALUE,
 * written once. */
static LoomTensor *
target_like (LoomGraph *g, LoomTensor *logits, const char *name)
{
  guint n, c, h, w;

  loom_tensor_get_shape (logits, &n, &c, &h, &w);
  return loom_graph_input (g, name, n, c, h, w);
}

static gboolean
fill (LoomGraph *g, LoomTensor *t, float value, GError **error)
{
  gsize n = loom_tensor_get_length (t);
  g_autofree float *data = g_new (float, n);

  for (gsize i = 0; i < n; i++)
    data[i] = value;
  return loom_graph_write (g, t, data, error);
}

LoomWeights *
loom_generative_train (LoomDevice *device, const LoomGenerativeConfig *config,
                       const LoomGenerativeImage *images, guint n_images, LoomWeights *start,
                       LoomGenerativeProgress progress, gpointer data, GCancellable *cancellable,
                       GError **error)
{
  LoomGenerativeConfig c = *config;
  Trainer t = { &c, images, n_images, 0, NULL, NULL, NULL, NULL, NULL, NULL, NULL };
  LoomTensor *atlas = NULL, *label_atlas = NULL, *maps = NULL, *real, *crop_labels = NULL;
  LoomTensor *z, *fake, *judged[3], *targets[3], *d_loss, *g_loss, *total, *lambda = NULL;
  LoomTensor *seen[3], *condition = NULL, *ema_rate = NULL, *r1_scale = NULL, *r1_target = NULL;
  LoomTensor *r1_loss = NULL;
  float r1_values[3] = { 0 };
  g_autofree float *mb = NULL, *xb = NULL, *lb = NULL;
  guint64 label_floats = 0;
  gboolean pix2pix;
  g_autoptr (GPtrArray) live = NULL;
  LoomWeights *result = NULL;
  guint64 atlas_floats = 0;
  gboolean on_device, hinge;
  double d_average = 1.0;
  gint64 began;
  guint step = 0, side;

  g_return_val_if_fail (device != NULL && config != NULL && images != NULL, NULL);
  if (start != NULL && !loom_gan_config_from_weights (start, &c.gan, error))
    return NULL;
  if (!check_images (&c, images, n_images, &t.crop, error))
    return NULL;
  for (guint i = 0; i < n_images; i++)
    if (images[i].width < t.crop || images[i].height < t.crop)
      {
        g_set_error (error, LOOM_ERROR, LOOM_ERROR_INVALID_ARGUMENT,
                     "gan: image %u (%u×%u) is smaller than the crops (%u)", i + 1,
                     images[i].width, images[i].height, t.crop);
        return NULL;
      }
  hinge = c.loss == LOOM_GAN_LOSS_HINGE;
  pix2pix = c.gan.kind == LOOM_GAN_PIX2PIX;
  side = c.gan.kind == LOOM_GAN_DCGAN ? 1 : pix2pix ? t.crop : t.crop >> c.gan.levels;

  /* The images in [−1, 1], packed one after another. */
  t.scaled = g_new0 (float *, n_images);
  t.image_at = g_new (guint32, n_images);
  t.label_at = g_new0 (guint32, n_images);
  for (guint i = 0; i < n_images; i++)
    {
      gsize n = (gsize) c.gan.channels * images[i].width * images[i].height;

      t.scaled[i] = g_new (float, n);
      for (gsize j = 0; j < n; j++)
        t.scaled[i][j] = 2.0f * images[i].planes[j] - 1.0f;
      t.image_at[i] = (guint32) MIN (atlas_floats, G_MAXUINT32);
      atlas_floats += n;
      if (pix2pix)
        {
          t.label_at[i] = (guint32) MIN (label_floats, G_MAXUINT32);
          label_floats += (gsize) images[i].width * images[i].height;
        }
    }
  on_device = atlas_floats * sizeof (float) <= loom_device_get_max_binding (device)
           && atlas_floats <= G_MAXUINT32 && !g_getenv ("LOOM_HOST_CROPS");
  t.rand = g_rand_new_with_seed (c.seed);
  t.graph = loom_graph_new ();
  if (on_device)
    {
      atlas = loom_graph_input (t.graph, "image atlas", 1, 1, 1, (guint) atlas_floats);
      /* Without labels, one value the maps never fit: crops come unlabelled. */
      label_atlas = loom_graph_input (t.graph, "label atlas", 1, 1, 1,
                                      (guint) MAX (label_floats, 1));
      maps = loom_graph_input (t.graph, "crop maps", c.batch, LOOM_AFFINE_FLOATS, 1, 1);
      loom_graph_affine_sample (t.graph, atlas, label_atlas, maps, c.batch, c.gan.channels,
                                t.crop, &real, &crop_labels);
    }
  else
    {
      real = loom_graph_input (t.graph, "real", c.batch, c.gan.channels, t.crop, t.crop);
      crop_labels = loom_graph_input (t.graph, "labels", c.batch, 1, t.crop, t.crop);
    }

  /* D on real images, on G's detached, and frozen on G's: one loss. */
  t.gan = loom_gan_new (t.graph, &c.gan, TRUE, error);
  if (t.gan == NULL)
    goto out;
  z = c.gan.latent > 0 ? loom_graph_noise (t.graph, "z", c.batch, c.gan.latent, side, side, TRUE)
                       : NULL;
  /* pix2pix: G sees the labels (and noise), D the labels beside each image. */
  if (pix2pix)
    {
      condition = loom_graph_one_hot (t.graph, crop_labels, c.gan.classes);
      z = z != NULL ? loom_graph_concat (t.graph, condition, z) : condition;
    }
  fake = loom_gan_generate_layer (t.gan, z, TRUE, 0.1f);
  seen[0] = real;
  seen[1] = loom_graph_detach (t.graph, fake);
  seen[2] = fake;
  for (guint i = 0; i < 3; i++)
    judged[i] = loom_gan_judge_layer (t.gan, pix2pix ? loom_graph_concat (t.graph, condition,
                                                                          seen[i])
                                                     : seen[i], i == 2);
  for (guint i = 0; i < 3; i++)
    targets[i] = target_like (t.graph, judged[i], i == 1 ? "fake target" : "real target");
  d_loss = loom_graph_loss_add (t.graph,
                                loom_graph_loss (t.graph, hinge ? LOOM_LOSS_HINGE
                                                                : LOOM_LOSS_BCE_WITH_LOGITS,
                                                 judged[0], targets[0], FALSE),
                                loom_graph_loss (t.graph, hinge ? LOOM_LOSS_HINGE
                                                                : LOOM_LOSS_BCE_WITH_LOGITS,
                                                 judged[1], targets[1], FALSE));
  g_loss = loom_graph_loss (t.graph, hinge ? LOOM_LOSS_LINEAR : LOOM_LOSS_BCE_WITH_LOGITS,
                            judged[2], targets[2], FALSE);
  if (pix2pix && c.l1 > 0.0f)   /* λ·mean |G(labels) − image|, as λ·G against λ·image */
    {
      lambda = loom_graph_input (t.graph, "L1 weight", 1, 1, 1, 1);
      g_loss = loom_graph_loss_add (t.graph, g_loss,
                                    loom_graph_loss (t.graph, LOOM_LOSS_L1,
                                                     loom_graph_mul (t.graph, fake, lambda),
                                                     loom_graph_mul (t.graph, real, lambda),
                                                     FALSE));
    }
  /* R1 by finite differences: (D(x + εδ) − D(x))·√(γ/2)/ε against 0. */
  if (c.r1 > 0.0f)
    {
      const float eps = 0.01f;
      guint n, ch, h, w;
      LoomTensor *delta, *noised, *gap;

      loom_tensor_get_shape (real, &n, &ch, &h, &w);
      r1_scale = loom_graph_input (t.graph, "R1 scales", 1, 3, 1, 1);
      delta = loom_graph_noise (t.graph, "R1 directions", n, ch, h, w, TRUE);
      noised = loom_graph_add (t.graph, real,
                               loom_graph_mul (t.graph, delta,
                                               loom_graph_slice_channels (t.graph, r1_scale, 0, 1)));
      gap = loom_graph_add (t.graph,
                            loom_gan_judge_layer (t.gan, pix2pix ? loom_graph_concat (t.graph,
                                                                                      condition,
                                                                                      noised)
                                                                 : noised, FALSE),
                            loom_graph_mul (t.graph, judged[0],
                                            loom_graph_slice_channels (t.graph, r1_scale, 1, 1)));
      r1_target = target_like (t.graph, gap, "R1 target");
      r1_loss = loom_graph_loss (t.graph, LOOM_LOSS_MSE,
                                 loom_graph_mul (t.graph, gap,
                                                 loom_graph_slice_channels (t.graph, r1_scale, 2, 1)),
                                 r1_target, FALSE);
      r1_values[0] = eps;
      r1_values[1] = -1.0f;
      r1_values[2] = sqrtf (c.r1 / 2.0f) / eps;
    }
  total = loom_graph_loss_add (t.graph, d_loss, g_loss);
  if (r1_loss != NULL)          /* D's reported loss stays its classification's */
    total = loom_graph_loss_add (t.graph, total, r1_loss);
  if (c.ema > 0.0f)
    ema_rate = loom_graph_input (t.graph, "average rate", 1, 1, 1, 1);
  if (!loom_graph_train_adam (t.graph, total, c.learning_rate, c.beta1, 0.999f, 1e-8f, 0.0f,
                              error))
    goto out;
  live = loom_gan_generator_parameters (t.gan);
  if (c.ema > 0.0f)
    {
      t.averages = g_ptr_array_new ();
      for (guint i = 0; i < live->len; i++)
        g_ptr_array_add (t.averages, loom_graph_ema (t.graph, live->pdata[i], ema_rate));
    }
  if (!loom_graph_compile (t.graph, device, error)
      || !(start != NULL ? loom_gan_load_averaged (t.gan, t.averages, start, error)
                         : loom_gan_init (t.gan, c.seed, error))
      || !fill (t.graph, targets[0], 1.0f, error)
      || !fill (t.graph, targets[1], hinge ? -1.0f : 0.0f, error)
      || !fill (t.graph, targets[2], 1.0f, error)
      || (lambda != NULL && !fill (t.graph, lambda, c.l1, error))
      || (r1_scale != NULL && (!loom_graph_write (t.graph, r1_scale, r1_values, error)
                               || !fill (t.graph, r1_target, 0.0f, error))))
    goto out;
  /* Fresh weights: the averages start where G starts. */
  if (start == NULL && t.averages != NULL)
    for (guint i = 0; i < live->len; i++)
      {
        g_autofree float *values = g_new (float, loom_tensor_get_length (live->pdata[i]));

        if (!loom_graph_read (t.graph, live->pdata[i], values, error)
            || !loom_graph_write (t.graph, t.averages->pdata[i], values, error))
          goto out;
      }
  loom_graph_set_seed (t.graph, c.seed);
  if (on_device)
    for (guint i = 0; i < n_images; i++)
      if (!loom_graph_write_range (t.graph, atlas, t.image_at[i],
                                   (gsize) c.gan.channels * images[i].width * images[i].height,
                                   t.scaled[i], error)
          || (pix2pix && !loom_graph_write_range (t.graph, label_atlas, t.label_at[i],
                                                  (gsize) images[i].width * images[i].height,
                                                  images[i].labels, error)))
        goto out;

  mb = g_new (float, (gsize) c.batch * LOOM_AFFINE_FLOATS);
  if (!on_device)
    {
      xb = g_new (float, loom_tensor_get_length (real));
      lb = g_new (float, loom_tensor_get_length (crop_labels));
    }
  began = g_get_monotonic_time ();
  for (step = 0; c.steps == 0 || step < c.steps; step++)
    {
      double elapsed = (g_get_monotonic_time () - began) / 1e6, eta;
      float dv, gv;

      if ((c.seconds > 0 && elapsed >= c.seconds) || g_cancellable_is_cancelled (cancellable))
        break;
      sample_batch (&t, mb, !on_device, xb, lb);
      /* The average's decay warms up, (1 + s)/(10 + s) until the set one:
       * a short run is not an average of its first weights. */
      if (ema_rate != NULL)
        {
          float rate = 1.0f - MIN (c.ema, (1.0f + step) / (10.0f + step));

          if (!loom_graph_write (t.graph, ema_rate, &rate, error))
            goto out;
        }
      if ((on_device ? !loom_graph_write (t.graph, maps, mb, error)
                     : !loom_graph_write (t.graph, real, xb, error)
                       || !loom_graph_write (t.graph, crop_labels, lb, error))
          || !loom_graph_run (t.graph, error) || !loom_graph_read (t.graph, d_loss, &dv, error)
          || !loom_graph_read (t.graph, g_loss, &gv, error))
        goto out;
      /* The divergence guard: no weights rather than noise. */
      if (!isfinite (dv) || !isfinite (gv))
        {
          g_set_error (error, LOOM_ERROR, LOOM_ERROR_FAILED,
                       "gan: training diverged at step %u (discriminator loss %g, generator "
                       "loss %g); try a lower learning rate", step + 1, dv, gv);
          goto out;
        }
      d_average = 0.98 * d_average + 0.02 * dv;
      if (step >= 200 && d_average < 1e-3)
        {
          g_set_error (error, LOOM_ERROR, LOOM_ERROR_FAILED,
                       "gan: the discriminator tells every generated image apart (its loss "
                       "%.2g at step %u): the generator has collapsed; try a lower learning "
                       "rate or more images", d_average, step + 1);
          goto out;
        }
      elapsed = (g_get_monotonic_time () - began) / 1e6;
      eta = loom_budget_eta (step + 1, c.steps, c.seconds, elapsed);
      if (c.checkpoint != NULL && c.checkpoint_every > 0 && (step + 1) % c.checkpoint_every == 0)
        {
          LoomWeights *w = snapshot (&t, step + 1, error);
          gboolean saved = w != NULL && loom_weights_save (w, c.checkpoint, error);

          loom_weights_free (w);
          if (!saved)
            goto out;
        }
      if (progress != NULL && !progress (step + 1, c.steps, dv, gv, eta, data))
        {
          step++;
          break;
        }
    }
  {
    LoomWeights *w = snapshot (&t, step, error);

    /* Only an averaged G needs its statistics recomputed (and pix2pix's
     * would need label maps: it saves the live G). */
    if (w != NULL && t.averages != NULL && !pix2pix)
      {
        result = recalibrate (device, &t, w, error);
        loom_weights_free (w);
      }
    else
      result = w;
  }
out:
  loom_gan_free (t.gan);
  loom_graph_free (t.graph);
  if (t.averages != NULL)
    g_ptr_array_unref (t.averages);
  for (guint i = 0; i < n_images && t.scaled != NULL; i++)
    g_free (t.scaled[i]);
  g_free (t.scaled);
  g_free (t.image_at);
  g_free (t.label_at);
  if (t.rand != NULL)
    g_rand_free (t.rand);
  return result;
}

/* ---- generation ------------------------------------------------------------ */

/* Image I's noise (latent × H × W normal values) from SEED + I alone. */
static void
draw_noise (guint32 seed, guint latent, guint h, guint w, float *z)
{
  gsize n = (gsize) latent * h * w;

  for (gsize i = 0; i < n; i++)
    {
      guint32 a, b;

      loom_philox_draw (seed, 0x6E015Eu, i, &a, &b);
      z[i] = sqrtf (-2.0f * logf ((float) ((a >> 8) + 1) * (1.0f / 16777216.0f)))
             * cosf (6.2831853f * loom_uniform_of (b));
    }
}

/* Along one axis of NOISE noise pixels: where the region (REGION long) that
 * a tile starting at AT runs over starts — MARGIN before it, wrapping
 * around when TILEABLE, else kept inside so that the image's own edges
 * are the region's. */
static gint64
region_start (guint at, guint noise, guint region, guint margin, gboolean tileable)
{
  if (region >= noise)
    return 0;
  if (tileable)
    return (gint64) at - margin;
  return CLAMP ((gint64) at - margin, 0, (gint64) noise - region);
}

/* A DCGAN's COUNT images, a batch of up to 64 at a time (batch norm in
 * evaluation: an image does not depend on its batch). */
static gboolean
generate_images (LoomDevice *device, LoomWeights *weights, const LoomGanConfig *c, guint count,
                 guint32 seed, float *out, GCancellable *cancellable, GError **error)
{
  guint batch = MAX (MIN (count, 64u), 1u), side = loom_gan_image_side (c);
  gsize per = (gsize) c->channels * side * side;
  LoomGraph *g = loom_graph_new ();
  LoomTensor *z = loom_graph_input (g, "z", batch, c->latent, 1, 1), *image;
  LoomGan *gan = loom_gan_new (g, c, FALSE, error);
  g_autofree float *noise = g_new (float, (gsize) batch * c->latent);
  g_autofree float *y = g_new (float, batch * per);
  gboolean ok = FALSE;

  if (gan == NULL)
    goto out;
  image = loom_gan_generate_layer (gan, z, FALSE, 0.1f);
  if (!loom_graph_compile (g, device, error) || !loom_gan_load (gan, weights, error))
    goto out;
  for (guint done = 0; done < count; done += batch)
    {
      guint n = MIN (batch, count - done);

      if (g_cancellable_set_error_if_cancelled (cancellable, error))
        goto out;
      for (guint k = 0; k < batch; k++)
        draw_noise (seed + done + MIN (k, n - 1), c->latent, 1, 1, noise + (gsize) k * c->latent);
      if (!loom_graph_write (g, z, noise, error) || !loom_graph_run (g, error)
          || !loom_graph_read (g, image, y, error))
        goto out;
      for (gsize i = 0; i < n * per; i++)
        out[done * per + i] = 0.5f * y[i] + 0.5f;
    }
  ok = TRUE;
out:
  loom_gan_free (gan);
  loom_graph_free (g);
  return ok;
}

gboolean
loom_generative_generate (LoomDevice *device, LoomWeights *weights, guint count, guint32 seed,
                          guint width, guint height, guint tile, float *out,
                          GCancellable *cancellable, GError **error)
{
  const guint margin = 2;       /* noise pixels: more than G's reach (< 1) */
  LoomGanConfig c;
  LoomGraph *g = NULL;
  LoomGan *gan = NULL;
  LoomTensor *z, *image;
  guint zh, zw, rh, rw, scale, full_h, full_w;
  g_autofree float *noise = NULL, *zt = NULL, *yt = NULL, *full = NULL;
  gboolean ok = FALSE;

  g_return_val_if_fail (device != NULL && weights != NULL && out != NULL, FALSE);
  if (!loom_gan_config_from_weights (weights, &c, error))
    return FALSE;
  if (c.kind == LOOM_GAN_PIX2PIX)
    {
      g_set_error (error, LOOM_ERROR, LOOM_ERROR_INVALID_ARGUMENT,
                   "generate: a label→image model needs a label map to paint");
      return FALSE;
    }
  if (c.kind == LOOM_GAN_DCGAN)
    {
      guint side = loom_gan_image_side (&c);

      if ((width != 0 && width != side) || (height != 0 && height != side))
        {
          g_set_error (error, LOOM_ERROR, LOOM_ERROR_INVALID_ARGUMENT,
                       "generate: this DCGAN makes %u×%u images, not %u×%u", side, side,
                       width, height);
          return FALSE;
        }
      return generate_images (device, weights, &c, count, seed, out, cancellable, error);
    }
  if (width == 0 || height == 0 || width > 65536 || height > 65536)
    {
      g_set_error (error, LOOM_ERROR, LOOM_ERROR_INVALID_ARGUMENT,
                   "generate: a texture of %u×%u is not possible (1–65536 a side)",
                   width, height);
      return FALSE;
    }
  scale = 1u << c.levels;
  tile = tile == 0 ? 32 : tile;
  zh = loom_gan_noise_side (&c, height);
  zw = loom_gan_noise_side (&c, width);
  rh = MIN (tile + 2 * margin, zh);
  rw = MIN (tile + 2 * margin, zw);
  full_h = zh * scale;
  full_w = zw * scale;
  g = loom_graph_new ();
  z = loom_graph_input (g, "z", 1, c.latent, rh, rw);
  gan = loom_gan_new (g, &c, FALSE, error);
  if (gan == NULL)
    goto out;
  image = loom_gan_generate_layer (gan, z, FALSE, 0.1f);
  if (!loom_graph_compile (g, device, error) || !loom_gan_load (gan, weights, error))
    goto out;
  noise = g_new (float, (gsize) c.latent * zh * zw);
  zt = g_new (float, (gsize) c.latent * rh * rw);
  yt = g_new (float, (gsize) c.channels * rh * scale * rw * scale);
  full = g_new (float, (gsize) c.channels * full_h * full_w);
  for (guint i = 0; i < count; i++)
    {
      guint step_y = rh == zh ? zh : tile, step_x = rw == zw ? zw : tile;

      draw_noise (seed + i, c.latent, zh, zw, noise);
      for (guint ty = 0; ty < zh; ty += step_y)
        for (guint tx = 0; tx < zw; tx += step_x)
          {
            gint64 y0 = region_start (ty, zh, rh, margin, c.tileable);
            gint64 x0 = region_start (tx, zw, rw, margin, c.tileable);
            guint keep_h = MIN (step_y, zh - ty) * scale, keep_w = MIN (step_x, zw - tx) * scale;

            if (g_cancellable_set_error_if_cancelled (cancellable, error))
              goto out;
            /* The region's noise, wrapped around (tileable) or inside. */
            for (guint ch = 0; ch < c.latent; ch++)
              for (guint v = 0; v < rh; v++)
                for (guint q = 0; q < rw; q++)
                  {
                    gint64 sy = ((y0 + v) % zh + zh) % zh, sx = ((x0 + q) % zw + zw) % zw;

                    zt[((gsize) ch * rh + v) * rw + q]
                      = noise[((gsize) ch * zh + (gsize) sy) * zw + (gsize) sx];
                  }
            if (!loom_graph_write (g, z, zt, error) || !loom_graph_run (g, error)
                || !loom_graph_read (g, image, yt, error))
              goto out;
            /* Keep the tile's own pixels, away from the region's edges. */
            for (guint ch = 0; ch < c.channels; ch++)
              for (guint v = 0; v < keep_h; v++)
                {
                  gsize from = ((gsize) ch * rh * scale + (gsize) (ty - y0) * scale + v) * rw * scale
                               + (gsize) (tx - x0) * scale;
                  gsize to = ((gsize) ch * full_h + (gsize) ty * scale + v) * full_w
                             + (gsize) tx * scale;

                  memcpy (full + to, yt + from, keep_w * sizeof (float));
                }
          }
      /* [−1, 1] → [0, 1], cut to the size asked for. */
      for (guint ch = 0; ch < c.channels; ch++)
        for (guint v = 0; v < height; v++)
          for (guint q = 0; q < width; q++)
            out[(((gsize) i * c.channels + ch) * height + v) * width + q]
              = 0.5f * full[((gsize) ch * full_h + v) * full_w + q] + 0.5f;
    }
  ok = TRUE;
out:
  loom_gan_free (gan);
  loom_graph_free (g);
  return ok;
}

/* ---- label → image ------------------------------------------------------- */

gboolean
loom_generative_render (LoomDevice *device, LoomWeights *weights, const float *labels,
                        guint width, guint height, guint32 seed, guint tile, float *out,
                        GError **error)
{
  LoomGanConfig c;
  LoomGraph *g = NULL;
  LoomGan *gan = NULL;
  LoomTensor *lab, *z = NULL, *input, *image;
  g_autoptr (GArray) ys = NULL, xs = NULL;
  g_autofree float *padded = NULL, *noise = NULL, *lt = NULL, *zt = NULL, *y = NULL;
  g_autofree float *acc = NULL, *norm = NULL;
  guint step, ph, pw, th, tw, overlap;
  gboolean ok = FALSE;

  g_return_val_if_fail (device != NULL && weights != NULL && labels != NULL && out != NULL, FALSE);
  if (!loom_gan_config_from_weights (weights, &c, error))
    return FALSE;
  if (c.kind != LOOM_GAN_PIX2PIX || width == 0 || height == 0 || width > 65536
      || height > 65536)
    {
      g_set_error (error, LOOM_ERROR, LOOM_ERROR_INVALID_ARGUMENT,
                   c.kind != LOOM_GAN_PIX2PIX
                   ? "generate: this model makes images from noise, not from labels"
                   : "generate: a label map of %u×%u is not possible (1–65536 a side)",
                   width, height);
      return FALSE;
    }
  /* The U-Net wants sides that are multiples of 2^levels: the labels'
   * edges repeated out to them, the image cut back.  Larger maps run in
   * overlapping tiles, blended (as segmentation's prediction). */
  step = 1u << c.levels;
  ph = (height + step - 1) / step * step;
  pw = (width + step - 1) / step * step;
  tile = MAX ((tile == 0 ? 512 : tile) / step * step, 2 * step);
  th = MIN (tile, ph);
  tw = MIN (tile, pw);
  overlap = MIN (MIN (th, tw) / 4, 32);
  ys = loom_tile_origins (ph, th, th - 2 * overlap);
  xs = loom_tile_origins (pw, tw, tw - 2 * overlap);
  padded = g_new (float, (gsize) ph * pw);
  for (guint v = 0; v < ph; v++)
    for (guint q = 0; q < pw; q++)
      padded[(gsize) v * pw + q] = labels[(gsize) MIN (v, height - 1) * width + MIN (q, width - 1)];
  g = loom_graph_new ();
  lab = loom_graph_input (g, "labels", 1, 1, th, tw);
  input = loom_graph_one_hot (g, lab, c.classes);
  if (c.latent > 0)
    {
      z = loom_graph_input (g, "z", 1, c.latent, th, tw);
      input = loom_graph_concat (g, input, z);
    }
  gan = loom_gan_new (g, &c, FALSE, error);
  if (gan == NULL)
    goto out;
  image = loom_gan_generate_layer (gan, input, FALSE, 0.1f);
  if (!loom_graph_compile (g, device, error) || !loom_gan_load (gan, weights, error))
    goto out;
  if (z != NULL)                /* the whole map's noise: tiles agree where they overlap */
    {
      noise = g_new (float, (gsize) c.latent * ph * pw);
      draw_noise (seed, c.latent, ph, pw, noise);
      zt = g_new (float, (gsize) c.latent * th * tw);
    }
  lt = g_new (float, (gsize) th * tw);
  y = g_new (float, (gsize) c.channels * th * tw);
  acc = g_new0 (float, (gsize) c.channels * ph * pw);
  norm = g_new0 (float, (gsize) ph * pw);
  for (guint ty = 0; ty < ys->len; ty++)
    for (guint tx = 0; tx < xs->len; tx++)
      {
        guint y0 = g_array_index (ys, guint, ty), x0 = g_array_index (xs, guint, tx);

        for (guint v = 0; v < th; v++)
          {
            memcpy (lt + (gsize) v * tw, padded + (gsize) (y0 + v) * pw + x0, tw * sizeof (float));
            for (guint ch = 0; z != NULL && ch < c.latent; ch++)
              memcpy (zt + ((gsize) ch * th + v) * tw,
                      noise + ((gsize) ch * ph + y0 + v) * pw + x0, tw * sizeof (float));
          }
        if (!loom_graph_write (g, lab, lt, error)
            || (z != NULL && !loom_graph_write (g, z, zt, error))
            || !loom_graph_run (g, error) || !loom_graph_read (g, image, y, error))
          goto out;
        for (guint v = 0; v < th; v++)
          for (guint q = 0; q < tw; q++)
            {
              float w = loom_tile_ramp (v, th, overlap, ty > 0, ty + 1 < ys->len)
                      * loom_tile_ramp (q, tw, overlap, tx > 0, tx + 1 < xs->len);
              gsize at = (gsize) (y0 + v) * pw + x0 + q;

              for (guint ch = 0; ch < c.channels; ch++)
                acc[(gsize) ch * ph * pw + at] += w * y[((gsize) ch * th + v) * tw + q];
              norm[at] += w;
            }
      }
  for (guint ch = 0; ch < c.channels; ch++)
    for (guint v = 0; v < height; v++)
      for (guint q = 0; q < width; q++)
        {
          gsize at = (gsize) v * pw + q;

          out[((gsize) ch * height + v) * width + q]
            = 0.5f * acc[(gsize) ch * ph * pw + at] / norm[at] + 0.5f;
        }
  ok = TRUE;
out:
  loom_gan_free (gan);
  loom_graph_free (g);
  return ok;
}
