/* Scribble training and tiled prediction (see loom-segment.h). */
#include <math.h>
#include <string.h>

#include <json-glib/json-glib.h>

#include "budget.h"
#include "crop-map.h"
#include <loom/loom-segment.h>
#include "tiles.h"
#include "ops/params.h"
#include "op-registry.h"

void
loom_segment_config_init (LoomSegmentConfig *c, guint classes)
{
  *c = (LoomSegmentConfig) {
    .unet = { 3, classes, 3, 16 },
    .crop = 128, .batch = 4, .steps = 300, .seconds = 0,
    .learning_rate = 5e-3f, .seed = 1, .balance = TRUE, .augment = TRUE,
    .rotate = 20.0, .scale = 1.25, .shear = 0.1, .elastic = 2.0,
    .color = 0.5, .noise = 0.02, .blur = 0.2, .cutout = 0.0,
  };
}

void
loom_segment_config_set_augment_strength (LoomSegmentConfig *c, double strength)
{
  c->augment = strength > 0;
  c->rotate *= strength;
  c->scale = 1.0 + (c->scale - 1.0) * strength;
  c->shear *= strength;
  c->elastic *= strength;
  c->color = MIN (1.0, c->color * strength);
  c->noise *= strength;
  c->blur = MIN (1.0, c->blur * strength);
}

/* ---- training ------------------------------------------------------------ */

/* Where the labels are: every labelled pixel of every image, to centre
 * crops on them (with 0.5 % of pixels painted, uniform crops would mostly
 * see nothing). */
typedef struct
{
  guint32 image, x, y;
} Labelled;

typedef struct
{
  const LoomSegmentConfig *config;
  const LoomSegmentImage  *images;
  guint                    n_images, crop, channels;
  GArray                  *labelled;    /* Labelled */
  GRand                   *rand;
  float                   *grey;        /* each image's mean grey, for contrast */
  guint                   *crop_image;  /* the image each crop of the batch came from */
} Sampler;

/* A random map for a crop of IMAGE at (X0, Y0): the config's flips, turns,
 * rotation, scale, shear and elastic deformation. */
static void
random_map (Sampler *s, guint image, guint x0, guint y0, guint32 image_at, guint32 label_at,
            float *m)
{
  const LoomSegmentConfig *c = s->config;
  gboolean on = c->augment;
  guint turn = on ? (guint) g_rand_int_range (s->rand, 0, 4) : 0;
  gboolean flip = on && g_rand_boolean (s->rand);
  double angle = on && c->rotate > 0
               ? g_rand_double_range (s->rand, -c->rotate, c->rotate) * G_PI / 180.0 : 0.0;
  double scale = on && c->scale > 1.0
               ? exp (g_rand_double_range (s->rand, -log (c->scale), log (c->scale))) : 1.0;
  double shear = on && c->shear > 0 ? g_rand_double_range (s->rand, -c->shear, c->shear) : 0.0;
  guint32 seed = g_rand_int (s->rand);

  loom_crop_map (m, s->crop, x0, y0, turn, flip, angle, scale, shear);
  loom_crop_map_source (m, image_at, label_at, s->images[image].width,
                        s->images[image].height);
  m[LOOM_AFFINE_ELASTIC] = on ? (float) c->elastic : 0.0f;
  memcpy (&m[LOOM_AFFINE_ELASTIC_SEED], &seed, 4);
}

/* The maps of a batch of crops (atlas offsets IMAGE_AT, LABEL_AT), for the
 * device to cut them; without atlases (HOST), cut here into X and LABELS
 * by the op's own reference code, each crop from its image alone. */
static void
sample_batch (Sampler *s, float *maps, const guint32 *image_at, const guint32 *label_at,
              gboolean host, float *x, float *labels)
{
  gsize per = (gsize) s->crop * s->crop;

  for (guint i = 0; i < s->config->batch; i++)
    {
      const Labelled *l = &g_array_index (s->labelled, Labelled,
                                          g_rand_int_range (s->rand, 0, (gint32) s->labelled->len));
      const LoomSegmentImage *image = &s->images[l->image];
      gint32 x0, y0;

      /* Mostly around a labelled pixel, sometimes anywhere in its image. */
      if (g_rand_int_range (s->rand, 0, 5) > 0)
        {
          x0 = (gint32) l->x - g_rand_int_range (s->rand, 0, (gint32) s->crop);
          y0 = (gint32) l->y - g_rand_int_range (s->rand, 0, (gint32) s->crop);
        }
      else
        {
          x0 = g_rand_int_range (s->rand, 0, (gint32) (image->width - s->crop + 1));
          y0 = g_rand_int_range (s->rand, 0, (gint32) (image->height - s->crop + 1));
        }
      x0 = CLAMP (x0, 0, (gint32) (image->width - s->crop));
      y0 = CLAMP (y0, 0, (gint32) (image->height - s->crop));
      {
        float *m = maps + i * LOOM_AFFINE_FLOATS;

        s->crop_image[i] = l->image;
        /* Host crops read their own image alone: offsets 0. */
        random_map (s, l->image, (guint) x0, (guint) y0, host ? 0 : image_at[l->image],
                    host ? 0 : label_at[l->image], m);
        if (host)
          {
            LoomAffineParams p = { 1, s->channels, s->crop,
                                   (guint32) MIN ((gsize) s->channels * image->width * image->height,
                                                  G_MAXUINT32),
                                   (guint32) MIN ((gsize) image->width * image->height, G_MAXUINT32) };
            float *const b[] = { x + i * s->channels * per, labels + i * per,
                                 (float *) image->planes, (float *) image->labels, m };

            loom_op_affine_sample.reference (&p, b);
          }
      }
    }
}

