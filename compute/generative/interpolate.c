/* A latent walk between two seeds (see loom-generative.h): their noise
 * interpolated on the sphere, generated (or, for a label → image model,
 * rendered over its label map) as generate.c does. */
#include <math.h>
#include <string.h>

#include <loom/loom-generative.h>
#include "generative/noise.h"

typedef struct
{
  guint32 seed_a, seed_b;
  guint   count, first;
  gsize   n;                    /* the noise drawn so far is this long */
  float  *a, *b;
} Walk;

/* Step I's noise: A, B, or slerp (A, B; t) with t = I / (count − 1). */
static void
walk_noise (guint i, guint latent, guint h, guint w, float *z, gpointer data)
{
  Walk *walk = data;
  gsize n = (gsize) latent * h * w;
  double t, dot = 0, na = 0, nb = 0, omega, s, ka, kb;

  if (walk->n != n)
    {
      walk->a = g_renew (float, walk->a, n);
      walk->b = g_renew (float, walk->b, n);
      loom_generative_draw_noise (walk->seed_a, latent, h, w, walk->a);
      loom_generative_draw_noise (walk->seed_b, latent, h, w, walk->b);
      walk->n = n;
    }
  i += walk->first;
  t = (double) i / (walk->count - 1);
  if (i == 0 || i + 1 == walk->count)   /* the ends exactly the seeds' own */
    {
      memcpy (z, i == 0 ? walk->a : walk->b, n * sizeof (float));
      return;
    }
  for (gsize k = 0; k < n; k++)
    {
      dot += (double) walk->a[k] * walk->b[k];
      na += (double) walk->a[k] * walk->a[k];
      nb += (double) walk->b[k] * walk->b[k];
    }
  omega = acos (CLAMP (dot / sqrt (MAX (na * nb, 1e-300)), -1.0, 1.0));
  s = sin (omega);
  /* (nearly) parallel vectors: the straight line is the arc */
  ka = s < 1e-6 ? 1 - t : sin ((1 - t) * omega) / s;
  kb = s < 1e-6 ? t : sin (t * omega) / s;
  for (gsize k = 0; k < n; k++)
    z[k] = (float) (ka * walk->a[k] + kb * walk->b[k]);
}

gboolean
loom_generative_interpolate (LoomDevice *device, LoomWeights *weights, guint32 seed_a,
                             guint32 seed_b, guint count, guint first, guint n, guint width,
                             guint height, guint tile, float *out, GCancellable *cancellable,
                             GError **error)
{
  Walk walk = { seed_a, seed_b, count, first, 0, NULL, NULL };
  LoomGanConfig c;
  gboolean ok;

  g_return_val_if_fail (device != NULL && weights != NULL && out != NULL, FALSE);
  if (count < 2)
    {
      g_set_error (error, LOOM_ERROR, LOOM_ERROR_INVALID_ARGUMENT,
                   "interpolate: a walk needs at least 2 images (its two ends), not %u", count);
      return FALSE;
    }
  if (first >= count || n > count - first)
    {
      g_set_error (error, LOOM_ERROR, LOOM_ERROR_INVALID_ARGUMENT,
                   "interpolate: steps %u to %u of a walk of %u", first + 1, first + n, count);
      return FALSE;
    }
  if (!loom_gan_config_from_weights (weights, &c, error))
    return FALSE;
  if (c.kind == LOOM_GAN_PIX2PIX)
    {
      g_set_error (error, LOOM_ERROR, LOOM_ERROR_INVALID_ARGUMENT,
                   "interpolate: a label→image (pix2pix) model walks over a label map "
                   "(loom_generative_render_interpolate)");
      return FALSE;
    }
  ok = loom_generative_generate_from (device, weights, n, walk_noise, &walk, width, height,
                                      tile, out, cancellable, error);
  g_free (walk.a);
  g_free (walk.b);
  return ok;
}

gboolean
loom_generative_render_interpolate (LoomDevice *device, LoomWeights *weights,
                                    const float *labels, guint width, guint height,
                                    guint32 seed_a, guint32 seed_b, guint count, guint step,
                                    guint tile, float *out, GError **error)
{
  Walk walk = { seed_a, seed_b, count, step, 0, NULL, NULL };
  LoomGanConfig c;
  gboolean ok;

  g_return_val_if_fail (device != NULL && weights != NULL && labels != NULL && out != NULL,
                        FALSE);
  if (count < 2 || step >= count)
    {
      g_set_error (error, LOOM_ERROR, LOOM_ERROR_INVALID_ARGUMENT,
                   "interpolate: step %u of a walk of %u (2 images at least, its two ends)",
                   step + 1, count);
      return FALSE;
    }
  if (!loom_gan_config_from_weights (weights, &c, error))
    return FALSE;
  if (c.kind == LOOM_GAN_PIX2PIX && c.latent == 0)
    {
      g_set_error (error, LOOM_ERROR, LOOM_ERROR_INVALID_ARGUMENT,
                   "interpolate: this label→image model has no noise planes: every seed "
                   "paints the same image, there is no walk");
      return FALSE;
    }
  ok = loom_generative_render_from (device, weights, labels, width, height, walk_noise, &walk,
                                    tile, out, error);
  g_free (walk.a);
  g_free (walk.b);
  return ok;
}
