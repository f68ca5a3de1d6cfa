/* What a segmentation rests on (see loom-segment.h): uncertainty, where
 * to paint next, and occlusion evidence for a region. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include <loom/loom-segment.h>

void
loom_segment_entropy (const float *probabilities, guint classes, gsize n, float *uncertainty)
{
  double scale = classes > 1 ? 1.0 / log ((double) classes) : 0.0;

  for (gsize i = 0; i < n; i++)
    {
      double e = 0.0;

      for (guint k = 0; k < classes; k++)
        {
          double p = probabilities[k * n + i];

          if (p > 0.0)
            e -= p * log (p);
        }
      uncertainty[i] = (float) CLAMP (e * scale, 0.0, 1.0);
    }
}

/* Cell I's first pixel along a side of SIZE: every cell whole, the last
 * one flush with the edge (overlapping its neighbour) rather than a sliver. */
static guint
cell_origin (guint i, guint block, guint size)
{
  return size > block ? MIN (i * block, size - block) : 0;
}

GArray *
loom_segment_paint_next (const float *uncertainty, guint width, guint height, guint count,
                         guint block)
{
  GArray *regions = g_array_new (FALSE, FALSE, sizeof (LoomSegmentRegion));
  g_autofree double *mean = NULL;
  g_autofree gboolean *taken = NULL;
  guint gx, gy;

  if (width == 0 || height == 0)
    return regions;
  block = block != 0 ? block : CLAMP (MIN (width, height) / 10, 8, 64);
  gx = (width + block - 1) / block;
  gy = (height + block - 1) / block;
  mean = g_new0 (double, (gsize) gx * gy);
  taken = g_new0 (gboolean, (gsize) gx * gy);
  for (guint cy = 0; cy < gy; cy++)
    for (guint cx = 0; cx < gx; cx++)
      {
        guint x0 = cell_origin (cx, block, width), y0 = cell_origin (cy, block, height);
        guint x1 = MIN (width, x0 + block), y1 = MIN (height, y0 + block);
        double sum = 0.0;

        for (guint y = y0; y < y1; y++)
          for (guint x = x0; x < x1; x++)
            sum += uncertainty[(gsize) y * width + x];
        mean[(gsize) cy * gx + cx] = sum / ((double) (x1 - x0) * (y1 - y0));
      }

  while (regions->len < count)
    {
      gsize best = G_MAXSIZE;
      guint bx, by;

      for (gsize i = 0; i < (gsize) gx * gy; i++)
        if (!taken[i] && mean[i] >= 0.05 && (best == G_MAXSIZE || mean[i] > mean[best]))
          best = i;
      if (best == G_MAXSIZE)
        break;
      bx = (guint) (best % gx);
      by = (guint) (best / gx);
      g_array_append_val (regions, ((LoomSegmentRegion) {
        cell_origin (bx, block, width), cell_origin (by, block, height), MIN (block, width),
        MIN (block, height), (float) mean[best] }));
      /* it and its eight neighbours: the next one is somewhere else */
      for (guint y = by > 0 ? by - 1 : 0; y <= by + 1 && y < gy; y++)
        for (guint x = bx > 0 ? bx - 1 : 0; x <= bx + 1 && x < gx; x++)
          taken[(gsize) y * gx + x] = TRUE;
    }
  return regions;
}

/* Magenta at ALPHA over the pixel P (straight alpha). */
static void
over (guint8 *p, float alpha)
{
  static const float magenta[3] = { 255.0f, 0.0f, 255.0f };
  float below = p[3] / 255.0f, out = alpha + below * (1.0f - alpha);

  for (guint c = 0; c < 3; c++)
    p[c] = out > 0 ? (guint8) lrintf ((magenta[c] * alpha + p[c] * below * (1.0f - alpha)) / out) : 0;
  p[3] = (guint8) lrintf (out * 255.0f);
}

void
loom_segment_mark_regions (const GArray *regions, guint8 *rgba, guint width, guint height,
                           gsize stride)
{
  for (guint r = 0; r < regions->len; r++)
    {
      const LoomSegmentRegion *g = &g_array_index (regions, LoomSegmentRegion, r);

      for (guint y = g->y; y < g->y + g->height && y < height; y++)
        for (guint x = g->x; x < g->x + g->width && x < width; x++)
          {
            gboolean edge = x < g->x + 2 || y < g->y + 2 || x + 2 >= g->x + g->width
                            || y + 2 >= g->y + g->height;

            over (rgba + (gsize) y * stride + 4 * (gsize) x, edge ? 1.0f : 0.25f);
          }
    }
}