/* Photometric settings for each crop of a batch (LOOM_PHOTO_*). */
static void
sample_photometric (Sampler *s, float *settings)
{
  const LoomSegmentConfig *c = s->config;
  double k = c->augment ? c->color : 0.0;

  for (guint i = 0; i < c->batch; i++)
    {
      float *st = settings + i * LOOM_PHOTO_FLOATS;
      guint32 seed = g_rand_int (s->rand);
      gboolean cut = c->augment && g_rand_double (s->rand) < c->cutout;
      float side = s->crop / 2.0f;

      st[LOOM_PHOTO_BLUR] = c->augment && g_rand_double (s->rand) < c->blur
                          ? (float) g_rand_double_range (s->rand, 0.3, 1.5) : 0.0f;
      st[LOOM_PHOTO_SATURATION] = (float) (1.0 + k * g_rand_double_range (s->rand, -0.3, 0.3));
      st[LOOM_PHOTO_HUE] = (float) (k * g_rand_double_range (s->rand, -0.1, 0.1));
      st[LOOM_PHOTO_CONTRAST] = (float) (1.0 + k * g_rand_double_range (s->rand, -0.2, 0.2));
      st[LOOM_PHOTO_BRIGHTNESS] = (float) (k * g_rand_double_range (s->rand, -0.1, 0.1));
      st[LOOM_PHOTO_GAMMA] = (float) exp (k * g_rand_double_range (s->rand, -0.2, 0.2));
      st[LOOM_PHOTO_NOISE] = c->augment ? (float) g_rand_double_range (s->rand, 0.0, c->noise) : 0.0f;
      memcpy (&st[LOOM_PHOTO_SEED], &seed, 4);
      st[LOOM_PHOTO_CUT_X] = (float) g_rand_double_range (s->rand, 0, s->crop - side);
      st[LOOM_PHOTO_CUT_Y] = (float) g_rand_double_range (s->rand, 0, s->crop - side);
      st[LOOM_PHOTO_CUT_W] = st[LOOM_PHOTO_CUT_H] = cut ? side : 0.0f;
      st[LOOM_PHOTO_GREY] = s->grey[s->crop_image[i]];
    }
}

/* Each image's mean grey over its valid pixels, where contrast pivots
 * (luma for RGB, the channels' mean otherwise). */
static float *
mean_greys (const LoomSegmentImage *images, guint n_images, guint channels)
{
  float *grey = g_new (float, n_images);

  for (guint i = 0; i < n_images; i++)
    {
      const LoomSegmentImage *im = &images[i];
      gsize pixels = (gsize) im->width * im->height, used = 0;
      double sum = 0.0;

      for (gsize at = 0; at < pixels; at++)
        {
          if (im->mask != NULL && im->mask[at] < 0.5f)
            continue;
          for (guint c = 0; c < channels; c++)
            sum += im->planes[c * pixels + at]
                   * (channels == 3 ? (double[]) { 0.299, 0.587, 0.114 }[c] : 1.0 / channels);
          used++;
        }
      grey[i] = used > 0 ? (float) (sum / used) : 0.5f;
    }
  return grey;
}

/* IMAGES into OWN with their masks applied: labels outside a mask become
 * unlabelled (in copies, returned to be freed). */
static GPtrArray *
apply_masks (const LoomSegmentImage *images, guint n_images, LoomSegmentImage *own)
{
  GPtrArray *copies = g_ptr_array_new_with_free_func (g_free);

  for (guint i = 0; i < n_images; i++)
    {
      gsize pixels = (gsize) images[i].width * images[i].height;
      float *labels;

      own[i] = images[i];
      if (images[i].mask == NULL || images[i].labels == NULL)
        continue;
      labels = g_memdup2 (images[i].labels, pixels * sizeof (float));
      for (gsize at = 0; at < pixels; at++)
        if (images[i].mask[at] < 0.5f)
          labels[at] = LOOM_UNLABELLED;
      own[i].labels = labels;
      g_ptr_array_add (copies, labels);
    }
  return copies;
}

