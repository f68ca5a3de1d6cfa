/* Generating with GANs (see loom-generative.h): images and textures from
 * noise, and label maps rendered by a pix2pix model. */
#include <math.h>
#include <string.h>

#include <loom/loom-generative.h>
#include "ops/philox.h"
#include "tiles.h"
#include "generative/noise.h"

G_DEFINE_QUARK (loom-generate-error-quark, loom_generate_error)

gboolean
loom_generative_check_request (const LoomGanConfig *gan, gboolean labels, gboolean tileable,
                               guint *width, guint *height, GError **error)
{
  guint side = loom_gan_image_side (gan), quantum = 1u << gan->levels;

  if (gan->kind == LOOM_GAN_PIX2PIX)
    {
      if (!labels || *width != 0 || *height != 0)
        {
          g_set_error (error, LOOM_GENERATE_ERROR, LOOM_GENERATE_ERROR_NEEDS_LABELS,
                       "is a label → image (pix2pix) model: it paints a label map, at the "
                       "map's size");
          return FALSE;
        }
    }
  else if (labels)
    {
      g_set_error (error, LOOM_GENERATE_ERROR, LOOM_GENERATE_ERROR_NO_LABELS,
                   "is a %s model: a label map needs a label → image (pix2pix) one",
                   loom_gan_kind_name (gan->kind));
      return FALSE;
    }
  else if (gan->kind == LOOM_GAN_DCGAN)
    {
      if ((*width != 0 || *height != 0) && (*width != side || *height != side))
        {
          g_set_error (error, LOOM_GENERATE_ERROR, LOOM_GENERATE_ERROR_FIXED_SIZE,
                       "makes %u×%u images only", side, side);
          return FALSE;
        }
      *width = *height = side;
    }
  else
    {
      *width = *width != 0 ? *width : 512;
      *height = *height != 0 ? *height : 512;
    }
  if (tileable && (gan->kind != LOOM_GAN_TEXTURE || !gan->tileable))
    {
      g_set_error (error, LOOM_GENERATE_ERROR, LOOM_GENERATE_ERROR_NOT_TILEABLE,
                   "is not a texture model trained tileable");
      return FALSE;
    }
  if (tileable && (*width % quantum != 0 || *height % quantum != 0))
    {
      g_set_error (error, LOOM_GENERATE_ERROR, LOOM_GENERATE_ERROR_TILE_MULTIPLE,
                   "wraps at sizes that are multiples of %u (e.g. %ux%u)", quantum,
                   MAX (quantum, *width / quantum * quantum),
                   MAX (quantum, *height / quantum * quantum));
      return FALSE;
    }
  return TRUE;
}

void
loom_generative_draw_noise (guint32 seed, guint latent, guint h, guint w, float *z)
{
  gsize n = (gsize) latent * h * w;

  for (gsize i = 0; i < n; i++)
    {
      guint32 a, b;

      loom_philox_draw (seed, 0x6E015Eu, i, &a, &b);
      z[i] = sqrtf (-2.0f * logf ((float) ((a >> 8) + 1) * (1.0f / 16777216.0f)))
             * cosf (6.2831853f * loom_uniform_of (b));
    }
}

/* Along one axis of NOISE noise pixels: where the region (REGION long) that
 * a tile starting at AT runs over starts — MARGIN before it, wrapping
 * around when TILEABLE, else kept inside so that the image's own edges
 * are the region's. */
static gint64
region_start (guint at, guint noise, guint region, guint margin, gboolean tileable)
{
  if (region >= noise)
    return 0;
  if (tileable)
    return (gint64) at - margin;
  return CLAMP ((gint64) at - margin, 0, (gint64) noise - region);
}

/* A DCGAN's COUNT images, a batch of up to 64 at a time (batch norm in
 * evaluation: an image does not depend on its batch). */