gint
loom_segment_find_class (const GArray *colors, const char *const *names, const char *word)
{
  guint64 number;
  guint r, g, b;
  char end;

  if (g_ascii_string_to_unsigned (word, 10, 0, G_MAXINT, &number, NULL))
    return number < colors->len ? (gint) number : -1;
  if (word[0] == '#')
    {
      if (strlen (word) != 7 || sscanf (word, "#%2x%2x%2x%c", &r, &g, &b, &end) != 3)
        return -1;
      for (guint k = 0; k < colors->len; k++)
        {
          const LoomColor *c = &g_array_index (colors, LoomColor, k);

          if (c->r == r && c->g == g && c->b == b)
            return (gint) k;
        }
      return -1;
    }
  for (guint k = 0; names != NULL && names[k] != NULL && k < colors->len; k++)
    if (g_ascii_strcasecmp (names[k], word) == 0)
      return (gint) k;
  return -1;
}

gint
loom_segment_region_class (const float *classes, const float *region, gsize n, guint n_classes)
{
  g_autofree guint *votes = g_new0 (guint, MAX (n_classes, 1));
  guint most = 0;
  gint klass = -1;

  for (gsize i = 0; i < n; i++)
    if ((region == NULL || region[i] >= 0.5f) && classes[i] >= 0 && classes[i] < n_classes)
      votes[(guint) classes[i]]++;
  for (guint k = 0; k < n_classes; k++)
    if (votes[k] > most)
      most = votes[k], klass = (gint) k;
  return klass;
}

/* The mean of class KLASS's probability (PROBS, K × N) over the region. */
static double
region_mean (const float *probs, guint klass, const guint8 *inside, gsize n)
{
  double sum = 0.0;
  gsize count = 0;

  for (gsize i = 0; i < n; i++)
    if (inside[i])
      sum += probs[klass * n + i], count++;
  return sum / (double) MAX (count, 1);
}

