/* Scribble training (see loom-segment.h), on the trainers' scaffold
 * (trainer.h). */
#include <math.h>
#include <string.h>

#include "crop-map.h"
#include <loom/loom-segment.h>
#include "ops/params.h"
#include "segment/augment.h"
#include "segment/head.h"
#include "trainer.h"

void
loom_segment_config_init (LoomSegmentConfig *c, guint classes)
{
  *c = (LoomSegmentConfig) {
    .unet = { 3, classes, 3, 16 },
    .crop = 128, .batch = 4, .steps = 300, .seconds = 0,
    .learning_rate = 5e-3f, .seed = 1, .balance = TRUE, .augment = TRUE,
    .rotate = 20.0, .scale = 1.25, .shear = 0.1, .elastic = 2.0,
    .color = 0.5, .noise = 0.02, .blur = 0.2, .cutout = 0.0,
    .host_crops = loom_train_host_crops_from_env (),
    .pixel_head = TRUE, .head_hidden = 64, .head_steps = 300, .head_blend = 0.5f,
    .head_ramp = 200, .refine = { 16, 0.01f },
  };
}

/* Where the labels are: every labelled pixel of every image, to centre
 * crops on them (with 0.5 % of pixels painted, uniform crops would mostly
 * see nothing). */
typedef struct
{
  guint32 image, x, y;
} Labelled;

/* What the training loop holds. */
typedef struct
{
  LoomSegmentConfig       *config;      /* a copy (its classes grow in a refresh) */
  const LoomSegmentImage  *images;      /* masks applied */
  guint                    n_images;
  GArray                  *labelled;    /* Labelled */
  LoomSegmentAugment       augment;
  LoomTrainCrops           crops;
  LoomGraph               *graph;
  LoomUNet                *unet;
  LoomTensor              *settings, *loss;
  float                   *settings_buffer;
  /* Live training (fold_labels, grow_head): */
  LoomDevice              *device;
  guint                    crop;
  const LoomSegmentImage  *given;       /* the caller's images (their masks) */
  LoomSegmentImage        *own;         /* = images, whose labels change */
  LoomTrainImage          *train_images;
  LoomTensor              *class_weights;
  float                  **refreshed;   /* n_images labels a refresh gave, or NULL */
  float                   *host_class_weights; /* as last counted (phase one's) */
  LoomWeights             *head;        /* phase one's pixel head, once fitted */
  LoomWeights             *encoder;     /* its frozen features' network (the start's), */
  const char              *encoder_prefix; /* its tensors' names' prefix, */
  guint                    encoder_depth, encoder_base; /* its shape (depth 0: none) */
} Trainer;

/* The maps of a batch of crops, mostly around a labelled pixel. */
static void
sample_batch (Trainer *t)
{
  LoomSegmentAugment *s = &t->augment;
  guint crop = t->crops.crop;

  for (guint i = 0; i < t->config->batch; i++)
    {
      const Labelled *l = &g_array_index (t->labelled, Labelled,
                                          g_rand_int_range (s->rand, 0, (gint32) t->labelled->len));
      const LoomSegmentImage *image = &t->images[l->image];
      gint32 x0, y0;

      /* Mostly around a labelled pixel, sometimes anywhere in its image. */
      if (g_rand_int_range (s->rand, 0, 5) > 0)
        {
          x0 = (gint32) l->x - g_rand_int_range (s->rand, 0, (gint32) crop);
          y0 = (gint32) l->y - g_rand_int_range (s->rand, 0, (gint32) crop);
        }
      else
        {
          x0 = g_rand_int_range (s->rand, 0, (gint32) (image->width - crop + 1));
          y0 = g_rand_int_range (s->rand, 0, (gint32) (image->height - crop + 1));
        }
      x0 = CLAMP (x0, 0, (gint32) (image->width - crop));
      y0 = CLAMP (y0, 0, (gint32) (image->height - crop));
      s->crop_image[i] = l->image;
      loom_segment_random_map (s, (guint) x0, (guint) y0, t->crops.maps + i * LOOM_AFFINE_FLOATS);
      loom_train_crops_place (&t->crops, i, l->image);
    }
}

