/* GAN training (see loom-generative.h), on the trainers' scaffold
 * (trainer.h). */
#include <math.h>
#include <string.h>

#include "crop-map.h"
#include <loom/loom-generative.h>
#include <loom/loom-segment.h>
#include "ops/params.h"
#include "trainer.h"

void
loom_generative_config_init (LoomGenerativeConfig *c, LoomGanKind kind, guint channels)
{
  gboolean dcgan = kind == LOOM_GAN_DCGAN, pix2pix = kind == LOOM_GAN_PIX2PIX;

  *c = (LoomGenerativeConfig) {
    .gan = { kind, channels, dcgan ? 100 : pix2pix ? 1 : 16, 4, dcgan ? 64 : 16,
             dcgan ? 64 : pix2pix ? 32 : 16, kind == LOOM_GAN_TEXTURE, 0, FALSE },
    /* Textures: narrow networks on small crops make the most steps a
     * minute, which is what a short run needs (tools/eval/texture.py). */
    .crop = dcgan ? 64 : pix2pix ? 128 : 64, .batch = dcgan ? 64 : pix2pix ? 4 : 16,
    .steps = dcgan ? 2000 : 1000, .learning_rate = 2e-4f, .beta1 = 0.5f,
    .loss = LOOM_GAN_LOSS_NON_SATURATING, .l1 = pix2pix ? 100.0f : 0.0f,
    .ema = pix2pix ? 0.0f : 0.999f, .seed = 1, .augment = TRUE,
    /* A texture keeps its orientation unless its statistics do not. */
    .flip_h = dcgan || pix2pix ? LOOM_AUGMENT_ON : LOOM_AUGMENT_AUTO,
    .turns = dcgan ? LOOM_AUGMENT_OFF : pix2pix ? LOOM_AUGMENT_ON : LOOM_AUGMENT_AUTO,
    .flip_v = dcgan || pix2pix ? LOOM_AUGMENT_OFF : LOOM_AUGMENT_AUTO,  /* pix2pix: turns do it */
    .host_crops = loom_train_host_crops_from_env (),
  };
}

gboolean
loom_generative_config_set_size (LoomGenerativeConfig *c, guint size, GError **error)
{
  guint side;

  if (c->gan.kind == LOOM_GAN_DCGAN)
    {
      /* 4·2^levels: levels 3 to 6 */
      side = size > 0 ? size : 64;
      if ((side & (side - 1)) != 0 || side < 32 || side > 256)
        {
          g_set_error (error, LOOM_ERROR, LOOM_ERROR_INVALID_ARGUMENT,
                       "%u: a DCGAN learns images of 32, 64, 128 or 256 pixels a side", side);
          return FALSE;
        }
      c->gan.levels = (guint) g_bit_nth_lsf (side, -1) - 2;
      return TRUE;
    }
  side = size > 0 ? size : c->crop;
  if (side % (1u << c->gan.levels) != 0 || side < 16 || side > 1024)
    {
      g_set_error (error, LOOM_ERROR, LOOM_ERROR_INVALID_ARGUMENT,
                   "%u: the training crops' side is a multiple of %u from 16 to 1024", side,
                   1u << c->gan.levels);
      return FALSE;
    }
  c->crop = side;
  return TRUE;
}

/* The scaffold's checks of the images, then what a GAN of this kind needs
 * of its examples (labels, a DCGAN's side), the crops and the batch. */
static gboolean
check_examples (const LoomGenerativeConfig *c, const LoomGenerativeImage *images,
                const LoomTrainImage *train_images, guint n_images, guint *crop,
                GError **error)
{
  guint quantum = 1u << c->gan.levels, smallest;
  g_autofree char *model = g_strdup_printf ("a texture GAN of %u levels", c->gan.levels);

  if (!loom_train_check_images ("gan", train_images, n_images, FALSE, &smallest, error))
    return FALSE;
  for (guint i = 0; i < n_images; i++)
    {
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
    }
  /* A DCGAN's crops are its images. */
  return loom_train_check_crop ("gan", c->gan.kind == LOOM_GAN_DCGAN ? loom_gan_image_side (&c->gan)
                                                                     : c->crop,
                                smallest, quantum, model, crop, error)
         && loom_train_check_batch ("gan", c->batch, "image", c->steps, c->seconds, error);
}

