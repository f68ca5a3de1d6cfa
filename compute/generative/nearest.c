/* A generated sample's nearest training crop, and images laid out in a
 * grid (see loom-generative.h). */
#include <math.h>
#include <string.h>

#include <loom/loom-generative.h>

typedef struct
{
  const float *sample;
  guint        channels, width, height;
  double       best;            /* the least sum of squares so far */
  LoomNearestCrop found;
} Search;

/* The crop of IMAGE (number I) at X, Y against the sample: kept if nearer;
 * the sum stops as soon as it passes the best. */
static void
try_crop (Search *s, const LoomGenerativeImage *image, guint i, guint x, guint y)
{
  double sum = 0;

  for (guint ch = 0; ch < s->channels; ch++)
    for (guint v = 0; v < s->height; v++)
      {
        const float *a = s->sample + ((gsize) ch * s->height + v) * s->width;
        const float *b = image->planes + ((gsize) ch * image->height + y + v) * image->width + x;

        for (guint q = 0; q < s->width; q++)
          sum += (double) (a[q] - b[q]) * (a[q] - b[q]);
        if (sum >= s->best)
          return;
      }
  s->best = sum;
  s->found = (LoomNearestCrop) { i, x, y, 0 };
}

gboolean
loom_generative_nearest_crop (const float *sample, guint channels, guint width, guint height,
                              const LoomGenerativeImage *images, guint n_images, guint stride,
                              LoomNearestCrop *found, GError **error)
{
  Search s = { sample, channels, width, height, INFINITY, { 0 } };
  const LoomGenerativeImage *im;
  guint bx, by;

  g_return_val_if_fail (sample != NULL && found != NULL && (images != NULL || n_images == 0),
                        FALSE);
  stride = MAX (stride, 1u);
  for (guint i = 0; i < n_images; i++)
    {
      im = &images[i];
      if (im->width < width || im->height < height || width == 0 || height == 0)
        continue;
      for (guint y = 0; y <= im->height - height; y += stride)
        for (guint x = 0; x <= im->width - width; x += stride)
          try_crop (&s, im, i, x, y);
    }
  if (isinf (s.best))
    {
      g_set_error (error, LOOM_ERROR, LOOM_ERROR_INVALID_ARGUMENT,
                   "nearest crop: none of the %u image%s is as large as the sample (%u×%u)",
                   n_images, n_images == 1 ? "" : "s", width, height);
      return FALSE;
    }
  /* Every position within STRIDE of the grid's best. */
  im = &images[s.found.image];
  bx = s.found.x;
  by = s.found.y;
  for (guint y = by - MIN (by, stride - 1); y <= MIN (by + stride - 1, im->height - height); y++)
    for (guint x = bx - MIN (bx, stride - 1); x <= MIN (bx + stride - 1, im->width - width); x++)
      try_crop (&s, im, s.found.image, x, y);
  *found = s.found;
  found->distance = sqrt (s.best / ((double) channels * width * height));
  return TRUE;
}

float *
loom_generative_grid (const float *images, guint count, guint channels, guint width,
                      guint height, guint columns, guint gap, guint *out_width,
                      guint *out_height, GError **error)
{
  guint rows;
  guint64 w, h;
  float *out;

  g_return_val_if_fail (images != NULL && count > 0 && columns > 0, NULL);
  columns = MIN (columns, count);
  rows = (count + columns - 1) / columns;
  w = (guint64) columns * width + (guint64) (columns - 1) * gap;
  h = (guint64) rows * height + (guint64) (rows - 1) * gap;
  if (w > 65536 || h > 65536 || w == 0 || h == 0)
    {
      g_set_error (error, LOOM_ERROR, LOOM_ERROR_INVALID_ARGUMENT,
                   "a grid of %u images of %u×%u would be %" G_GUINT64_FORMAT "×%"
                   G_GUINT64_FORMAT " (65536 a side at most)", count, width, height, w, h);
      return NULL;
    }
  out = g_new (float, (gsize) channels * w * h);
  for (gsize i = 0; i < (gsize) channels * w * h; i++)
    out[i] = 1.0f;
  for (guint k = 0; k < count; k++)
    {
      gsize x0 = (gsize) (k % columns) * (width + gap), y0 = (gsize) (k / columns) * (height + gap);

      for (guint ch = 0; ch < channels; ch++)
        for (guint v = 0; v < height; v++)
          memcpy (out + ((gsize) ch * h + y0 + v) * w + x0,
                  images + (((gsize) k * channels + ch) * height + v) * width,
                  width * sizeof (float));
    }
  *out_width = (guint) w;
  *out_height = (guint) h;
  return out;
}