/* Labelled pixels per class (checked against the class count) and the
 * class weights: the inverse of each class's share, 1 on average. */
static gboolean
count_labels (Trainer *t, guint classes, float *weights, GError **error)
{
  g_autofree guint64 *counts = g_new0 (guint64, classes);
  guint present = 0;

  for (guint i = 0; i < t->n_images; i++)
    {
      const LoomSegmentImage *image = &t->images[i];

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
            g_array_append_val (t->labelled, l);
          }
    }
  if (t->labelled->len == 0)
    {
      g_set_error (error, LOOM_ERROR, LOOM_ERROR_INVALID_ARGUMENT,
                   "segment: no labelled pixels: paint a few strokes of each class first");
      return FALSE;
    }
  for (guint k = 0; k < classes; k++)
    present += counts[k] > 0;
  for (guint k = 0; k < classes; k++)
    weights[k] = counts[k] == 0 || !t->config->balance
               ? (counts[k] == 0 ? 0.0f : 1.0f)
               : (float) ((double) t->labelled->len / ((double) present * counts[k]));
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

/* The pixel head's encoder: a model's own (fine-tuning one that has a
 * head with an encoder), else the start's network, frozen as it came;
 * none without a start. */
static gboolean
choose_encoder (Trainer *t, LoomWeights *start, GError **error)
{
  LoomPixelHeadConfig hc;
  LoomUNetConfig u;
  gboolean present;

  if (start == NULL)
    return TRUE;
  if (!loom_pixel_head_config_from_weights (start, &present, &hc, error))
    return FALSE;
  t->encoder = start;
  if (present && hc.encoder_depth > 0)
    {
      t->encoder_prefix = "encoder.";
      t->encoder_depth = hc.encoder_depth;
      t->encoder_base = hc.encoder_base;
      return TRUE;
    }
  if (!loom_unet_config_from_weights (start, &u, error))
    return FALSE;
  t->encoder_prefix = "";
  t->encoder_depth = u.depth;
  t->encoder_base = u.base;
  return TRUE;
}

/* A model's own pixel head (and encoder), when there is one, as it was. */
static gboolean
keep_head (Trainer *t, LoomWeights *start, GError **error)
{
  const char *json = loom_weights_get_metadata (start, LOOM_METADATA_PIXEL_HEAD);

  if (json == NULL)
    return TRUE;
  t->head = loom_weights_new ();
  for (const char *const *name = loom_weights_get_names (start); *name != NULL; name++)
    {
      guint n_dims;
      const guint64 *shape;
      const float *data;

      if (!g_str_has_prefix (*name, "pixel.") && !g_str_has_prefix (*name, "encoder."))
        continue;
      data = loom_weights_lookup (start, *name, &n_dims, &shape);
      if (!loom_weights_add (t->head, *name, n_dims, shape, data, error))
        return FALSE;
    }
  loom_weights_set_metadata (t->head, LOOM_METADATA_PIXEL_HEAD, json);
  return TRUE;
}

/* Phase one: the pixel head on every labelled pixel (up to 65 536). */
static gboolean
fit_head (Trainer *t, float *loss, GError **error)
{
  const LoomSegmentConfig *c = t->config;
  LoomPixelHeadConfig hc = { c->unet.in_channels, c->head_hidden, c->unet.classes, 1.0f,
                             t->encoder_depth, t->encoder_base };

  t->head = loom_weights_new ();
  return loom_pixel_head_fit (t->device, &hc, t->images, t->n_images, t->host_class_weights,
                              c->head_steps, 65536, c->seed, t->encoder, t->encoder_prefix,
                              t->head, loss, error);
}

/* The head's tensors into W, with its share after STEPS steps of the run
 * (the first was phase one's, unless the head was kept): all of the answer
 * until the network has trained, falling to HEAD_BLEND over HEAD_RAMP of
 * its steps. */
