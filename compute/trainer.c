/* The trainers' scaffold (see trainer.h). */
#include <string.h>

#include "budget.h"
#include "crop-map.h"
#include "ops/params.h"
#include "trainer.h"

gboolean
loom_train_check_budget (guint steps, double seconds, GError **error)
{
  if (steps == 0 && seconds <= 0)
    {
      g_set_error (error, LOOM_ERROR, LOOM_ERROR_INVALID_ARGUMENT,
                   "steps 0 needs a time limit: give steps, seconds or both");
      return FALSE;
    }
  return TRUE;
}

gboolean
loom_train_host_crops_from_env (void)
{
  return g_getenv ("LOOM_HOST_CROPS") != NULL;
}

/* ---- checks ---------------------------------------------------------------- */

gboolean
loom_train_check_images (const char *who, const LoomTrainImage *images, guint n_images,
                         gboolean need_labels, guint *smallest, GError **error)
{
  if (n_images == 0)
    {
      g_set_error (error, LOOM_ERROR, LOOM_ERROR_INVALID_ARGUMENT, "%s: no images", who);
      return FALSE;
    }
  *smallest = G_MAXUINT;
  for (guint i = 0; i < n_images; i++)
    {
      if (images[i].planes == NULL || (need_labels && images[i].labels == NULL)
          || images[i].width == 0 || images[i].height == 0)
        {
          g_set_error (error, LOOM_ERROR, LOOM_ERROR_INVALID_ARGUMENT,
                       "%s: image %u has no pixels%s", who, i + 1,
                       need_labels ? " or no labels" : "");
          return FALSE;
        }
      *smallest = MIN (*smallest, MIN (images[i].width, images[i].height));
    }
  return TRUE;
}

gboolean
loom_train_check_crop (const char *who, guint wanted, guint smallest, guint quantum,
                       const char *model, guint *crop, GError **error)
{
  *crop = MIN (wanted, smallest) / quantum * quantum;
  if (*crop < 2 * quantum)
    {
      g_set_error (error, LOOM_ERROR, LOOM_ERROR_INVALID_ARGUMENT,
                   "%s: an image of %u pixels across is too small for %s (at least %u)",
                   who, smallest, model, 2 * quantum);
      return FALSE;
    }
  return TRUE;
}

gboolean
loom_train_check_batch (const char *who, guint batch, const char *item, guint steps,
                        double seconds, GError **error)
{
  if (batch == 0 || !loom_train_check_budget (steps, seconds, NULL))
    {
      g_set_error (error, LOOM_ERROR, LOOM_ERROR_INVALID_ARGUMENT,
                   "%s: a batch of at least one %s and a step count or a time budget "
                   "are needed", who, item);
      return FALSE;
    }
  return TRUE;
}

/* ---- crops ----------------------------------------------------------------- */

/* The label atlas of images without labels: one value no map fits, so
 * their crops come unlabelled. */
static const float no_labels[1] = { -1.0f };

void
loom_train_crops_init (LoomTrainCrops *crops, LoomDevice *device, LoomGraph *g,
                       const LoomTrainImage *images, guint n_images, guint channels,
                       guint crop, guint batch, gboolean host)
{
  guint64 image_floats = 0, label_floats = 0;

  *crops = (LoomTrainCrops) { .images = images, .n_images = n_images, .channels = channels,
                              .crop = crop, .batch = batch };
  crops->image_at = g_new0 (guint32, n_images);
  crops->label_at = g_new0 (guint32, n_images);
  for (guint i = 0; i < n_images; i++)
    {
      crops->image_at[i] = (guint32) MIN (image_floats, G_MAXUINT32);
      image_floats += (guint64) channels * images[i].width * images[i].height;
      if (images[i].labels != NULL)
        {
          crops->label_at[i] = (guint32) MIN (label_floats, G_MAXUINT32);
          label_floats += (guint64) images[i].width * images[i].height;
        }
    }
  crops->on_device = image_floats * sizeof (float) <= loom_device_get_max_binding (device)
                  && image_floats <= G_MAXUINT32 && !host;
  crops->maps = g_new0 (float, (gsize) batch * LOOM_AFFINE_FLOATS);
  if (crops->on_device)
    {
      crops->atlas = loom_graph_input (g, "image atlas", 1, 1, 1, (guint) image_floats);
      crops->label_atlas = loom_graph_input (g, "label atlas", 1, 1, 1,
                                             (guint) MAX (label_floats, 1));
      crops->maps_in = loom_graph_input (g, "crop maps", batch, LOOM_AFFINE_FLOATS, 1, 1);
      loom_graph_affine_sample (g, crops->atlas, crops->label_atlas, crops->maps_in, batch,
                                channels, crop, &crops->x, &crops->labels);
    }
  else
    {
      crops->x = loom_graph_input (g, "crops", batch, channels, crop, crop);
      crops->labels = loom_graph_input (g, "labels", batch, 1, crop, crop);
      crops->host_x = g_new (float, (gsize) batch * channels * crop * crop);
      crops->host_labels = g_new (float, (gsize) batch * crop * crop);
    }
}