gboolean
loom_segment_evidence (LoomDevice *device, LoomWeights *weights, const LoomSegmentImage *image,
                       const float *region, guint klass, guint patch, float *evidence,
                       LoomTrainProgressFunc progress, gpointer data, GCancellable *cancellable,
                       GError **error)
{
  LoomUNetConfig c;
  guint x0 = G_MAXUINT, y0 = G_MAXUINT, x1 = 0, y1 = 0, ww, wh, margin, px, py;
  gsize plane, wplane;
  g_autofree float *win = NULL, *occluded = NULL, *wmask = NULL, *probs = NULL, *grey = NULL;
  g_autofree guint8 *inside = NULL;
  double base;
  guint done = 0;

  g_return_val_if_fail (device != NULL && weights != NULL && image != NULL, FALSE);
  g_return_val_if_fail (region != NULL && evidence != NULL, FALSE);
  if (!loom_unet_config_from_weights (weights, &c, error))
    return FALSE;
  if (image->planes == NULL || image->width == 0 || image->height == 0)
    {
      g_set_error (error, LOOM_ERROR, LOOM_ERROR_INVALID_ARGUMENT, "explain: an empty image");
      return FALSE;
    }
  if (klass >= c.classes)
    {
      g_set_error (error, LOOM_ERROR, LOOM_ERROR_INVALID_ARGUMENT,
                   "explain: class %u, but the model has classes 0 to %u", klass, c.classes - 1);
      return FALSE;
    }
  plane = (gsize) image->width * image->height;
  for (guint y = 0; y < image->height; y++)
    for (guint x = 0; x < image->width; x++)
      {
        gsize i = (gsize) y * image->width + x;

        if (region[i] >= 0.5f && (image->mask == NULL || image->mask[i] >= 0.5f))
          {
            x0 = MIN (x0, x), y0 = MIN (y0, y);
            x1 = MAX (x1, x + 1), y1 = MAX (y1, y + 1);
          }
      }
  if (x0 == G_MAXUINT)
    {
      g_set_error (error, LOOM_ERROR, LOOM_ERROR_INVALID_ARGUMENT,
                   "explain: the region holds no pixel of the image");
      return FALSE;
    }
  /* The window: the region and what the network sees around it. */
  margin = 8u << MIN (c.depth, 6u);
  x0 = x0 > margin ? x0 - margin : 0;
  y0 = y0 > margin ? y0 - margin : 0;
  x1 = MIN (image->width, x1 + margin);
  y1 = MIN (image->height, y1 + margin);
  ww = x1 - x0;
  wh = y1 - y0;
  if (ww > 2048 || wh > 2048)
    {
      g_set_error (error, LOOM_ERROR, LOOM_ERROR_INVALID_ARGUMENT,
                   "explain: the region spans %u×%u pixels with its margin; at most 2048×2048",
                   ww, wh);
      return FALSE;
    }
  patch = patch != 0 ? patch : MAX (4u, (MAX (ww, wh) + 23) / 24);
  wplane = (gsize) ww * wh;
  win = g_new (float, c.in_channels * wplane);
  inside = g_new0 (guint8, wplane);
  grey = g_new0 (float, c.in_channels);
  if (image->mask != NULL)
    wmask = g_new (float, wplane);
  for (guint y = 0; y < wh; y++)
    for (guint x = 0; x < ww; x++)
      {
        gsize i = (gsize) (y0 + y) * image->width + x0 + x, j = (gsize) y * ww + x;
        gboolean seen = image->mask == NULL || image->mask[i] >= 0.5f;

        for (guint ch = 0; ch < c.in_channels; ch++)
          win[ch * wplane + j] = image->planes[ch * plane + i];
        if (wmask != NULL)
          wmask[j] = image->mask[i];
        inside[j] = seen && region[i] >= 0.5f;
      }
  /* The grey a patch becomes: the window's mean colour. */
  {
    gsize seen = 0;

    for (gsize j = 0; j < wplane; j++)
      if (wmask == NULL || wmask[j] >= 0.5f)
        {
          for (guint ch = 0; ch < c.in_channels; ch++)
            grey[ch] += win[ch * wplane + j];
          seen++;
        }
    for (guint ch = 0; ch < c.in_channels; ch++)
      grey[ch] /= (float) MAX (seen, 1);
  }

  probs = g_new (float, (gsize) c.classes * wplane);
  if (!loom_segment_predict_probabilities (device, weights,
                                           &(LoomSegmentImage) { win, NULL, ww, wh, wmask },
                                           0, NULL, NULL, probs, NULL, NULL, cancellable, error))
    return FALSE;
  base = region_mean (probs, klass, inside, wplane);

  memset (evidence, 0, plane * sizeof (float));
  occluded = g_memdup2 (win, c.in_channels * wplane * sizeof (float));
  px = (ww + patch - 1) / patch;
  py = (wh + patch - 1) / patch;
  for (guint cy = 0; cy < py; cy++)
    for (guint cx = 0; cx < px; cx++)
      {
        guint ax = cx * patch, ay = cy * patch;
        guint bx = MIN (ww, ax + patch), by = MIN (wh, ay + patch);
        double drop;

        for (guint ch = 0; ch < c.in_channels; ch++)
          for (guint y = ay; y < by; y++)
            for (guint x = ax; x < bx; x++)
              occluded[ch * wplane + (gsize) y * ww + x] = grey[ch];
        if (!loom_segment_predict_probabilities (device, weights,
                                                 &(LoomSegmentImage) { occluded, NULL, ww, wh,
                                                                       wmask },
                                                 0, NULL, NULL, probs, NULL, NULL, cancellable,
                                                 error))
          return FALSE;
        drop = MAX (base - region_mean (probs, klass, inside, wplane), 0.0);
        for (guint y = ay; y < by; y++)
          for (guint x = ax; x < bx; x++)
            {
              gsize i = (gsize) (y0 + y) * image->width + x0 + x;

              if (wmask == NULL || wmask[(gsize) y * ww + x] >= 0.5f)
                evidence[i] = (float) drop;
              for (guint ch = 0; ch < c.in_channels; ch++)
                occluded[ch * wplane + (gsize) y * ww + x] = win[ch * wplane + (gsize) y * ww + x];
            }
        done++;
        if (progress != NULL
            && !progress (&(LoomTrainProgress) { done, px * py, 0.0, NULL, 0 }, data))
          {
            g_set_error (error, G_IO_ERROR, G_IO_ERROR_CANCELLED, "explain: stopped");
            return FALSE;
          }
      }
  return TRUE;
}