static gboolean
add_head (const Trainer *t, guint steps, LoomWeights *w, GError **error)
{
  const LoomSegmentConfig *c = t->config;
  guint net_steps = !c->pixel_head ? steps : steps > 0 ? steps - 1 : 0;
  double ramp = c->head_ramp > 0 ? MIN ((double) net_steps / c->head_ramp, 1.0) : 1.0;
  float blend = net_steps == 0 ? 1.0f : (float) (1.0 - ramp * (1.0 - c->head_blend));
  g_autofree char *json = NULL;
  gboolean present;
  LoomPixelHeadConfig hc;

  for (const char *const *name = loom_weights_get_names (t->head); *name != NULL; name++)
    {
      guint n_dims;
      const guint64 *shape;
      const float *data = loom_weights_lookup (t->head, *name, &n_dims, &shape);

      if (!loom_weights_add (w, *name, n_dims, shape, data, error))
        return FALSE;
    }
  if (!loom_pixel_head_config_from_weights (t->head, &present, &hc, error))
    return FALSE;
  hc.blend = blend;
  json = loom_pixel_head_config_json (&hc);
  loom_weights_set_metadata (w, LOOM_METADATA_PIXEL_HEAD, json);
  return TRUE;
}

/* The weights after STEPS steps (checkpoints, the result). */
static LoomWeights *
snapshot (gpointer data, guint steps, GError **error)
{
  const Trainer *t = data;
  const LoomSegmentConfig *c = t->config;
  LoomWeights *w = loom_weights_new ();
  g_autofree char *prov = provenance (c, steps, t->n_images, t->labelled->len);

  if (!loom_unet_store (t->unet, w, error))
    {
      loom_weights_free (w);
      return NULL;
    }
  if (t->head != NULL && !add_head (t, steps, w, error))
    {
      loom_weights_free (w);
      return NULL;
    }
  loom_weights_set_metadata (w, LOOM_METADATA_PROVENANCE, prov);
  loom_segment_set_refine (w, &c->refine);
  if (c->colors != NULL)
    {
      /* Classes a refresh added may have no names yet: "class N". */
      guint named = c->names != NULL ? g_strv_length ((char **) c->names) : 0;
      g_autofree const char **names = g_new0 (const char *, c->colors->len + 1);

      if (named > 0)
        memcpy (names, c->names, MIN (named, c->colors->len) * sizeof *names);
      loom_segment_set_classes (w, c->colors, c->names != NULL ? names : NULL);
    }
  return w;
}

/* The training graph of the config's classes, compiled: the crops, their
 * colour jitter, the U-Net (its batch norms' MOMENTUM, see
 * loom_unet_build_full) and the weighted loss. */
static gboolean
build_graph (Trainer *t, float momentum, GError **error)
{
  const LoomSegmentConfig *c = t->config;
  LoomTensor *x;

  t->graph = loom_graph_new ();
  loom_train_crops_init (&t->crops, t->device, t->graph, t->train_images, t->n_images,
                         c->unet.in_channels, t->crop, c->batch, c->host_crops);
  /* Colours jittered on the device too: a few floats a crop. */
  t->settings = loom_graph_input (t->graph, "photometric settings", c->batch,
                                  LOOM_PHOTO_FLOATS, 1, 1);
  x = loom_graph_photometric (t->graph, t->crops.x, t->settings);
  t->class_weights = loom_graph_input (t->graph, "class weights", c->unet.classes, 1, 1, 1);
  t->unet = loom_unet_build_full (t->graph, &c->unet, x, TRUE, momentum, error);
  if (t->unet == NULL)
    return FALSE;
  t->loss = loom_graph_cross_entropy (t->graph, loom_unet_get_logits (t->unet), t->crops.labels,
                                      t->class_weights, LOOM_UNLABELLED);
  return loom_graph_train_adam (t->graph, t->loss, c->learning_rate, 0.9f, 0.999f, 1e-8f, 0.0f,
                                error)
         && loom_graph_compile (t->graph, t->device, error);
}

/* The head made room for CLASSES classes (more than now): the graph built
 * again around CURRENT, the weights so far, the known classes' rows of the
 * head kept and the new ones fresh (from the seed and STEPS).  Adam's
 * moments start afresh; the schedule goes on. */
