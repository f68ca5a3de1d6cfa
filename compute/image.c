/* Image glue (see loom-image.h). */
#include <math.h>
#include <string.h>

#include <loom/loom-image.h>

void
loom_image_from_rgba8 (const guint8 *rgba, guint width, guint height, gsize stride,
                       float *rgb, float *alpha)
{
  gsize plane = (gsize) width * height;

  for (guint y = 0; y < height; y++)
    {
      const guint8 *row = rgba + y * stride;
      gsize at = (gsize) y * width;

      for (guint x = 0; x < width; x++)
        {
          for (int c = 0; c < 3; c++)
            rgb[c * plane + at + x] = row[4 * x + c] / 255.0f;
          if (alpha != NULL)
            alpha[at + x] = row[4 * x + 3] / 255.0f;
        }
    }
}

void
loom_image_from_rgbaf (const float *rgba, guint width, guint height, gsize stride,
                       float *rgb, float *alpha)
{
  gsize plane = (gsize) width * height;

  for (guint y = 0; y < height; y++)
    {
      const float *row = (const float *) ((const guint8 *) rgba + y * stride);
      gsize at = (gsize) y * width;

      for (guint x = 0; x < width; x++)
        {
          for (int c = 0; c < 3; c++)
            rgb[c * plane + at + x] = row[4 * x + c];
          if (alpha != NULL)
            alpha[at + x] = row[4 * x + 3];
        }
    }
}

static guint8
to_u8 (float v)
{
  /* NaN becomes 0, not whatever the cast makes of it. */
  if (!(v > 0.0f))
    return 0;
  if (v >= 1.0f)
    return 255;
  return (guint8) lrintf (v * 255.0f);
}

void
loom_image_to_rgba8 (const float *planes, guint channels, guint width, guint height,
                     guint8 *rgba, gsize stride)
{
  gsize plane = (gsize) width * height;

  g_return_if_fail (channels == 1 || channels == 3 || channels == 4);
  for (guint y = 0; y < height; y++)
    {
      guint8 *row = rgba + y * stride;
      gsize at = (gsize) y * width;

      for (guint x = 0; x < width; x++)
        {
          for (int c = 0; c < 3; c++)
            row[4 * x + c] = to_u8 (planes[(channels == 1 ? 0 : c) * plane + at + x]);
          row[4 * x + 3] = channels == 4 ? to_u8 (planes[3 * plane + at + x]) : 255;
        }
    }
}

static guint32
key_of (const guint8 *p)
{
  return (guint32) p[0] << 16 | (guint32) p[1] << 8 | p[2];
}

gboolean
loom_labels_from_rgba8 (const guint8 *rgba, guint width, guint height, gsize stride,
                        GArray *colors, guint max_classes, float *labels, GError **error)
{
  g_autoptr (GHashTable) classes = g_hash_table_new (NULL, NULL);
  guint known = colors->len;

  g_return_val_if_fail (g_array_get_element_size (colors) == sizeof (LoomColor), FALSE);
  for (guint i = 0; i < colors->len; i++)
    {
      const LoomColor *c = &g_array_index (colors, LoomColor, i);
      guint8 rgb[3] = { c->r, c->g, c->b };

      g_hash_table_insert (classes, GUINT_TO_POINTER (key_of (rgb) + 1), GUINT_TO_POINTER (i + 1));
    }
  for (guint y = 0; y < height; y++)
    {
      const guint8 *row = rgba + y * stride;

      for (guint x = 0; x < width; x++)
        {
          const guint8 *p = row + 4 * x;
          gpointer found;

          if (p[3] != 255)
            {
              labels[(gsize) y * width + x] = LOOM_UNLABELLED;
              continue;
            }
          found = g_hash_table_lookup (classes, GUINT_TO_POINTER (key_of (p) + 1));
          if (found == NULL)
            {
              LoomColor c = { p[0], p[1], p[2] };

              if (colors->len >= max_classes)
                {
                  g_set_error (error, LOOM_ERROR, LOOM_ERROR_INVALID_ARGUMENT,
                               "the label image has more than %u colours (the %u-th, "
                               "#%02x%02x%02x, is at %u,%u): paint labels with a hard-edged "
                               "brush such as the pencil, one colour per class",
                               max_classes, max_classes + 1, p[0], p[1], p[2], x, y);
                  g_array_set_size (colors, known);
                  return FALSE;
                }
              g_array_append_val (colors, c);
              found = GUINT_TO_POINTER (colors->len);
              g_hash_table_insert (classes, GUINT_TO_POINTER (key_of (p) + 1), found);
            }
          labels[(gsize) y * width + x] = (float) (GPOINTER_TO_UINT (found) - 1);
        }
    }
  return TRUE;
}

void
loom_labels_to_rgba8 (const float *labels, guint width, guint height, const GArray *colors,
                      guint8 *rgba, gsize stride)
{
  for (guint y = 0; y < height; y++)
    {
      guint8 *row = rgba + y * stride;

      for (guint x = 0; x < width; x++)
        {
          float v = labels[(gsize) y * width + x];
          guint8 *p = row + 4 * x;

          if (v >= 0.0f && v < (float) colors->len)
            {
              const LoomColor *c = &g_array_index (colors, LoomColor, (guint) v);

              p[0] = c->r, p[1] = c->g, p[2] = c->b, p[3] = 255;
            }
          else
            memset (p, 0, 4);
        }
    }
}