gboolean
loom_train_crops_upload (LoomTrainCrops *crops, LoomGraph *g, GError **error)
{
  for (guint i = 0; crops->on_device && i < crops->n_images; i++)
    {
      const LoomTrainImage *im = &crops->images[i];
      gsize pixels = (gsize) im->width * im->height;

      if (!loom_graph_write_range (g, crops->atlas, crops->image_at[i], crops->channels * pixels,
                                   im->planes, error)
          || (im->labels != NULL
              && !loom_graph_write_range (g, crops->label_atlas, crops->label_at[i], pixels,
                                          im->labels, error)))
        return FALSE;
    }
  return TRUE;
}

void
loom_train_crops_place (LoomTrainCrops *crops, guint i, guint image)
{
  const LoomTrainImage *im = &crops->images[image];
  float *m = crops->maps + (gsize) i * LOOM_AFFINE_FLOATS;
  gsize per = (gsize) crops->crop * crops->crop;

  if (crops->on_device)
    {
      loom_crop_map_source (m, crops->image_at[image], crops->label_at[image], im->width,
                            im->height);
      return;
    }
  /* Host crops read their own image alone: offsets 0. */
  loom_crop_map_source (m, 0, 0, im->width, im->height);
  loom_crop_cut (m, crops->channels, crops->crop, im->planes,
                 MIN ((guint64) crops->channels * im->width * im->height, G_MAXUINT32),
                 im->labels != NULL ? im->labels : no_labels,
                 im->labels != NULL ? MIN ((guint64) im->width * im->height, G_MAXUINT32) : 1,
                 crops->host_x + (gsize) i * crops->channels * per, crops->host_labels + i * per);
}

gboolean
loom_train_crops_write (LoomTrainCrops *crops, LoomGraph *g, GError **error)
{
  if (crops->on_device)
    return loom_graph_write (g, crops->maps_in, crops->maps, error);
  return loom_graph_write (g, crops->x, crops->host_x, error)
         && loom_graph_write (g, crops->labels, crops->host_labels, error);
}

gboolean
loom_train_crops_update_labels (LoomTrainCrops *crops, LoomGraph *g, guint image,
                                GError **error)
{
  const LoomTrainImage *im = &crops->images[image];

  g_return_val_if_fail (image < crops->n_images && im->labels != NULL, FALSE);
  return !crops->on_device
         || loom_graph_write_range (g, crops->label_atlas, crops->label_at[image],
                                    (gsize) im->width * im->height, im->labels, error);
}

void
loom_train_crops_clear (LoomTrainCrops *crops)
{
  g_clear_pointer (&crops->image_at, g_free);
  g_clear_pointer (&crops->label_at, g_free);
  g_clear_pointer (&crops->maps, g_free);
  g_clear_pointer (&crops->host_x, g_free);
  g_clear_pointer (&crops->host_labels, g_free);
}

/* ---- the step loop ----------------------------------------------------------- */

LoomWeights *
loom_train_loop (const LoomTrainLoop *loop, LoomTrainStepFunc step_func,
                 LoomTrainSnapshotFunc snapshot, gpointer trainer, GError **error)
{
  g_autofree float *values = g_new0 (float, MAX (loop->n_losses, 1));
  g_autofree LoomTrainLoss *losses = g_new0 (LoomTrainLoss, MAX (loop->n_losses, 1));
  gint64 began = g_get_monotonic_time (), refreshed = began;
  guint step;

  for (step = 0; loop->steps == 0 || step < loop->steps; step++)
    {
      double elapsed = (g_get_monotonic_time () - began) / 1e6;
      /* The share of the budget spent: the steps' or the time's, whichever
       * ends first. */
      double done = MAX (loop->steps > 0 ? (double) step / loop->steps : 0.0,
                         loop->seconds > 0 ? elapsed / loop->seconds : 0.0);
      double eta;
      LoomTrainProgress progress;

      if ((loop->seconds > 0 && elapsed >= loop->seconds)
          || g_cancellable_is_cancelled (loop->cancellable))
        break;
      if (!step_func (trainer, step, done, values, error))
        return NULL;
      elapsed = (g_get_monotonic_time () - began) / 1e6;
      eta = loom_budget_eta (step + 1, loop->steps, loop->seconds, elapsed);
      if (loop->checkpoint != NULL
          && ((loop->checkpoint_every > 0 && (step + 1) % loop->checkpoint_every == 0)
              || (loop->checkpoint_first && step == 0)))
        {
          LoomWeights *w = snapshot (trainer, step + 1, error);
          gboolean saved = w != NULL && loom_weights_save (w, loop->checkpoint, error);

          loom_weights_free (w);
          if (!saved)
            return NULL;
        }
      if (loop->refresh != NULL
          && (g_get_monotonic_time () - refreshed) / 1e6 >= loop->refresh_seconds)
        {
          if (!loop->refresh (trainer, step + 1, error))
            return NULL;
          refreshed = g_get_monotonic_time ();
        }
      for (guint i = 0; i < loop->n_losses; i++)
        losses[i] = (LoomTrainLoss) { loop->loss_names[i], values[i] };
      progress = (LoomTrainProgress) { step + 1, loop->steps, eta, losses, loop->n_losses };
      if (loop->progress != NULL && !loop->progress (&progress, loop->data))
        {
          step++;
          break;
        }
    }
  return snapshot (trainer, step, error);
}
