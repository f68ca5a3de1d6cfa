/* pixels.c -- layers <-> tensors: the layers a procedure was given,
 * checked, and their pixels as planes or bytes. */

#include <libgimp/gimp.h>

#include "loom-plugin.h"
#include <loom/loom-image.h>

gboolean
loom_plugin_check_rgb (GimpProcedure  *procedure,
                       GimpImage      *image,
                       GError        **error)
{
  if (gimp_image_get_base_type (image) != GIMP_RGB)
    {
      g_set_error (error, GIMP_PLUG_IN_ERROR, 0,
                   "%s works on RGB images; this one is %s. "
                   "Convert it with Image > Mode > RGB first",
                   gimp_procedure_get_name (procedure),
                   gimp_image_get_base_type (image) == GIMP_GRAY ? "grayscale"
                                                                : "indexed");
      return FALSE;
    }

  return TRUE;
}

guint
loom_plugin_check_layers (GimpProcedure  *procedure,
                          GimpImage      *image,
                          GimpDrawable  **drawables,
                          guint           most,
                          GError        **error)
{
  const gchar *name = gimp_procedure_get_name (procedure);
  gsize        n    = drawables != NULL
                      ? gimp_core_object_array_get_length ((GObject **) drawables) : 0;

  if (n == 0 || n > most)
    {
      if (most == 1)
        g_set_error (error, GIMP_PLUG_IN_ERROR, 0,
                     "%s works on exactly one layer: select one in the Layers dock",
                     name);
      else
        g_set_error (error, GIMP_PLUG_IN_ERROR, 0,
                     "%s works on one to %u layers: select them in the Layers dock",
                     name, most);
      return 0;
    }
  for (gsize i = 0; i < n; i++)
    if (! gimp_item_is_layer (GIMP_ITEM (drawables[i])))
      {
        g_set_error (error, GIMP_PLUG_IN_ERROR, 0,
                     "%s works on layers, not on channels or layer masks",
                     name);
        return 0;
      }
  if (! loom_plugin_check_rgb (procedure, image, error))
    return 0;

  return (guint) n;
}

GimpDrawable *
loom_plugin_check_drawable (GimpProcedure  *procedure,
                            GimpImage      *image,
                            GimpDrawable  **drawables,
                            GError        **error)
{
  return loom_plugin_check_layers (procedure, image, drawables, 1, error) == 1
         ? drawables[0] : NULL;
}

static void
read_pixels (GimpDrawable *drawable,
             const gchar  *format,
             gpointer      pixels)
{
  GeglBuffer *buffer = gimp_drawable_get_buffer (drawable);

  gegl_buffer_get (buffer,
                   GEGL_RECTANGLE (0, 0,
                                   gimp_drawable_get_width (drawable),
                                   gimp_drawable_get_height (drawable)),
                   1.0, babl_format (format), pixels,
                   GEGL_AUTO_ROWSTRIDE, GEGL_ABYSS_NONE);
  g_object_unref (buffer);
}

float *
loom_plugin_read_planes (GimpDrawable  *drawable,
                         float        **alpha)
{
  guint  w = gimp_drawable_get_width (drawable);
  guint  h = gimp_drawable_get_height (drawable);
  gsize  n = (gsize) w * h;
  float *rgba   = g_new (float, 4 * n);
  float *planes = g_new (float, 3 * n);

  read_pixels (drawable, "R'G'B'A float", rgba);
  *alpha = g_new (float, n);
  loom_image_from_rgbaf (rgba, w, h, 4 * sizeof (float) * w, planes, *alpha);
  g_free (rgba);

  return planes;
}

guint8 *
loom_plugin_read_rgba8 (GimpDrawable *drawable)
{
  gsize   n    = (gsize) gimp_drawable_get_width (drawable) *
                 gimp_drawable_get_height (drawable);
  guint8 *rgba = g_new (guint8, 4 * n);

  read_pixels (drawable, "R'G'B'A u8", rgba);

  return rgba;
}

gboolean
loom_plugin_has_holes (const float *alpha,
                       gsize        n)
{
  for (gsize i = 0; i < n; i++)
    if (alpha[i] < 0.5f)
      return TRUE;

  return FALSE;
}