static gboolean
generate_images (LoomDevice *device, LoomWeights *weights, const LoomGanConfig *c, guint count,
                 LoomNoiseFunc noise_of, gpointer data, float *out, GCancellable *cancellable,
                 GError **error)
{
  guint batch = MAX (MIN (count, 64u), 1u), side = loom_gan_image_side (c);
  gsize per = (gsize) c->channels * side * side;
  LoomGraph *g = loom_graph_new ();
  LoomTensor *z = loom_graph_input (g, "z", batch, c->latent, 1, 1), *image;
  LoomGan *gan = loom_gan_new (g, c, FALSE, error);
  g_autofree float *noise = g_new (float, (gsize) batch * c->latent);
  g_autofree float *y = g_new (float, batch * per);
  gboolean ok = FALSE;

  if (gan == NULL)
    goto out;
  image = loom_gan_generate_layer (gan, z, FALSE, 0.1f);
  if (!loom_graph_compile (g, device, error) || !loom_gan_load (gan, weights, error))
    goto out;
  for (guint done = 0; done < count; done += batch)
    {
      guint n = MIN (batch, count - done);

      if (g_cancellable_set_error_if_cancelled (cancellable, error))
        goto out;
      for (guint k = 0; k < batch; k++)
        noise_of (done + MIN (k, n - 1), c->latent, 1, 1, noise + (gsize) k * c->latent, data);
      if (!loom_graph_write (g, z, noise, error) || !loom_graph_run (g, error)
          || !loom_graph_read (g, image, y, error))
        goto out;
      for (gsize i = 0; i < n * per; i++)
        out[done * per + i] = 0.5f * y[i] + 0.5f;
    }
  ok = TRUE;
out:
  loom_gan_free (gan);
  loom_graph_free (g);
  return ok;
}

/* Image I from SEED + I. */
static void
seeded_noise (guint i, guint latent, guint h, guint w, float *z, gpointer data)
{
  loom_generative_draw_noise (*(const guint32 *) data + i, latent, h, w, z);
}

gboolean
loom_generative_generate (LoomDevice *device, LoomWeights *weights, guint count, guint32 seed,
                          guint width, guint height, guint tile, float *out,
                          GCancellable *cancellable, GError **error)
{
  return loom_generative_generate_from (device, weights, count, seeded_noise, &seed, width,
                                        height, tile, out, cancellable, error);
}