/* What the training loop holds. */
typedef struct
{
  const LoomGenerativeConfig *config;
  guint                       n_images, crop;
  float                     **scaled;   /* each image in [−1, 1], as G makes them */
  LoomTrainImage             *images;   /* the scaled images and their labels */
  GRand                      *rand;
  LoomTrainCrops              crops;
  LoomGraph                  *graph;
  LoomGan                    *gan;
  LoomTensor                 *ema_rate, *d_loss, *g_loss;
  GPtrArray                  *averages; /* G's moving averages, or NULL */
  double                      d_average; /* D's loss, smoothed: the collapse guard */
} Trainer;

/* The maps of a batch of real crops: random crops, flips and turns. */
static void
sample_batch (Trainer *t)
{
  const LoomGenerativeConfig *c = t->config;

  for (guint i = 0; i < c->batch; i++)
    {
      guint k = (guint) g_rand_int_range (t->rand, 0, (gint32) t->n_images);
      const LoomTrainImage *im = &t->images[k];
      guint x0 = (guint) g_rand_int_range (t->rand, 0, (gint32) (im->width - t->crop + 1));
      guint y0 = (guint) g_rand_int_range (t->rand, 0, (gint32) (im->height - t->crop + 1));
      guint turn = c->augment && c->turns ? (guint) g_rand_int_range (t->rand, 0, 4) : 0;
      gboolean flip = c->augment && c->flip_h && g_rand_boolean (t->rand);

      /* Upside down is a half turn of the mirror image: V = R²·H. */
      if (c->augment && c->flip_v && g_rand_boolean (t->rand))
        flip = !flip, turn = (turn + 2) % 4;

      loom_crop_map (t->crops.maps + i * LOOM_AFFINE_FLOATS, t->crop, x0, y0, turn, flip, 0.0,
                     1.0, 0.0);
      loom_train_crops_place (&t->crops, i, k);
    }
}

static char *
provenance (const Trainer *t, guint steps)
{
  const LoomGenerativeConfig *c = t->config;

  return g_strdup_printf ("{\"task\":\"gan\",\"images\":%u,\"steps\":%u,\"crop\":%u,"
                          "\"batch\":%u,\"seed\":%u,\"learning_rate\":%g,\"loss\":\"%s\","
                          "\"ema\":%g,\"flip_h\":%s,\"flip_v\":%s,\"turns\":%s,"
                          "\"loom\":\"%s\"}",
                          t->n_images, steps, t->crop, c->batch, c->seed, c->learning_rate,
                          c->loss == LOOM_GAN_LOSS_HINGE ? "hinge" : "non-saturating",
                          c->ema, c->augment && c->flip_h ? "true" : "false",
                          c->augment && c->flip_v ? "true" : "false",
                          c->augment && c->turns ? "true" : "false", LOOM_VERSION);
}