static gboolean
grow_head (Trainer *t, guint classes, LoomWeights *current, guint steps, GError **error)
{
  guint known = t->config->unet.classes;
  guint32 seed = t->config->seed + steps;
  LoomWeights *fresh = loom_weights_new (), *merged = loom_weights_new ();
  gboolean ok;

  loom_unet_free (t->unet);
  loom_graph_free (t->graph);
  t->unet = NULL;
  t->graph = NULL;
  loom_train_crops_clear (&t->crops);
  t->config->unet.classes = classes;
  /* Batch norms' running statistics go on from CURRENT's: momentum 0.1. */
  ok = build_graph (t, 0.1f, error) && loom_unet_init (t->unet, seed, error)
       && loom_unet_store (t->unet, fresh, error);
  for (const char *const *name = loom_weights_get_names (current); ok && *name != NULL; name++)
    {
      guint n_dims;
      const guint64 *shape;
      const float *data = loom_weights_lookup (current, *name, &n_dims, &shape);

      if (g_str_has_prefix (*name, "head."))
        {
          /* head.weight (classes × base × 1 × 1), head.bias (classes):
           * the known rows over the fresh head's. */
          guint64 row = 1, grown[LOOM_WEIGHTS_MAX_DIMS];
          float *head;
          const float *init = loom_weights_lookup (fresh, *name, &n_dims, &shape);

          if (init == NULL || n_dims == 0 || shape[0] != classes)
            {
              g_set_error (error, LOOM_ERROR, LOOM_ERROR_FAILED,
                           "segment: the grown model has no head '%s' of %u classes", *name,
                           classes);
              ok = FALSE;
              break;
            }
          for (guint d = 1; d < n_dims; d++)
            row *= shape[d];
          memcpy (grown, shape, n_dims * sizeof *shape);
          head = g_memdup2 (init, classes * row * sizeof (float));
          memcpy (head, data, known * row * sizeof (float));
          ok = loom_weights_add (merged, *name, n_dims, grown, head, error);
          g_free (head);
        }
      else
        ok = loom_weights_add (merged, *name, n_dims, shape, data, error);
    }
  ok = ok && loom_unet_load (t->unet, merged, error);
  loom_weights_free (fresh);
  loom_weights_free (merged);
  if (!ok)
    return FALSE;
  loom_graph_set_seed (t->graph, seed);
  return loom_train_crops_upload (&t->crops, t->graph, error);
}

/* A refresh's new LABELS (NULL: unchanged) into the training: masks
 * applied, the labelled pixels and the class weights counted again, the
 * label atlas rewritten; a class past the model's grows its head (from
 * CURRENT, the weights after STEPS).  Labels refused leave the training as
 * it was. */
static gboolean
fold_labels (Trainer *t, const float *const *labels, LoomWeights *current, guint steps,
             GError **error)
{
  guint known = t->config->unet.classes, classes = known, n = t->n_images;
  g_autofree float *weights = NULL;
  g_autofree float **fresh = g_new0 (float *, n);
  g_autofree const float **was = g_new (const float *, n);
  GArray *old = t->labelled;

  for (guint i = 0; i < n; i++)
    {
      const LoomSegmentImage *given = &t->given[i];
      gsize pixels = (gsize) given->width * given->height;

      was[i] = t->own[i].labels;
      if (labels[i] == NULL)
        continue;
      fresh[i] = g_memdup2 (labels[i], pixels * sizeof (float));
      for (gsize at = 0; at < pixels; at++)
        {
          float v = fresh[i][at];

          if (given->mask != NULL && given->mask[at] < 0.5f)
            fresh[i][at] = LOOM_UNLABELLED;
          else if (v >= (float) classes && v < (float) LOOM_SEGMENT_MAX_CLASSES
                   && v == floorf (v))
            classes = (guint) v + 1;
        }
      t->own[i].labels = fresh[i];
    }
  weights = g_new (float, classes);
  t->labelled = g_array_new (FALSE, FALSE, sizeof (Labelled));
  if (!count_labels (t, classes, weights, error))
    {
      g_array_unref (t->labelled);
      t->labelled = old;
      for (guint i = 0; i < n; i++)
        {
          t->own[i].labels = was[i];
          g_free (fresh[i]);
        }
      g_prefix_error (error, "the new labels: ");
      return FALSE;
    }
  g_array_unref (old);
  for (guint i = 0; i < n; i++)
    if (fresh[i] != NULL)
      {
        g_free (t->refreshed[i]);
        t->refreshed[i] = fresh[i];
        t->train_images[i].labels = fresh[i];
        if (classes == known && !loom_train_crops_update_labels (&t->crops, t->graph, i, error))
          return FALSE;
      }
  if (classes > known && !grow_head (t, classes, current, steps, error))
    return FALSE;
  g_free (t->host_class_weights);
  t->host_class_weights = g_memdup2 (weights, classes * sizeof (float));
  if (!loom_graph_write (t->graph, t->class_weights, weights, error))
    return FALSE;
  /* Phase one again on the new strokes: its answer follows them at once. */
  if (t->head != NULL && t->config->pixel_head)
    {
      float loss;

      g_clear_pointer (&t->head, loom_weights_free);
      return fit_head (t, &loss, error);
    }
  return TRUE;
}