static gboolean
check_images (const LoomSegmentConfig *c, const LoomSegmentImage *images, guint n_images,
              guint *crop, GError **error)
{
  guint step = 1u << c->unet.depth, smallest = G_MAXUINT;

  if (n_images == 0)
    {
      g_set_error (error, LOOM_ERROR, LOOM_ERROR_INVALID_ARGUMENT, "segment: no images");
      return FALSE;
    }
  for (guint i = 0; i < n_images; i++)
    {
      if (images[i].planes == NULL || images[i].labels == NULL || images[i].width == 0
          || images[i].height == 0)
        {
          g_set_error (error, LOOM_ERROR, LOOM_ERROR_INVALID_ARGUMENT,
                       "segment: image %u has no pixels or no labels", i + 1);
          return FALSE;
        }
      smallest = MIN (smallest, MIN (images[i].width, images[i].height));
    }
  /* Crops fit every image and the U-Net: a multiple of 2^depth. */
  *crop = MIN (c->crop, smallest) / step * step;
  if (*crop < 2 * step)
    {
      g_set_error (error, LOOM_ERROR, LOOM_ERROR_INVALID_ARGUMENT,
                   "segment: an image of %u pixels across is too small for a U-Net of "
                   "depth %u (at least %u)", smallest, c->unet.depth, 2 * step);
      return FALSE;
    }
  if (c->batch == 0 || (c->steps == 0 && c->seconds <= 0))
    {
      g_set_error (error, LOOM_ERROR, LOOM_ERROR_INVALID_ARGUMENT,
                   "segment: a batch of at least one crop and a step count or a time "
                   "budget are needed");
      return FALSE;
    }
  return TRUE;
}

/* Labelled pixels per class (checked against the class count) and the
 * class weights: the inverse of each class's share, 1 on average. */
static gboolean
count_labels (Sampler *s, guint classes, float *weights, GError **error)
{
  g_autofree guint64 *counts = g_new0 (guint64, classes);
  guint present = 0;

  for (guint i = 0; i < s->n_images; i++)
    {
      const LoomSegmentImage *image = &s->images[i];

      for (guint y = 0; y < image->height; y++)
        for (guint x = 0; x < image->width; x++)
          {
            float v = image->labels[(gsize) y * image->width + x];
            Labelled l = { i, x, y };

            if (v < 0.0f)
              continue;
            if (v >= (float) classes || v != floorf (v))
              {
                g_set_error (error, LOOM_ERROR, LOOM_ERROR_INVALID_ARGUMENT,
                             "segment: image %u has label %g at %u,%u; the model has %u "
                             "classes", i + 1, v, x, y, classes);
                return FALSE;
              }
            counts[(guint) v]++;
            g_array_append_val (s->labelled, l);
          }
    }
  if (s->labelled->len == 0)
    {
      g_set_error (error, LOOM_ERROR, LOOM_ERROR_INVALID_ARGUMENT,
                   "segment: no labelled pixels: paint a few strokes of each class first");
      return FALSE;
    }
  for (guint k = 0; k < classes; k++)
    present += counts[k] > 0;
  for (guint k = 0; k < classes; k++)
    weights[k] = counts[k] == 0 || !s->config->balance
               ? (counts[k] == 0 ? 0.0f : 1.0f)
               : (float) ((double) s->labelled->len / ((double) present * counts[k]));
  return TRUE;
}

static char *
provenance (const LoomSegmentConfig *c, guint steps, guint n_images, guint labelled)
{
  return g_strdup_printf ("{\"task\":\"segmentation\",\"images\":%u,\"labelled_pixels\":%u,"
                          "\"steps\":%u,\"crop\":%u,\"batch\":%u,\"seed\":%u,"
                          "\"learning_rate\":%g,\"loom\":\"%s\"}",
                          n_images, labelled, steps, c->crop, c->batch, c->seed,
                          c->learning_rate, LOOM_VERSION);
}

static LoomWeights *
snapshot (LoomUNet *u, const LoomSegmentConfig *c, guint steps, const Sampler *s,
          GError **error)
{
  LoomWeights *w = loom_weights_new ();
  g_autofree char *prov = provenance (c, steps, s->n_images, s->labelled->len);

  if (!loom_unet_store (u, w, error))
    {
      loom_weights_free (w);
      return NULL;
    }
  loom_weights_set_metadata (w, LOOM_METADATA_PROVENANCE, prov);
  if (c->colors != NULL)
    loom_segment_set_classes (w, c->colors, c->names);
  return w;
}

