/* Segmentation's augmentation (see segment/augment.h), and
 * loom_segment_augment: augmented copies for data sets. */
#include <math.h>
#include <string.h>

#include "crop-map.h"
#include "ops/params.h"
#include "segment/augment.h"

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

void
loom_segment_random_map (LoomSegmentAugment *s, guint x0, guint y0, float *m)
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
  m[LOOM_AFFINE_ELASTIC] = on ? (float) c->elastic : 0.0f;
  memcpy (&m[LOOM_AFFINE_ELASTIC_SEED], &seed, 4);
}

void
loom_segment_random_colors (LoomSegmentAugment *s, float *settings)
{
  const LoomSegmentConfig *c = s->config;
  double k = c->augment ? c->color : 0.0;

  for (guint i = 0; i < s->batch; i++)
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

void
loom_segment_augment_init (LoomSegmentAugment *a, const LoomSegmentConfig *config,
                           const LoomSegmentImage *images, guint n_images, guint crop,
                           guint batch)
{
  *a = (LoomSegmentAugment) { .config = config, .images = images, .crop = crop,
                              .channels = config->unet.in_channels, .batch = batch };
  a->rand = g_rand_new_with_seed (config->seed);
  a->grey = mean_greys (images, n_images, a->channels);
  a->crop_image = g_new0 (guint, batch);
}

void
loom_segment_augment_clear (LoomSegmentAugment *a)
{
  g_clear_pointer (&a->rand, g_rand_free);
  g_clear_pointer (&a->grey, g_free);
  g_clear_pointer (&a->crop_image, g_free);
}

GPtrArray *
loom_segment_apply_masks (const LoomSegmentImage *images, guint n_images, LoomSegmentImage *own)
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

/* ---- augmentation on its own ------------------------------------------------- */

gboolean
loom_segment_augment (LoomDevice *device, const LoomSegmentConfig *config,
                      const LoomSegmentImage *image, guint count, guint size,
                      float *out_planes, float *out_labels, GError **error)
{
  guint channels = config->unet.in_channels;
  LoomSegmentAugment s;
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
      || (guint64) channels * pixels > G_MAXUINT32
      || (guint64) channels * pixels * sizeof (float) > loom_device_get_max_binding (device))
    {
      g_set_error (error, LOOM_ERROR, LOOM_ERROR_INVALID_ARGUMENT,
                   "augment: crops of %u from an image of %u×%u (%u channels) are not possible "
                   "here (a crop must fit the image, the image one binding of the device)",
                   size, image->width, image->height, channels);
      return FALSE;
    }
  copies = loom_segment_apply_masks (image, 1, &own);
  image = &own;
  loom_segment_augment_init (&s, config, image, 1, size, batch);
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

          loom_segment_random_map (&s, x0, y0, mb + i * LOOM_AFFINE_FLOATS);
          loom_crop_map_source (mb + i * LOOM_AFFINE_FLOATS, 0, 0, image->width, image->height);
        }
      loom_segment_random_colors (&s, sb);
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
  loom_segment_augment_clear (&s);
  return ok;
}
