/* Fixed per-pixel features (see features.h). */
#include <math.h>
#include <string.h>

#include "segment/features.h"

static const float sigmas[LOOM_FEATURE_N_SIGMAS] = { 1, 2, 4, 8, 16 };

guint
loom_pixel_features_count (guint channels)
{
  return channels * LOOM_FEATURE_N_SIGMAS * LOOM_FEATURES_PER_SIGMA;
}

/* The Gaussian's reach: 3 σ holds 99.7 % of its weight. */
static guint
radius_of (float sigma)
{
  return (guint) ceilf (3.0f * sigma);
}

/* Index I of a line of N, mirrored at both ends (… 2 1 | 0 1 2 … n−1 | n−2 …). */
static gint64
mirror (gint64 i, gint64 n)
{
  if (n == 1)
    return 0;
  while (i < 0 || i >= n)
    i = i < 0 ? -i : 2 * (n - 1) - i;
  return i;
}

typedef struct
{
  const float *planes;
  guint channels, width, height, row0, rows;
  float *out;
  gint next;                    /* the next (channel, σ) task, atomically */
} Job;

/* One channel at one scale: its four features for the band. */
static void
channel_at_scale (const Job *j, guint channel, guint s)
{
  float sigma = sigmas[s];
  guint r = radius_of (sigma), W = j->width;
  /* Rows of G needed: the band and one more on each side for derivatives;
   * rows of the horizontal pass: those and R more on each side. */
  guint g_rows = j->rows + 2, h_rows = g_rows + 2 * r;
  gint64 h0 = (gint64) j->row0 - 1 - r;
  const float *plane = j->planes + (gsize) channel * j->height * W;
  g_autofree float *kernel = g_new (float, 2 * r + 1);
  g_autofree float *horiz = g_new (float, (gsize) h_rows * W);
  g_autofree float *G = g_new (float, (gsize) g_rows * W);
  g_autofree float *line = g_new (float, W + 2 * r);
  float sum = 0.0f;
  gsize band = (gsize) j->rows * W;
  float *smooth, *grad, *l1, *l2;

  for (guint i = 0; i <= 2 * r; i++)
    {
      float d = (float) i - (float) r;

      kernel[i] = expf (-0.5f * d * d / (sigma * sigma));
      sum += kernel[i];
    }
  for (guint i = 0; i <= 2 * r; i++)
    kernel[i] /= sum;

  /* Along rows, each row mirrored at its ends. */
  for (guint v = 0; v < h_rows; v++)
    {
      const float *src = plane + (gsize) mirror (h0 + v, j->height) * W;
      float *dst = horiz + (gsize) v * W;

      for (guint q = 0; q < W + 2 * r; q++)
        line[q] = src[mirror ((gint64) q - r, W)];
      for (guint q = 0; q < W; q++)
        {
          float acc = 0.0f;

          for (guint i = 0; i <= 2 * r; i++)
            acc += kernel[i] * line[q + i];
          dst[q] = acc;
        }
    }
  /* Down columns: rows of the horizontal pass are already mirrored. */
  for (guint v = 0; v < g_rows; v++)
    {
      float *dst = G + (gsize) v * W;

      memset (dst, 0, W * sizeof (float));
      for (guint i = 0; i <= 2 * r; i++)
        {
          const float *src = horiz + (gsize) (v + i) * W;
          float k = kernel[i];

          for (guint q = 0; q < W; q++)
            dst[q] += k * src[q];
        }
    }

  smooth = j->out + ((gsize) (channel * LOOM_FEATURE_N_SIGMAS + s) * LOOM_FEATURES_PER_SIGMA) * band;
  grad = smooth + band;
  l1 = grad + band;
  l2 = l1 + band;
  for (guint v = 0; v < j->rows; v++)
    {
      const float *up = G + (gsize) v * W, *mid = up + W, *down = mid + W;

      for (guint q = 0; q < W; q++)
        {
          gsize left = (gsize) mirror ((gint64) q - 1, W), right = (gsize) mirror ((gint64) q + 1, W);
          gsize at = (gsize) v * W + q;
          /* Derivatives scaled by σ and σ² so that every scale's numbers
           * are comparable (scale-normalised, as Lindeberg's). */
          float gx = 0.5f * (mid[right] - mid[left]) * sigma;
          float gy = 0.5f * (down[q] - up[q]) * sigma;
          float s2 = sigma * sigma;
          float hxx = (mid[right] - 2.0f * mid[q] + mid[left]) * s2;
          float hyy = (down[q] - 2.0f * mid[q] + up[q]) * s2;
          float hxy = 0.25f * (down[right] - down[left] - up[right] + up[left]) * s2;
          float mean = 0.5f * (hxx + hyy);
          float spread = sqrtf (0.25f * (hxx - hyy) * (hxx - hyy) + hxy * hxy);

          smooth[at] = mid[q];
          grad[at] = sqrtf (gx * gx + gy * gy);
          l1[at] = mean + spread;
          l2[at] = mean - spread;
        }
    }
}

static gpointer
worker (gpointer data)
{
  Job *j = data;
  gint tasks = (gint) (j->channels * LOOM_FEATURE_N_SIGMAS);

  for (gint t; (t = g_atomic_int_add (&j->next, 1)) < tasks;)
    channel_at_scale (j, (guint) t / LOOM_FEATURE_N_SIGMAS, (guint) t % LOOM_FEATURE_N_SIGMAS);
  return NULL;
}

void
loom_pixel_features_band (const float *planes, guint channels, guint width, guint height,
                          guint row0, guint rows, float *out)
{
  Job job = { planes, channels, width, height, row0, rows, out, 0 };
  guint tasks = channels * LOOM_FEATURE_N_SIGMAS;
  guint n = MIN (tasks, MAX (g_get_num_processors (), 1));
  g_autofree GThread **threads = g_new0 (GThread *, n);

  g_return_if_fail (planes != NULL && out != NULL && row0 + rows <= height);
  /* The largest scales first would balance better; tasks are few and
   * similar across channels, so the order they come in is fine. */
  for (guint i = 1; i < n; i++)
    threads[i] = g_thread_new ("loom-features", worker, &job);
  worker (&job);
  for (guint i = 1; i < n; i++)
    g_thread_join (threads[i]);
}
