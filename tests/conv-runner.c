/* conv-runner MANIFEST OUTDIR DEVICE: runs the convolutions a PyTorch script
 * describes (tests/torch-conv.py) on one Loom device and writes the results
 * beside its inputs, for the script to compare with PyTorch's.
 *
 * MANIFEST is a JSON list of cases: {"name", "conv": {LoomConv2d fields},
 * "bias": bool}; the inputs are NAME.x, NAME.w, NAME.b, NAME.dy (raw
 * little-endian float32) in MANIFEST's folder; the outputs NAME.y, NAME.dx,
 * NAME.dw, NAME.db go to OUTDIR. */
#include <string.h>
#include "runner.h"


static LoomBuffer *
load (LoomDevice *device, const char *dir, const char *name, const char *ext,
      gsize expect, GError **error)
{
  g_autofree char *file = g_strdup_printf ("%s/%s.%s", dir, name, ext);

  return runner_load (device, file, expect, error);
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
  return runner_main (argc, argv, "conv-runner", run_case);
}