/* Live training: the caller sees the weights so far and may hand new
 * labels (loom-segment.h). */
static gboolean
refresh (gpointer data, guint steps, GError **error)
{
  Trainer *t = data;
  g_autofree const float **labels = g_new0 (const float *, t->n_images);
  LoomWeights *current = snapshot (t, steps, error);
  gboolean ok, any = FALSE;

  if (current == NULL)
    return FALSE;
  ok = t->config->refresh (steps, current, labels, t->n_images, t->config->refresh_data, error);
  for (guint i = 0; i < t->n_images; i++)
    any = any || labels[i] != NULL;
  ok = ok && (!any || fold_labels (t, labels, current, steps, error));
  loom_weights_free (current);
  return ok;
}

static gboolean
train_step (gpointer data, guint step, double done, float *losses, GError **error)
{
  Trainer *t = data;
  const LoomSegmentConfig *c = t->config;

  if (c->pixel_head && step == 0)
    return fit_head (t, losses, error);
  /* Cosine decay over the steps or the time budget, whichever ends first:
   * the weights settle instead of stopping mid-oscillation. */
  loom_graph_set_learning_rate (t->graph, (float) (c->learning_rate
                                                   * (0.05 + 0.95 * 0.5 * (1.0 + cos (G_PI * MIN (done, 1.0))))));
  sample_batch (t);
  loom_segment_random_colors (&t->augment, t->settings_buffer);
  if (!loom_train_crops_write (&t->crops, t->graph, error)
      || !loom_graph_write (t->graph, t->settings, t->settings_buffer, error)
      || !loom_graph_run (t->graph, error) || !loom_graph_read (t->graph, t->loss, losses, error))
    return FALSE;
  if (!isfinite (losses[0]))
    {
      g_set_error (error, LOOM_ERROR, LOOM_ERROR_FAILED,
                   "segment: the loss became %g at step %u; try a lower learning rate",
                   losses[0], step + 1);
      return FALSE;
    }
  return TRUE;
}

/* The scaffold's checks of the images, the crops and the batch. */
static gboolean
check_crops (const LoomSegmentConfig *c, const LoomTrainImage *images, guint n_images,
             guint *crop, GError **error)
{
  guint quantum = 1u << c->unet.depth, smallest;
  g_autofree char *model = g_strdup_printf ("a U-Net of depth %u", c->unet.depth);

  /* Crops fit every image and the U-Net: a multiple of 2^depth. */
  return loom_train_check_images ("segment", images, n_images, TRUE, &smallest, error)
         && loom_train_check_crop ("segment", c->crop, smallest, quantum, model, crop, error)
         && loom_train_check_batch ("segment", c->batch, "crop", c->steps, c->seconds, error);
}

