/* Edges that follow the image (see loom-segment.h): each class's
 * probability through a guided filter (He, Sun and Tang, 2010) whose guide
 * is the image's grey.  Within a window the output is a linear function of
 * the guide, so probabilities snap to the image's edges and the noise of
 * per-pixel answers averages out; label colours stay exact because only
 * the probabilities move and the class is still their argmax. */
#include <math.h>
#include <string.h>

#include <json-glib/json-glib.h>

#include <loom/loom-segment.h>

/* The mean of PLANE (W × H) over (2R + 1)² windows, clipped at the edges,
 * into OUT: running sums along rows, then down columns. */
static void
box_mean (const float *plane, guint W, guint H, guint r, float *out, double *line)
{
  for (guint y = 0; y < H; y++)
    {
      const float *src = plane + (gsize) y * W;
      float *dst = out + (gsize) y * W;
      double sum = 0;

      line[0] = 0;
      for (guint x = 0; x < W; x++)
        line[x + 1] = line[x] + src[x];
      for (guint x = 0; x < W; x++)
        {
          guint a = x > r ? x - r : 0, b = MIN (x + r + 1, W);

          sum = line[b] - line[a];
          dst[x] = (float) (sum / (b - a));
        }
    }
  for (guint x = 0; x < W; x++)
    {
      line[0] = 0;
      for (guint y = 0; y < H; y++)
        line[y + 1] = line[y] + out[(gsize) y * W + x];
      for (guint y = 0; y < H; y++)
        {
          guint a = y > r ? y - r : 0, b = MIN (y + r + 1, H);

          out[(gsize) y * W + x] = (float) ((line[b] - line[a]) / (b - a));
        }
    }
}

gboolean
loom_segment_refine (const LoomSegmentImage *image, guint channels, guint classes,
                     const LoomSegmentRefine *refine, float *probabilities, GError **error)
{
  guint W = image->width, H = image->height;
  /* No window wider than a thirtieth of the image: on small images the
   * radius shrinks with it (objects do too). */
  guint r = MIN (refine->radius, MIN (W, H) / 30);
  gsize n = (gsize) W * H;
  g_autofree float *guide = NULL, *mean_i = NULL, *var_i = NULL, *mean_p = NULL, *cov = NULL;
  g_autofree double *line = NULL;
  float eps = refine->eps;

  if (r == 0)
    return TRUE;
  if (channels == 0 || classes == 0 || !(eps > 0.0f))
    {
      g_set_error (error, LOOM_ERROR, LOOM_ERROR_INVALID_ARGUMENT,
                   "segment: refinement needs channels, classes and a positive ε");
      return FALSE;
    }
  guide = g_new (float, n);
  mean_i = g_new (float, n);
  var_i = g_new (float, n);
  mean_p = g_new (float, n);
  cov = g_new (float, n);
  line = g_new (double, MAX (W, H) + 1);
  for (gsize i = 0; i < n; i++)
    {
      float g = 0.0f;

      for (guint ch = 0; ch < channels; ch++)
        g += image->planes[ch * n + i];
      guide[i] = g / channels;
      cov[i] = guide[i] * guide[i];
    }
  box_mean (guide, W, H, r, mean_i, line);
  box_mean (cov, W, H, r, var_i, line);
  for (gsize i = 0; i < n; i++)
    var_i[i] -= mean_i[i] * mean_i[i];

  for (guint k = 0; k < classes; k++)
    {
      float *p = probabilities + k * n;

      box_mean (p, W, H, r, mean_p, line);
      for (gsize i = 0; i < n; i++)
        cov[i] = guide[i] * p[i];
      box_mean (cov, W, H, r, cov, line);
      /* a = cov(I, p) / (var I + ε), b = mean p − a mean I, then their
       * window means: p' = mean a · I + mean b. */
      for (gsize i = 0; i < n; i++)
        {
          float a = (cov[i] - mean_i[i] * mean_p[i]) / (MAX (var_i[i], 0.0f) + eps);

          cov[i] = a;
          mean_p[i] -= a * mean_i[i];
        }
      box_mean (cov, W, H, r, cov, line);
      box_mean (mean_p, W, H, r, mean_p, line);
      for (gsize i = 0; i < n; i++)
        p[i] = MAX (cov[i] * guide[i] + mean_p[i], 0.0f);
    }
  /* Probabilities again: non-negative, summing to one. */
  for (gsize i = 0; i < n; i++)
    {
      float sum = 0.0f;

      for (guint k = 0; k < classes; k++)
        sum += probabilities[k * n + i];
      for (guint k = 0; k < classes; k++)
        probabilities[k * n + i] = sum > 0.0f ? probabilities[k * n + i] / sum : 1.0f / classes;
    }
  return TRUE;
}

gboolean
loom_segment_get_refine (LoomWeights *weights, LoomSegmentRefine *refine, GError **error)
{
  const char *text = loom_weights_get_metadata (weights, LOOM_METADATA_REFINE);
  g_autoptr (JsonParser) parser = json_parser_new ();
  JsonObject *o;
  gint64 radius;
  double eps;

  *refine = (LoomSegmentRefine) { 0, 0.0f };
  if (text == NULL)
    return TRUE;
  if (!json_parser_load_from_data (parser, text, -1, NULL)
      || !JSON_NODE_HOLDS_OBJECT (json_parser_get_root (parser)))
    goto bad;
  o = json_node_get_object (json_parser_get_root (parser));
  radius = json_object_get_int_member_with_default (o, "guided_radius", -1);
  eps = json_object_get_double_member_with_default (o, "guided_eps", -1.0);
  if (radius < 0 || radius > 1024 || (radius > 0 && !(eps > 0.0 && eps < 100.0)))
    goto bad;
  *refine = (LoomSegmentRefine) { (guint) radius, (float) eps };
  return TRUE;
bad:
  g_set_error (error, LOOM_ERROR, LOOM_ERROR_BAD_FILE,
               "the model's refinement (%s) is malformed", LOOM_METADATA_REFINE);
  return FALSE;
}

void
loom_segment_set_refine (LoomWeights *weights, const LoomSegmentRefine *refine)
{
  g_autofree char *text = g_strdup_printf ("{\"guided_radius\":%u,\"guided_eps\":%g}",
                                           refine->radius, refine->radius > 0 ? refine->eps : 0.0);

  loom_weights_set_metadata (weights, LOOM_METADATA_REFINE, text);
}