LoomWeights *
loom_segment_train (LoomDevice *device, const LoomSegmentConfig *config,
                    const LoomSegmentImage *images, guint n_images, LoomWeights *start,
                    LoomSegmentProgress progress, gpointer data, GCancellable *cancellable,
                    GError **error)
{
  LoomSegmentConfig c = *config;
  Sampler s = { &c, NULL, n_images, 0, 0, NULL, NULL, NULL, NULL };
  g_autofree LoomSegmentImage *own = NULL;
  g_autoptr (GPtrArray) copies = NULL;
  LoomGraph *g = NULL;
  LoomTensor *x, *labels, *weights_t, *loss, *atlas = NULL, *label_atlas = NULL, *maps = NULL;
  LoomTensor *raw, *settings;
  LoomUNet *u = NULL;
  LoomWeights *result = NULL;
  g_autofree float *xb = NULL, *lb = NULL, *mb = NULL, *sb = NULL, *class_weights = NULL;
  g_autofree guint32 *image_at = NULL, *label_at = NULL;
  guint64 atlas_floats = 0, label_floats = 0;
  gboolean on_device;
  gint64 began;
  guint step = 0;

  g_return_val_if_fail (device != NULL && config != NULL && images != NULL, NULL);
  if (start != NULL && !loom_unet_config_from_weights (start, &c.unet, error))
    return NULL;
  /* A starting point of other classes gives its shape, not its classes. */
  if (start != NULL && c.start_features)
    c.unet.classes = config->unet.classes;
  if (!check_images (&c, images, n_images, &s.crop, error))
    return NULL;
  own = g_new (LoomSegmentImage, n_images);
  copies = apply_masks (images, n_images, own);
  images = s.images = own;
  s.channels = c.unet.in_channels;
  s.labelled = g_array_new (FALSE, FALSE, sizeof (Labelled));
  s.rand = g_rand_new_with_seed (c.seed);
  s.grey = mean_greys (images, n_images, s.channels);
  s.crop_image = g_new0 (guint, c.batch);
  class_weights = g_new (float, c.unet.classes);
  if (!count_labels (&s, c.unet.classes, class_weights, error))
    goto out;

  /* The images go to the device once, packed in atlases, and the device
   * cuts and turns the crops (affine_sample): a step sends a few floats.
   * Atlases past what the device binds at once are cut on the host. */
  image_at = g_new (guint32, n_images);
  label_at = g_new (guint32, n_images);
  for (guint i = 0; i < n_images; i++)
    {
      image_at[i] = (guint32) MIN (atlas_floats, G_MAXUINT32);
      label_at[i] = (guint32) MIN (label_floats, G_MAXUINT32);
      atlas_floats += (guint64) s.channels * images[i].width * images[i].height;
      label_floats += (guint64) images[i].width * images[i].height;
    }
  on_device = atlas_floats * sizeof (float) <= loom_device_get_max_binding (device)
           && atlas_floats <= G_MAXUINT32 && !g_getenv ("LOOM_HOST_CROPS");
  g = loom_graph_new ();
  if (on_device)
    {
      atlas = loom_graph_input (g, "image atlas", 1, 1, 1, (guint) atlas_floats);
      label_atlas = loom_graph_input (g, "label atlas", 1, 1, 1, (guint) label_floats);
      maps = loom_graph_input (g, "crop maps", c.batch, LOOM_AFFINE_FLOATS, 1, 1);
      loom_graph_affine_sample (g, atlas, label_atlas, maps, c.batch, s.channels, s.crop,
                                &raw, &labels);
    }
  else
    {
      raw = loom_graph_input (g, "x", c.batch, c.unet.in_channels, s.crop, s.crop);
      labels = loom_graph_input (g, "labels", c.batch, 1, s.crop, s.crop);
    }
  /* Colours jittered on the device too: a few floats a crop. */
  settings = loom_graph_input (g, "photometric settings", c.batch, LOOM_PHOTO_FLOATS, 1, 1);
  x = loom_graph_photometric (g, raw, settings);
  weights_t = loom_graph_input (g, "class weights", c.unet.classes, 1, 1, 1);
  /* Running statistics averaged over all batches for the first ten
   * steps, then with momentum 0.1: right after a short training too. */
  u = loom_unet_build_full (g, &c.unet, x, TRUE, -0.1f, error);
  if (u == NULL)
    goto out;
  loss = loom_graph_cross_entropy (g, loom_unet_get_logits (u), labels, weights_t,
                                   LOOM_UNLABELLED);
  if (!loom_graph_train_adam (g, loss, c.learning_rate, 0.9f, 0.999f, 1e-8f, 0.0f, error)
      || !loom_graph_compile (g, device, error)
      || !(start == NULL ? loom_unet_init (u, c.seed, error)
           : c.start_features ? loom_unet_init (u, c.seed, error)
                                && loom_unet_load_features (u, start, error)
           : loom_unet_load (u, start, error))
      || !loom_graph_write (g, weights_t, class_weights, error))
    goto out;
  loom_graph_set_seed (g, c.seed);
  if (on_device)
    for (guint i = 0; i < n_images; i++)
      {
        gsize pixels = (gsize) images[i].width * images[i].height;

        if (!loom_graph_write_range (g, atlas, image_at[i], s.channels * pixels,
                                     images[i].planes, error)
            || !loom_graph_write_range (g, label_atlas, label_at[i], pixels, images[i].labels,
                                        error))
          goto out;
      }

  mb = g_new (float, (gsize) c.batch * LOOM_AFFINE_FLOATS);
  sb = g_new (float, (gsize) c.batch * LOOM_PHOTO_FLOATS);
  if (!on_device)
    {
      xb = g_new (float, loom_tensor_get_length (raw));
      lb = g_new (float, loom_tensor_get_length (labels));
    }
  began = g_get_monotonic_time ();
  for (step = 0; c.steps == 0 || step < c.steps; step++)
    {
      double elapsed = (g_get_monotonic_time () - began) / 1e6, eta;
      float value;

      if ((c.seconds > 0 && elapsed >= c.seconds)
          || g_cancellable_is_cancelled (cancellable))
        break;
      /* Cosine decay over the steps or the time budget, whichever ends
       * first: the weights settle instead of stopping mid-oscillation. */
      {
        double done = MAX (c.steps > 0 ? (double) step / c.steps : 0.0,
                           c.seconds > 0 ? elapsed / c.seconds : 0.0);

        loom_graph_set_learning_rate (g, (float) (c.learning_rate
                                                  * (0.05 + 0.95 * 0.5 * (1.0 + cos (G_PI * MIN (done, 1.0))))));
      }
      sample_batch (&s, mb, image_at, label_at, !on_device, xb, lb);
      sample_photometric (&s, sb);
      if ((on_device ? !loom_graph_write (g, maps, mb, error)
                     : !loom_graph_write (g, raw, xb, error) || !loom_graph_write (g, labels, lb, error))
          || !loom_graph_write (g, settings, sb, error)
          || !loom_graph_run (g, error) || !loom_graph_read (g, loss, &value, error))
        goto out;
      if (!isfinite (value))
        {
          g_set_error (error, LOOM_ERROR, LOOM_ERROR_FAILED,
                       "segment: the loss became %g at step %u; try a lower learning rate",
                       value, step + 1);
          goto out;
        }
      elapsed = (g_get_monotonic_time () - began) / 1e6;
      eta = loom_budget_eta (step + 1, c.steps, c.seconds, elapsed);
      if (c.checkpoint != NULL && c.checkpoint_every > 0 && (step + 1) % c.checkpoint_every == 0)
        {
          LoomWeights *w = snapshot (u, &c, step + 1, &s, error);
          gboolean saved = w != NULL && loom_weights_save (w, c.checkpoint, error);

          loom_weights_free (w);
          if (!saved)
            goto out;
        }
      if (progress != NULL && !progress (step + 1, c.steps, value, eta, data))
        {
          step++;
          break;
        }
    }
  result = snapshot (u, &c, step, &s, error);
out:
  loom_unet_free (u);
  loom_graph_free (g);
  g_array_unref (s.labelled);
  g_rand_free (s.rand);
  g_free (s.grey);
  g_free (s.crop_image);
  return result;
}