LoomWeights *
loom_segment_train (LoomDevice *device, const LoomSegmentConfig *config,
                    const LoomSegmentImage *images, guint n_images, LoomWeights *start,
                    LoomTrainProgressFunc progress, gpointer data, GCancellable *cancellable,
                    GError **error)
{
  static const char *const loss_names[] = { "loss" };
  LoomSegmentConfig c = *config;
  Trainer t = { .config = &c, .n_images = n_images, .device = device };
  g_autofree LoomSegmentImage *own = NULL;
  g_autofree LoomTrainImage *train_images = NULL;
  g_autoptr (GPtrArray) copies = NULL;
  LoomWeights *result = NULL;
  g_autofree float *class_weights = NULL;
  guint crop;

  g_return_val_if_fail (device != NULL && config != NULL && images != NULL, NULL);
  if (start != NULL && !loom_unet_config_from_weights (start, &c.unet, error))
    return NULL;
  /* A starting point of other classes gives its shape, not its classes. */
  if (start != NULL && c.start_features)
    c.unet.classes = config->unet.classes;
  own = g_new (LoomSegmentImage, n_images);
  copies = loom_segment_apply_masks (images, n_images, own);
  train_images = g_new (LoomTrainImage, n_images);
  for (guint i = 0; i < n_images; i++)
    train_images[i] = (LoomTrainImage) { own[i].planes, own[i].labels, own[i].width,
                                         own[i].height };
  if (!check_crops (&c, train_images, n_images, &crop, error))
    return NULL;
  t.images = t.own = own;
  t.given = images;
  t.device = device;
  t.crop = crop;
  t.train_images = train_images;
  t.refreshed = g_new0 (float *, n_images);
  t.labelled = g_array_new (FALSE, FALSE, sizeof (Labelled));
  loom_segment_augment_init (&t.augment, &c, own, n_images, crop, c.batch);
  class_weights = g_new (float, c.unet.classes);
  if (!count_labels (&t, c.unet.classes, class_weights, error))
    goto out;
  /* Phase one needs strokes of every class (fine-tuning a model with one
   * colour painted is fine for the network, which remembers the others;
   * a fresh head would know one class): else a model's own head stays. */
  for (guint k = 0; k < c.unet.classes; k++)
    if (class_weights[k] == 0.0f)
      c.pixel_head = FALSE;
  if (!c.pixel_head && config->pixel_head && start != NULL && !c.start_features
      && !keep_head (&t, start, error))
    goto out;
  if (c.pixel_head && !choose_encoder (&t, start, error))
    goto out;
  t.host_class_weights = g_memdup2 (class_weights, c.unet.classes * sizeof (float));

  /* Running statistics averaged over all batches for the first ten
   * steps, then with momentum 0.1: right after a short training too. */
  if (!build_graph (&t, -0.1f, error)
      || !(start == NULL ? loom_unet_init (t.unet, c.seed, error)
           : c.start_features ? loom_unet_init (t.unet, c.seed, error)
                                && loom_unet_load_features (t.unet, start, error)
           : loom_unet_load (t.unet, start, error))
      || !loom_graph_write (t.graph, t.class_weights, class_weights, error))
    goto out;
  loom_graph_set_seed (t.graph, c.seed);
  if (!loom_train_crops_upload (&t.crops, t.graph, error))
    goto out;
  t.settings_buffer = g_new (float, (gsize) c.batch * LOOM_PHOTO_FLOATS);
  /* With phase one, its result is a checkpoint at once: the first answer. */
  result = loom_train_loop (&(LoomTrainLoop) { c.steps, c.seconds, c.checkpoint,
                                               c.checkpoint_every, loss_names, 1, progress,
                                               data, cancellable,
                                               c.refresh != NULL ? refresh : NULL,
                                               c.refresh_seconds, c.pixel_head },
                            train_step, snapshot, &t, error);
out:
  loom_unet_free (t.unet);
  loom_graph_free (t.graph);
  loom_train_crops_clear (&t.crops);
  loom_segment_augment_clear (&t.augment);
  g_array_unref (t.labelled);
  g_free (t.settings_buffer);
  if (t.head != NULL)
    loom_weights_free (t.head);
  g_free (t.host_class_weights);
  for (guint i = 0; i < n_images; i++)
    g_free (t.refreshed[i]);
  g_free (t.refreshed);
  return result;
}