gboolean
loom_generative_generate_from (LoomDevice *device, LoomWeights *weights, guint count,
                               LoomNoiseFunc noise_of, gpointer data, guint width, guint height,
                               guint tile, float *out, GCancellable *cancellable, GError **error)
{
  const guint margin = 2;       /* noise pixels: more than G's reach (< 1) */
  LoomGanConfig c;
  LoomGraph *g = NULL;
  LoomGan *gan = NULL;
  LoomTensor *z, *image;
  guint zh, zw, rh, rw, scale, full_h, full_w;
  g_autofree float *noise = NULL, *zt = NULL, *yt = NULL, *full = NULL;
  gboolean ok = FALSE;

  g_return_val_if_fail (device != NULL && weights != NULL && out != NULL, FALSE);
  if (!loom_gan_config_from_weights (weights, &c, error))
    return FALSE;
  if (c.kind == LOOM_GAN_PIX2PIX)
    {
      g_set_error (error, LOOM_ERROR, LOOM_ERROR_INVALID_ARGUMENT,
                   "generate: a label→image model needs a label map to paint");
      return FALSE;
    }
  if (c.kind == LOOM_GAN_DCGAN)
    {
      guint side = loom_gan_image_side (&c);

      if ((width != 0 && width != side) || (height != 0 && height != side))
        {
          g_set_error (error, LOOM_ERROR, LOOM_ERROR_INVALID_ARGUMENT,
                       "generate: this DCGAN makes %u×%u images, not %u×%u", side, side,
                       width, height);
          return FALSE;
        }
      return generate_images (device, weights, &c, count, noise_of, data, out, cancellable,
                              error);
    }
  if (width == 0 || height == 0 || width > 65536 || height > 65536)
    {
      g_set_error (error, LOOM_ERROR, LOOM_ERROR_INVALID_ARGUMENT,
                   "generate: a texture of %u×%u is not possible (1–65536 a side)",
                   width, height);
      return FALSE;
    }
  scale = 1u << c.levels;
  tile = tile == 0 ? 32 : tile;
  zh = loom_gan_noise_side (&c, height);
  zw = loom_gan_noise_side (&c, width);
  rh = MIN (tile + 2 * margin, zh);
  rw = MIN (tile + 2 * margin, zw);
  full_h = zh * scale;
  full_w = zw * scale;
  g = loom_graph_new ();
  z = loom_graph_input (g, "z", 1, c.latent, rh, rw);
  gan = loom_gan_new (g, &c, FALSE, error);
  if (gan == NULL)
    goto out;
  image = loom_gan_generate_layer (gan, z, FALSE, 0.1f);
  if (!loom_graph_compile (g, device, error) || !loom_gan_load (gan, weights, error))
    goto out;
  noise = g_new (float, (gsize) c.latent * zh * zw);
  zt = g_new (float, (gsize) c.latent * rh * rw);
  yt = g_new (float, (gsize) c.channels * rh * scale * rw * scale);
  full = g_new (float, (gsize) c.channels * full_h * full_w);
  for (guint i = 0; i < count; i++)
    {
      guint step_y = rh == zh ? zh : tile, step_x = rw == zw ? zw : tile;

      noise_of (i, c.latent, zh, zw, noise, data);
      for (guint ty = 0; ty < zh; ty += step_y)
        for (guint tx = 0; tx < zw; tx += step_x)
          {
            gint64 y0 = region_start (ty, zh, rh, margin, c.tileable);
            gint64 x0 = region_start (tx, zw, rw, margin, c.tileable);
            guint keep_h = MIN (step_y, zh - ty) * scale, keep_w = MIN (step_x, zw - tx) * scale;

            if (g_cancellable_set_error_if_cancelled (cancellable, error))
              goto out;
            /* The region's noise, wrapped around (tileable) or inside. */
            for (guint ch = 0; ch < c.latent; ch++)
              for (guint v = 0; v < rh; v++)
                for (guint q = 0; q < rw; q++)
                  {
                    gint64 sy = ((y0 + v) % zh + zh) % zh, sx = ((x0 + q) % zw + zw) % zw;

                    zt[((gsize) ch * rh + v) * rw + q]
                      = noise[((gsize) ch * zh + (gsize) sy) * zw + (gsize) sx];
                  }
            if (!loom_graph_write (g, z, zt, error) || !loom_graph_run (g, error)
                || !loom_graph_read (g, image, yt, error))
              goto out;
            /* Keep the tile's own pixels, away from the region's edges. */
            for (guint ch = 0; ch < c.channels; ch++)
              for (guint v = 0; v < keep_h; v++)
                {
                  gsize from = ((gsize) ch * rh * scale + (gsize) (ty - y0) * scale + v) * rw * scale
                               + (gsize) (tx - x0) * scale;
                  gsize to = ((gsize) ch * full_h + (gsize) ty * scale + v) * full_w
                             + (gsize) tx * scale;

                  memcpy (full + to, yt + from, keep_w * sizeof (float));
                }
          }
      /* [−1, 1] → [0, 1], cut to the size asked for. */
      for (guint ch = 0; ch < c.channels; ch++)
        for (guint v = 0; v < height; v++)
          for (guint q = 0; q < width; q++)
            out[(((gsize) i * c.channels + ch) * height + v) * width + q]
              = 0.5f * full[((gsize) ch * full_h + v) * full_w + q] + 0.5f;
    }
  ok = TRUE;
out:
  loom_gan_free (gan);
  loom_graph_free (g);
  return ok;
}

/* ---- label → image ------------------------------------------------------- */

gboolean
loom_generative_render (LoomDevice *device, LoomWeights *weights, const float *labels,
                        guint width, guint height, guint32 seed, guint tile, float *out,
                        GError **error)
{
  return loom_generative_render_from (device, weights, labels, width, height, seeded_noise,
                                      &seed, tile, out, error);
}