/* ---- augmentation on its own ------------------------------------------------- */

gboolean
loom_segment_augment (LoomDevice *device, const LoomSegmentConfig *config,
                      const LoomSegmentImage *image, guint count, guint size,
                      float *out_planes, float *out_labels, GError **error)
{
  LoomSegmentConfig c = *config;
  Sampler s = { &c, NULL, 1, 0, c.unet.in_channels, NULL, NULL, NULL, NULL };
  LoomSegmentImage own;
  g_autoptr (GPtrArray) copies = NULL;
  guint batch = MIN (MAX (count, 1), 16);
  gsize pixels = (gsize) image->width * image->height;
  LoomGraph *g;
  LoomTensor *atlas, *label_atlas, *maps, *settings, *raw, *labels, *x;
  g_autofree float *mb = NULL, *sb = NULL, *no_labels = NULL;
  gboolean ok = FALSE;

  g_return_val_if_fail (device != NULL && config != NULL && image != NULL, FALSE);
  size = size == 0 ? MIN (image->width, image->height) / 8 * 8 : size;
  if (image->planes == NULL || size == 0 || size > MIN (image->width, image->height)
      || (guint64) s.channels * pixels > G_MAXUINT32
      || (guint64) s.channels * pixels * sizeof (float) > loom_device_get_max_binding (device))
    {
      g_set_error (error, LOOM_ERROR, LOOM_ERROR_INVALID_ARGUMENT,
                   "augment: crops of %u from an image of %u×%u (%u channels) are not possible "
                   "here (a crop must fit the image, the image one binding of the device)",
                   size, image->width, image->height, s.channels);
      return FALSE;
    }
  copies = apply_masks (image, 1, &own);
  image = s.images = &own;
  c.batch = batch;
  s.crop = size;
  s.rand = g_rand_new_with_seed (c.seed);
  s.grey = mean_greys (image, 1, s.channels);
  s.crop_image = g_new0 (guint, batch);
  g = loom_graph_new ();
  atlas = loom_graph_input (g, "image", 1, 1, 1, (guint) (s.channels * pixels));
  label_atlas = loom_graph_input (g, "labels", 1, 1, 1, (guint) pixels);
  maps = loom_graph_input (g, "maps", batch, LOOM_AFFINE_FLOATS, 1, 1);
  settings = loom_graph_input (g, "settings", batch, LOOM_PHOTO_FLOATS, 1, 1);
  loom_graph_affine_sample (g, atlas, label_atlas, maps, batch, s.channels, size, &raw, &labels);
  x = loom_graph_photometric (g, raw, settings);
  loom_graph_keep (g, labels);
  if (image->labels == NULL)
    {
      no_labels = g_new (float, pixels);
      for (gsize i = 0; i < pixels; i++)
        no_labels[i] = LOOM_UNLABELLED;
    }
  if (!loom_graph_compile (g, device, error)
      || !loom_graph_write (g, atlas, image->planes, error)
      || !loom_graph_write (g, label_atlas, image->labels ? image->labels : no_labels, error))
    goto out;
  mb = g_new (float, (gsize) batch * LOOM_AFFINE_FLOATS);
  sb = g_new (float, (gsize) batch * LOOM_PHOTO_FLOATS);
  for (guint done = 0; done < count; done += batch)
    {
      guint n = MIN (batch, count - done);
      gsize per = (gsize) size * size;
      g_autofree float *xs = g_new (float, (gsize) batch * s.channels * per);
      g_autofree float *ls = g_new (float, (gsize) batch * per);

      for (guint i = 0; i < batch; i++)
        {
          guint x0 = (guint) g_rand_int_range (s.rand, 0, (gint32) (image->width - size + 1));
          guint y0 = (guint) g_rand_int_range (s.rand, 0, (gint32) (image->height - size + 1));

          random_map (&s, 0, x0, y0, 0, 0, mb + i * LOOM_AFFINE_FLOATS);
        }
      sample_photometric (&s, sb);
      if (!loom_graph_write (g, maps, mb, error) || !loom_graph_write (g, settings, sb, error)
          || !loom_graph_run (g, error) || !loom_graph_read (g, x, xs, error)
          || !loom_graph_read (g, labels, ls, error))
        goto out;
      memcpy (out_planes + (gsize) done * s.channels * per, xs, (gsize) n * s.channels * per * sizeof (float));
      if (out_labels != NULL)
        memcpy (out_labels + (gsize) done * per, ls, (gsize) n * per * sizeof (float));
    }
  ok = TRUE;
out:
  loom_graph_free (g);
  g_rand_free (s.rand);
  g_free (s.grey);
  g_free (s.crop_image);
  return ok;
}