/* The weights after STEPS steps (checkpoints, the result): G's average. */
static LoomWeights *
snapshot (gpointer data, guint steps, GError **error)
{
  Trainer *t = data;
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

static gboolean
train_step (gpointer data, guint step, double done, float *losses, GError **error)
{
  Trainer *t = data;
  const LoomGenerativeConfig *c = t->config;
  float dv, gv;

  sample_batch (t);
  /* The average's decay warms up, (1 + s)/(10 + s) until the set one:
   * a short run is not an average of its first weights. */
  if (t->ema_rate != NULL)
    {
      float rate = 1.0f - MIN (c->ema, (1.0f + step) / (10.0f + step));

      if (!loom_graph_write (t->graph, t->ema_rate, &rate, error))
        return FALSE;
    }
  if (!loom_train_crops_write (&t->crops, t->graph, error)
      || !loom_graph_run (t->graph, error) || !loom_graph_read (t->graph, t->d_loss, &dv, error)
      || !loom_graph_read (t->graph, t->g_loss, &gv, error))
    return FALSE;
  /* The divergence guard: no weights rather than noise. */
  if (!isfinite (dv) || !isfinite (gv))
    {
      g_set_error (error, LOOM_ERROR, LOOM_ERROR_FAILED,
                   "gan: training diverged at step %u (discriminator loss %g, generator "
                   "loss %g); try a lower learning rate", step + 1, dv, gv);
      return FALSE;
    }
  t->d_average = 0.98 * t->d_average + 0.02 * dv;
  if (step >= 200 && t->d_average < 1e-3)
    {
      g_set_error (error, LOOM_ERROR, LOOM_ERROR_FAILED,
                   "gan: the discriminator tells every generated image apart (its loss "
                   "%.2g at step %u): the generator has collapsed; try a lower learning "
                   "rate or more images", t->d_average, step + 1);
      return FALSE;
    }
  losses[0] = dv;
  losses[1] = gv;
  return TRUE;
}

LoomWeights *
loom_generative_train (LoomDevice *device, const LoomGenerativeConfig *config,
                       const LoomGenerativeImage *images, guint n_images, LoomWeights *start,
                       LoomTrainProgressFunc progress, gpointer data, GCancellable *cancellable,
                       GError **error)
{
  static const char *const loss_names[] = { "D", "G" };
  LoomGenerativeConfig c = *config;
  Trainer t = { .config = &c, .n_images = n_images, .d_average = 1.0 };
  LoomTensor *real, *z, *fake, *judged[3], *targets[3], *total, *lambda = NULL;
  LoomTensor *seen[3], *condition = NULL, *r1_scale = NULL, *r1_target = NULL;
  LoomTensor *r1_loss = NULL;
  float r1_values[3] = { 0 };
  gboolean pix2pix, hinge;
  g_autoptr (GPtrArray) live = NULL;
  LoomWeights *w = NULL, *result = NULL;
  guint side;

  g_return_val_if_fail (device != NULL && config != NULL && images != NULL, NULL);
  if (start != NULL && !loom_gan_config_from_weights (start, &c.gan, error))
    return NULL;
  pix2pix = c.gan.kind == LOOM_GAN_PIX2PIX;
  t.images = g_new0 (LoomTrainImage, n_images);
  for (guint i = 0; i < n_images; i++)
    t.images[i] = (LoomTrainImage) { images[i].planes, pix2pix ? images[i].labels : NULL,
                                     images[i].width, images[i].height };
  if (!check_examples (&c, images, t.images, n_images, &t.crop, error))
    goto out;
  loom_generative_config_resolve_orientation (&c, images, n_images, NULL);
  for (guint i = 0; i < n_images; i++)
    if (images[i].width < t.crop || images[i].height < t.crop)
      {
        g_set_error (error, LOOM_ERROR, LOOM_ERROR_INVALID_ARGUMENT,
                     "gan: image %u (%u×%u) is smaller than the crops (%u)", i + 1,
                     images[i].width, images[i].height, t.crop);
        goto out;
      }
  hinge = c.loss == LOOM_GAN_LOSS_HINGE;
  side = c.gan.kind == LOOM_GAN_DCGAN ? 1 : pix2pix ? t.crop : t.crop >> c.gan.levels;

  /* The images in [−1, 1], as G makes them. */
  t.scaled = g_new0 (float *, n_images);
  for (guint i = 0; i < n_images; i++)
    {
      gsize n = (gsize) c.gan.channels * images[i].width * images[i].height;

      t.scaled[i] = g_new (float, n);
      for (gsize j = 0; j < n; j++)
        t.scaled[i][j] = 2.0f * images[i].planes[j] - 1.0f;
      t.images[i].planes = t.scaled[i];
    }
  t.rand = g_rand_new_with_seed (c.seed);
  t.graph = loom_graph_new ();
  loom_train_crops_init (&t.crops, device, t.graph, t.images, n_images, c.gan.channels, t.crop,
                         c.batch, c.host_crops);

  /* D on real images, on G's detached, and frozen on G's: one loss. */
  t.gan = loom_gan_new (t.graph, &c.gan, TRUE, error);
  if (t.gan == NULL)
    goto out;
  z = c.gan.latent > 0 ? loom_graph_noise (t.graph, "z", c.batch, c.gan.latent, side, side, TRUE)
                       : NULL;
  /* pix2pix: G sees the labels (and noise), D the labels beside each image. */
  if (pix2pix)
    {
      condition = loom_graph_one_hot (t.graph, t.crops.labels, c.gan.classes);
      z = z != NULL ? loom_graph_concat (t.graph, condition, z) : condition;
    }
  fake = loom_gan_generate_layer (t.gan, z, TRUE, 0.1f);
  seen[0] = real = t.crops.x;
  seen[1] = loom_graph_detach (t.graph, fake);
  seen[2] = fake;
  for (guint i = 0; i < 3; i++)
    judged[i] = loom_gan_judge_layer (t.gan, pix2pix ? loom_graph_concat (t.graph, condition,
                                                                          seen[i])
                                                     : seen[i], i == 2);
  for (guint i = 0; i < 3; i++)
    targets[i] = target_like (t.graph, judged[i], i == 1 ? "fake target" : "real target");
  t.d_loss = loom_graph_loss_add (t.graph,
                                loom_graph_loss (t.graph, hinge ? LOOM_LOSS_HINGE
                                                                : LOOM_LOSS_BCE_WITH_LOGITS,
                                                 judged[0], targets[0], FALSE),
                                loom_graph_loss (t.graph, hinge ? LOOM_LOSS_HINGE
                                                                : LOOM_LOSS_BCE_WITH_LOGITS,
                                                 judged[1], targets[1], FALSE));
  t.g_loss = loom_graph_loss (t.graph, hinge ? LOOM_LOSS_LINEAR : LOOM_LOSS_BCE_WITH_LOGITS,
                            judged[2], targets[2], FALSE);
  if (pix2pix && c.l1 > 0.0f)   /* λ·mean |G(labels) − image|, as λ·G against λ·image */
    {
      lambda = loom_graph_input (t.graph, "L1 weight", 1, 1, 1, 1);
      t.g_loss = loom_graph_loss_add (t.graph, t.g_loss,
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
  total = loom_graph_loss_add (t.graph, t.d_loss, t.g_loss);
  if (r1_loss != NULL)          /* D's reported loss stays its classification's */
    total = loom_graph_loss_add (t.graph, total, r1_loss);
  if (c.ema > 0.0f)
    t.ema_rate = loom_graph_input (t.graph, "average rate", 1, 1, 1, 1);
  if (!loom_graph_train_adam (t.graph, total, c.learning_rate, c.beta1, 0.999f, 1e-8f, 0.0f,
                              error))
    goto out;
  live = loom_gan_generator_parameters (t.gan);
  if (c.ema > 0.0f)
    {
      t.averages = g_ptr_array_new ();
      for (guint i = 0; i < live->len; i++)
        g_ptr_array_add (t.averages, loom_graph_ema (t.graph, live->pdata[i], t.ema_rate));
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
  if (!loom_train_crops_upload (&t.crops, t.graph, error))
    goto out;

  w = loom_train_loop (&(LoomTrainLoop) { c.steps, c.seconds, c.checkpoint, c.checkpoint_every,
                                          loss_names, 2, progress, data, cancellable, NULL, 0,
                                          FALSE },
                       train_step, snapshot, &t, error);
  /* Only an averaged G needs its statistics recomputed (and pix2pix's
   * would need label maps: it saves the live G). */
  if (w != NULL && t.averages != NULL && !pix2pix)
    {
      result = recalibrate (device, &t, w, error);
      loom_weights_free (w);
    }
  else
    result = w;
out:
  loom_gan_free (t.gan);
  loom_graph_free (t.graph);
  loom_train_crops_clear (&t.crops);
  if (t.averages != NULL)
    g_ptr_array_unref (t.averages);
  for (guint i = 0; i < n_images && t.scaled != NULL; i++)
    g_free (t.scaled[i]);
  g_free (t.scaled);
  g_free (t.images);
  if (t.rand != NULL)
    g_rand_free (t.rand);
  return result;
}
