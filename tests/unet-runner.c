/* unet-runner MANIFEST OUTDIR DEVICE: Loom's U-Net for tests/torch-unet.py.
 *
 * A case: {"name", "in_channels", "classes", "depth", "base", "n", "h", "w",
 * "training": bool, and either "weights": a file to load, or "seed": fresh
 * weights, saved to OUTDIR/NAME.safetensors before the run}.  Input
 * IN_DIR/NAME.x; output OUTDIR/NAME.logits, and after the run the weights
 * again (running statistics moved, in training) in NAME.after.safetensors. */
#include <string.h>

#include <loom/loom-unet.h>
#include "runner.h"

static guint
member (JsonObject *c, const char *name)
{
  return (guint) json_object_get_int_member (c, name);
}

static gboolean
save (LoomUNet *u, const char *path, GError **error)
{
  LoomWeights *w = loom_weights_new ();
  gboolean ok = loom_unet_store (u, w, error) && loom_weights_save (w, path, error);

  loom_weights_free (w);
  return ok;
}

static gboolean
run_case (LoomDevice *device, const char *in_dir, const char *out_dir, JsonObject *c,
          GError **error)
{
  const char *name = json_object_get_string_member (c, "name");
  LoomUNetConfig config = { member (c, "in_channels"), member (c, "classes"),
                            member (c, "depth"), member (c, "base") };
  guint n = member (c, "n"), h = member (c, "h"), w = member (c, "w");
  g_autofree char *x_path = g_strdup_printf ("%s/%s.x", in_dir, name);
  g_autofree char *out_path = g_strdup_printf ("%s/%s.logits", out_dir, name);
  g_autofree char *before = g_strdup_printf ("%s/%s.safetensors", out_dir, name);
  g_autofree char *after = g_strdup_printf ("%s/%s.after.safetensors", out_dir, name);
  g_autofree char *x = NULL;
  g_autofree float *logits = NULL;
  LoomGraph *g = loom_graph_new ();
  LoomUNet *u;
  LoomTensor *input;
  gsize len;
  gboolean ok = FALSE;

  input = loom_graph_input (g, "x", n, config.in_channels, h, w);
  u = loom_unet_build (g, &config, input, json_object_get_boolean_member (c, "training"), error);
  if (u == NULL || !loom_graph_compile (g, device, error)
      || !g_file_get_contents (x_path, &x, &len, error))
    goto out;
  if (json_object_has_member (c, "weights"))
    {
      LoomWeights *weights = loom_weights_load (json_object_get_string_member (c, "weights"),
                                                error);

      ok = weights != NULL && loom_unet_load (u, weights, error);
      loom_weights_free (weights);
      if (!ok)
        goto out;
      ok = FALSE;
    }
  else if (!loom_unet_init (u, (guint32) member (c, "seed"), error) || !save (u, before, error))
    goto out;
  if (len != (gsize) n * config.in_channels * h * w * sizeof (float))
    {
      g_set_error (error, LOOM_ERROR, LOOM_ERROR_INVALID_ARGUMENT, "%s: wrong size", x_path);
      goto out;
    }
  logits = g_new (float, loom_tensor_get_length (loom_unet_get_logits (u)));
  ok = loom_graph_write (g, input, (const float *) x, error)
    && loom_graph_run (g, error)
    && loom_graph_read (g, loom_unet_get_logits (u), logits, error)
    && g_file_set_contents (out_path, (const char *) logits,
                            loom_tensor_get_length (loom_unet_get_logits (u)) * sizeof (float),
                            error)
    && save (u, after, error);
out:
  loom_unet_free (u);
  loom_graph_free (g);
  return ok;
}

int
main (int argc, char **argv)
{
  return runner_main (argc, argv, "unet-runner", run_case);
}