/* ---- prediction ------------------------------------------------------------ */

gboolean
loom_segment_predict (LoomDevice *device, LoomWeights *weights, const LoomSegmentImage *image,
                      guint tile, float *classes, float *confidence,
                      LoomSegmentProgress progress, gpointer data, GCancellable *cancellable,
                      GError **error)
{
  LoomUNetConfig c;
  LoomGraph *g = NULL;
  LoomUNet *u = NULL;
  LoomTensor *x;
  g_autoptr (GArray) ys = NULL, xs = NULL;
  g_autofree float *in = NULL, *logits = NULL, *acc = NULL, *norm = NULL;
  guint th, tw, overlap, step, done = 0, total, K;
  gsize plane = (gsize) image->width * image->height;
  guint band0 = 0;              /* the image row acc's first row holds */
  gboolean ok = FALSE;

  g_return_val_if_fail (device != NULL && weights != NULL && image != NULL, FALSE);
  if (!loom_unet_config_from_weights (weights, &c, error))
    return FALSE;
  if (image->planes == NULL || image->width == 0 || image->height == 0)
    {
      g_set_error (error, LOOM_ERROR, LOOM_ERROR_INVALID_ARGUMENT, "segment: an empty image");
      return FALSE;
    }
  step = 1u << c.depth;
  tile = tile == 0 ? 256 : tile;
  /* Tiles: a multiple of 2^depth, no bigger than needed; smaller images
   * are padded by mirroring up to the tile. */
  th = MAX ((MIN (tile, image->height) + step - 1) / step * step, 2 * step);
  tw = MAX ((MIN (tile, image->width) + step - 1) / step * step, 2 * step);
  overlap = MIN (MIN (th, tw) / 4, 32);
  ys = loom_tile_origins (image->height, th, th - 2 * overlap);
  xs = loom_tile_origins (image->width, tw, tw - 2 * overlap);
  total = ys->len * xs->len;
  K = c.classes;

  g = loom_graph_new ();
  x = loom_graph_input (g, "x", 1, c.in_channels, th, tw);
  u = loom_unet_build (g, &c, x, FALSE, error);
  if (u == NULL || !loom_graph_compile (g, device, error) || !loom_unet_load (u, weights, error))
    goto out;
  in = g_new (float, (gsize) c.in_channels * th * tw);
  logits = g_new (float, (gsize) K * th * tw);
  /* Blended probabilities of a band of TH rows, and their weights. */
  acc = g_new0 (float, (gsize) K * th * image->width);
  norm = g_new0 (float, (gsize) th * image->width);

  for (guint ty = 0; ty < ys->len; ty++)
    {
      guint y0 = g_array_index (ys, guint, ty);
      guint next = ty + 1 < ys->len ? g_array_index (ys, guint, ty + 1) : image->height;

      for (guint tx = 0; tx < xs->len; tx++)
        {
          guint x0 = g_array_index (xs, guint, tx);

          if (g_cancellable_set_error_if_cancelled (cancellable, error))
            goto out;
          /* The tile, mirrored past the image's edge when it is smaller. */
          for (guint ch = 0; ch < c.in_channels; ch++)
            for (guint v = 0; v < th; v++)
              for (guint q = 0; q < tw; q++)
                {
                  gint64 sy = (gint64) y0 + v, sx = (gint64) x0 + q;

                  while (sy >= image->height)
                    sy = 2 * ((gint64) image->height - 1) - sy;
                  while (sx >= image->width)
                    sx = 2 * ((gint64) image->width - 1) - sx;
                  in[((gsize) ch * th + v) * tw + q]
                    = image->planes[ch * plane + (gsize) MAX (sy, 0) * image->width + MAX (sx, 0)];
                }
          if (!loom_graph_write (g, x, in, error) || !loom_graph_run (g, error)
              || !loom_graph_read (g, loom_unet_get_logits (u), logits, error))
            goto out;
          for (guint v = 0; v < th && y0 + v < image->height; v++)
            for (guint q = 0; q < tw && x0 + q < image->width; q++)
              {
                float w = loom_tile_ramp (v, th, overlap, ty > 0, ty + 1 < ys->len)
                        * loom_tile_ramp (q, tw, overlap, tx > 0, tx + 1 < xs->len);
                gsize at = (gsize) (y0 + v - band0) * image->width + x0 + q;
                float top = -INFINITY, sum = 0.0f;

                for (guint k = 0; k < K; k++)
                  top = MAX (top, logits[((gsize) k * th + v) * tw + q]);
                for (guint k = 0; k < K; k++)
                  sum += expf (logits[((gsize) k * th + v) * tw + q] - top);
                for (guint k = 0; k < K; k++)
                  acc[(gsize) k * th * image->width + at]
                    += w * expf (logits[((gsize) k * th + v) * tw + q] - top) / sum;
                norm[at] += w;
              }
          done++;
          if (progress != NULL && !progress (done, total, 0.0f, 0.0, data))
            {
              g_set_error (error, G_IO_ERROR, G_IO_ERROR_CANCELLED, "segment: stopped");
              goto out;
            }
        }
      /* Rows before the next tile row are final: out, and the band moves. */
      for (guint row = band0; row < next && row < image->height; row++)
        for (guint q = 0; q < image->width; q++)
          {
            gsize at = (gsize) (row - band0) * image->width + q;
            float best = -1.0f;
            guint arg = 0;

            for (guint k = 0; k < K; k++)
              {
                float p = acc[(gsize) k * th * image->width + at] / norm[at];

                if (p > best)
                  best = p, arg = k;
              }
            if (image->mask != NULL && image->mask[(gsize) row * image->width + q] < 0.5f)
              {
                best = 0.0f;
                arg = (guint) -1;       /* not part of the image: unlabelled */
              }
            if (classes != NULL)
              classes[(gsize) row * image->width + q] = arg == (guint) -1 ? LOOM_UNLABELLED : (float) arg;
            if (confidence != NULL)
              confidence[(gsize) row * image->width + q] = best;
          }
      if (next < image->height)
        {
          gsize keep = (gsize) (band0 + th - next) * image->width;
          gsize shift = (gsize) (next - band0) * image->width;

          for (guint k = 0; k < K; k++)
            {
              float *a = acc + (gsize) k * th * image->width;

              memmove (a, a + shift, keep * sizeof (float));
              memset (a + keep, 0, shift * sizeof (float));
            }
          memmove (norm, norm + shift, keep * sizeof (float));
          memset (norm + keep, 0, shift * sizeof (float));
          band0 = next;
        }
    }
  ok = TRUE;
out:
  loom_unet_free (u);
  loom_graph_free (g);
  return ok;
}

