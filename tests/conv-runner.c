/* conv-runner MANIFEST OUTDIR DEVICE: runs the convolutions a PyTorch script
 * describes (tests/torch-conv.py) on one Loom device and writes the results
 * beside its inputs, for the script to compare with PyTorch's.
 *
 * MANIFEST is a JSON list of cases: {"name", "conv": {LoomConv2d fields},
 * "bias": bool}; the inputs are NAME.x, NAME.w, NAME.b, NAME.dy (raw
 * little-endian float32) in MANIFEST's folder; the outputs NAME.y, NAME.dx,
 * NAME.dw, NAME.db go to OUTDIR. */
#include <stdio.h>
#include <string.h>

#include <json-glib/json-glib.h>

#include "loom.h"
#include "vulkan/vk-internal.h"

static LoomBuffer *
load (LoomDevice *device, const char *dir, const char *name, const char *ext,
      gsize expect, GError **error)
{
  g_autofree char *file = g_strdup_printf ("%s/%s.%s", dir, name, ext);
  g_autofree char *data = NULL;
  gsize len;
  LoomBuffer *buf;

  if (!g_file_get_contents (file, &data, &len, error))
    return NULL;
  if (len != expect * sizeof (float))
    {
      g_set_error (error, LOOM_ERROR, LOOM_ERROR_INVALID_ARGUMENT,
                   "%s holds %" G_GSIZE_FORMAT " bytes, expected %" G_GSIZE_FORMAT,
                   file, len, expect * sizeof (float));
      return NULL;
    }
  buf = loom_buffer_new (device, expect, error);
  if (buf != NULL && !loom_buffer_write (buf, 0, expect, (const float *) data, error))
    g_clear_pointer (&buf, loom_buffer_free);
  return buf;
}

static gboolean
save (LoomBuffer *buf, const char *dir, const char *name, const char *ext, GError **error)
{
  g_autofree char *file = g_strdup_printf ("%s/%s.%s", dir, name, ext);
  gsize n = loom_buffer_get_length (buf);
  g_autofree float *data = g_new (float, MAX (n, 1));

  return loom_buffer_read (buf, 0, n, data, error)
      && g_file_set_contents (file, (const char *) data, n * sizeof (float), error);
}

static guint
member (JsonObject *o, const char *name)
{
  return json_object_has_member (o, name) ? (guint) json_object_get_int_member (o, name) : 0;
}

static gboolean
run_case (LoomDevice *device, const char *in_dir, const char *out_dir, JsonObject *c,
          GError **error)
{
  const char *name = json_object_get_string_member (c, "name");
  JsonObject *o = json_object_get_object_member (c, "conv");
  gboolean has_bias = json_object_get_boolean_member (c, "bias");
  LoomConv2d conv = {
    .batch = member (o, "batch"), .in_channels = member (o, "in_channels"),
    .in_height = member (o, "in_height"), .in_width = member (o, "in_width"),
    .out_channels = member (o, "out_channels"), .kernel_h = member (o, "kernel_h"),
    .kernel_w = member (o, "kernel_w"), .stride_h = member (o, "stride_h"),
    .stride_w = member (o, "stride_w"), .pad_h = member (o, "pad_h"), .pad_w = member (o, "pad_w"),
    .dilation_h = member (o, "dilation_h"), .dilation_w = member (o, "dilation_w"),
    .pad_mode = member (o, "pad_mode"),
  };
  gsize nx = (gsize) conv.batch * conv.in_channels * conv.in_height * conv.in_width;
  gsize nw = (gsize) conv.out_channels * conv.in_channels * conv.kernel_h * conv.kernel_w;
  LoomBuffer *x = NULL, *w = NULL, *b = NULL, *dy = NULL, *y = NULL, *dx = NULL, *dw = NULL,
             *db = NULL;
  guint ph, pw;
  gsize ny;
  gboolean ok = FALSE;

  if (!loom_conv2d_output_size (&conv, &ph, &pw, error))
    return FALSE;
  ny = (gsize) conv.batch * conv.out_channels * ph * pw;
  if ((x = load (device, in_dir, name, "x", nx, error)) == NULL
      || (w = load (device, in_dir, name, "w", nw, error)) == NULL
      || (b = load (device, in_dir, name, "b", conv.out_channels, error)) == NULL
      || (dy = load (device, in_dir, name, "dy", ny, error)) == NULL
      || (y = loom_buffer_new (device, ny, error)) == NULL
      || (dx = loom_buffer_new (device, nx, error)) == NULL
      || (dw = loom_buffer_new (device, nw, error)) == NULL
      || (db = loom_buffer_new (device, conv.out_channels, error)) == NULL)
    goto out;
  ok = loom_conv2d_forward (&conv, y, x, w, has_bias ? b : NULL, error)
    && loom_conv2d_backward_data (&conv, dx, dy, w, error)
    && loom_conv2d_backward_weight (&conv, dw, db, x, dy, error)
    && save (y, out_dir, name, "y", error) && save (dx, out_dir, name, "dx", error)
    && save (dw, out_dir, name, "dw", error) && save (db, out_dir, name, "db", error);
out:
  loom_buffer_free (x), loom_buffer_free (w), loom_buffer_free (b), loom_buffer_free (dy);
  loom_buffer_free (y), loom_buffer_free (dx), loom_buffer_free (dw), loom_buffer_free (db);
  return ok;
}

int
main (int argc, char **argv)
{
  g_autoptr (JsonParser) parser = json_parser_new ();
  g_autoptr (GError) error = NULL;
  g_autofree char *in_dir = NULL;
  LoomDevice *device;
  JsonArray *cases;
  int status = 0;

  if (argc != 4)
    {
      fprintf (stderr, "usage: conv-runner MANIFEST OUTDIR DEVICE\n");
      return 2;
    }
  if (!json_parser_load_from_file (parser, argv[1], &error)
      || (device = loom_device_open (argv[3], &error)) == NULL)
    {
      fprintf (stderr, "conv-runner: %s\n", error->message);
      return 1;
    }
  in_dir = g_path_get_dirname (argv[1]);
  cases = json_node_get_array (json_parser_get_root (parser));
  for (guint i = 0; i < json_array_get_length (cases); i++)
    if (!run_case (device, in_dir, argv[2], json_array_get_object_element (cases, i), &error))
      {
        fprintf (stderr, "conv-runner: case %u: %s\n", i, error->message);
        g_clear_error (&error);
        status = 1;
      }
  loom_device_free (device);
  if (loom_vk_validation_message_count () > 0)
    {
      fprintf (stderr, "conv-runner: the Vulkan validation layer reported %u messages\n",
               loom_vk_validation_message_count ());
      status = 1;
    }
  return status;
}