gboolean
loom_generative_render_from (LoomDevice *device, LoomWeights *weights, const float *labels,
                             guint width, guint height, LoomNoiseFunc noise_of, gpointer data,
                             guint tile, float *out, GError **error)
{
  LoomGanConfig c;
  LoomGraph *g = NULL;
  LoomGan *gan = NULL;
  LoomTensor *lab, *z = NULL, *input, *image;
  g_autoptr (GArray) ys = NULL, xs = NULL;
  g_autofree float *padded = NULL, *noise = NULL, *lt = NULL, *zt = NULL, *y = NULL;
  g_autofree float *acc = NULL, *norm = NULL;
  guint step, ph, pw, th, tw, overlap;
  gboolean ok = FALSE;

  g_return_val_if_fail (device != NULL && weights != NULL && labels != NULL && out != NULL, FALSE);
  if (!loom_gan_config_from_weights (weights, &c, error))
    return FALSE;
  if (c.kind != LOOM_GAN_PIX2PIX || width == 0 || height == 0 || width > 65536
      || height > 65536)
    {
      g_set_error (error, LOOM_ERROR, LOOM_ERROR_INVALID_ARGUMENT,
                   c.kind != LOOM_GAN_PIX2PIX
                   ? "generate: this model makes images from noise, not from labels"
                   : "generate: a label map of %u×%u is not possible (1–65536 a side)",
                   width, height);
      return FALSE;
    }
  /* The U-Net wants sides that are multiples of 2^levels: the labels'
   * edges repeated out to them, the image cut back.  Larger maps run in
   * overlapping tiles, blended (as segmentation's prediction). */
  step = 1u << c.levels;
  ph = (height + step - 1) / step * step;
  pw = (width + step - 1) / step * step;
  tile = MAX ((tile == 0 ? 512 : tile) / step * step, 2 * step);
  th = MIN (tile, ph);
  tw = MIN (tile, pw);
  overlap = MIN (MIN (th, tw) / 4, 32);
  ys = loom_tile_origins (ph, th, th - 2 * overlap);
  xs = loom_tile_origins (pw, tw, tw - 2 * overlap);
  padded = g_new (float, (gsize) ph * pw);
  for (guint v = 0; v < ph; v++)
    for (guint q = 0; q < pw; q++)
      padded[(gsize) v * pw + q] = labels[(gsize) MIN (v, height - 1) * width + MIN (q, width - 1)];
  g = loom_graph_new ();
  lab = loom_graph_input (g, "labels", 1, 1, th, tw);
  input = loom_graph_one_hot (g, lab, c.classes);
  if (c.latent > 0)
    {
      z = loom_graph_input (g, "z", 1, c.latent, th, tw);
      input = loom_graph_concat (g, input, z);
    }
  gan = loom_gan_new (g, &c, FALSE, error);
  if (gan == NULL)
    goto out;
  image = loom_gan_generate_layer (gan, input, FALSE, 0.1f);
  if (!loom_graph_compile (g, device, error) || !loom_gan_load (gan, weights, error))
    goto out;
  if (z != NULL)                /* the whole map's noise: tiles agree where they overlap */
    {
      noise = g_new (float, (gsize) c.latent * ph * pw);
      noise_of (0, c.latent, ph, pw, noise, data);
      zt = g_new (float, (gsize) c.latent * th * tw);
    }
  lt = g_new (float, (gsize) th * tw);
  y = g_new (float, (gsize) c.channels * th * tw);
  acc = g_new0 (float, (gsize) c.channels * ph * pw);
  norm = g_new0 (float, (gsize) ph * pw);
  for (guint ty = 0; ty < ys->len; ty++)
    for (guint tx = 0; tx < xs->len; tx++)
      {
        guint y0 = g_array_index (ys, guint, ty), x0 = g_array_index (xs, guint, tx);

        for (guint v = 0; v < th; v++)
          {
            memcpy (lt + (gsize) v * tw, padded + (gsize) (y0 + v) * pw + x0, tw * sizeof (float));
            for (guint ch = 0; z != NULL && ch < c.latent; ch++)
              memcpy (zt + ((gsize) ch * th + v) * tw,
                      noise + ((gsize) ch * ph + y0 + v) * pw + x0, tw * sizeof (float));
          }
        if (!loom_graph_write (g, lab, lt, error)
            || (z != NULL && !loom_graph_write (g, z, zt, error))
            || !loom_graph_run (g, error) || !loom_graph_read (g, image, y, error))
          goto out;
        for (guint v = 0; v < th; v++)
          for (guint q = 0; q < tw; q++)
            {
              float w = loom_tile_ramp (v, th, overlap, ty > 0, ty + 1 < ys->len)
                      * loom_tile_ramp (q, tw, overlap, tx > 0, tx + 1 < xs->len);
              gsize at = (gsize) (y0 + v) * pw + x0 + q;

              for (guint ch = 0; ch < c.channels; ch++)
                acc[(gsize) ch * ph * pw + at] += w * y[((gsize) ch * th + v) * tw + q];
              norm[at] += w;
            }
      }
  for (guint ch = 0; ch < c.channels; ch++)
    for (guint v = 0; v < height; v++)
      for (guint q = 0; q < width; q++)
        {
          gsize at = (gsize) v * pw + q;

          out[((gsize) ch * height + v) * width + q]
            = 0.5f * acc[(gsize) ch * ph * pw + at] / norm[at] + 0.5f;
        }
  ok = TRUE;
out:
  loom_gan_free (gan);
  loom_graph_free (g);
  return ok;
}