/* ---- the class table ------------------------------------------------------- */

void
loom_segment_set_classes (LoomWeights *weights, const GArray *colors, const char *const *names)
{
  g_autoptr (JsonBuilder) b = json_builder_new ();
  g_autoptr (JsonGenerator) gen = json_generator_new ();
  g_autoptr (JsonNode) root = NULL;
  g_autofree char *text = NULL;

  json_builder_begin_array (b);
  for (guint i = 0; i < colors->len; i++)
    {
      const LoomColor *c = &g_array_index (colors, LoomColor, i);
      g_autofree char *fallback = g_strdup_printf ("class %u", i + 1);

      json_builder_begin_object (b);
      json_builder_set_member_name (b, "name");
      json_builder_add_string_value (b, names != NULL && names[i] != NULL ? names[i] : fallback);
      json_builder_set_member_name (b, "color");
      json_builder_begin_array (b);
      json_builder_add_int_value (b, c->r);
      json_builder_add_int_value (b, c->g);
      json_builder_add_int_value (b, c->b);
      json_builder_end_array (b);
      json_builder_end_object (b);
    }
  json_builder_end_array (b);
  root = json_builder_get_root (b);
  json_generator_set_root (gen, root);
  text = json_generator_to_data (gen, NULL);
  loom_weights_set_metadata (weights, LOOM_METADATA_CLASSES, text);
}

GArray *
loom_segment_get_classes (LoomWeights *weights, char ***names, GError **error)
{
  const char *text = loom_weights_get_metadata (weights, LOOM_METADATA_CLASSES);
  g_autoptr (JsonParser) parser = json_parser_new ();
  g_autoptr (GArray) colors = g_array_new (FALSE, FALSE, sizeof (LoomColor));
  g_autoptr (GPtrArray) found = g_ptr_array_new_with_free_func (g_free);
  JsonNode *root;
  JsonArray *a;

  if (text == NULL || !json_parser_load_from_data (parser, text, -1, NULL)
      || (root = json_parser_get_root (parser)) == NULL || !JSON_NODE_HOLDS_ARRAY (root))
    {
      g_set_error (error, LOOM_ERROR, LOOM_ERROR_BAD_FILE,
                   "weights file: no class table (%s)", LOOM_METADATA_CLASSES);
      return NULL;
    }
  a = json_node_get_array (root);
  for (guint i = 0; i < json_array_get_length (a); i++)
    {
      JsonNode *node = json_array_get_element (a, i);
      JsonObject *o = JSON_NODE_HOLDS_OBJECT (node) ? json_node_get_object (node) : NULL;
      JsonNode *name = o ? json_object_get_member (o, "name") : NULL;
      JsonNode *color = o ? json_object_get_member (o, "color") : NULL;
      JsonArray *rgb = color && JSON_NODE_HOLDS_ARRAY (color) ? json_node_get_array (color) : NULL;
      gint64 v[3];
      LoomColor c;

      if (name == NULL || !JSON_NODE_HOLDS_VALUE (name)
          || json_node_get_value_type (name) != G_TYPE_STRING
          || rgb == NULL || json_array_get_length (rgb) != 3)
        {
          g_set_error (error, LOOM_ERROR, LOOM_ERROR_BAD_FILE,
                       "weights file: class %u of the table has no name or colour", i + 1);
          return NULL;
        }
      for (int k = 0; k < 3; k++)
        {
          JsonNode *e = json_array_get_element (rgb, k);

          v[k] = JSON_NODE_HOLDS_VALUE (e) && json_node_get_value_type (e) == G_TYPE_INT64
               ? json_node_get_int (e) : -1;
          if (v[k] < 0 || v[k] > 255)
            {
              g_set_error (error, LOOM_ERROR, LOOM_ERROR_BAD_FILE,
                           "weights file: class %u has a colour outside 0–255", i + 1);
              return NULL;
            }
        }
      c = (LoomColor) { (guint8) v[0], (guint8) v[1], (guint8) v[2] };
      g_array_append_val (colors, c);
      g_ptr_array_add (found, g_strdup (json_node_get_string (name)));
    }
  if (names != NULL)
    {
      g_ptr_array_add (found, NULL);
      *names = (char **) g_ptr_array_steal (found, NULL);
    }
  return g_steal_pointer (&colors);
}
