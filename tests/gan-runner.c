/* gan-runner MANIFEST OUTDIR DEVICE: Loom's GANs for tests/torch-gan.py.
 *
 * A case: {"name", "kind": "dcgan" | "texture-gan" | "pix2pix", "channels",
 * "latent", "levels", "g_width", "d_width", "tileable", "classes", "n",
 * "noise": G's input side (pix2pix: the label planes' and noise's), "side": the image
 * side D judges, "training": G's mode, and either
 * "weights": a file to load or "seed": fresh weights, saved to
 * OUTDIR/NAME.safetensors before the run}.  Inputs IN_DIR/NAME.z and
 * NAME.x; outputs OUTDIR/NAME.fake (G(z)), NAME.logits (D(x), batch
 * statistics), and the weights after the run in NAME.after.safetensors. */
#include <string.h>

#include <loom/loom-gan.h>
#include "runner.h"

static guint
member (JsonObject *c, const char *name)
{
  return (guint) json_object_get_int_member (c, name);
}

static gboolean
save (LoomGan *gan, const char *path, GError **error)
{
  LoomWeights *w = loom_weights_new ();
  gboolean ok = loom_gan_store (gan, w, error) && loom_weights_save (w, path, error);

  loom_weights_free (w);
  return ok;
}

static gboolean
write_input (LoomGraph *g, LoomTensor *t, const char *path, GError **error)
{
  g_autofree char *data = NULL;
  gsize len;

  if (!g_file_get_contents (path, &data, &len, error))
    return FALSE;
  if (len != loom_tensor_get_length (t) * sizeof (float))
    {
      g_set_error (error, LOOM_ERROR, LOOM_ERROR_INVALID_ARGUMENT, "%s: wrong size", path);
      return FALSE;
    }
  return loom_graph_write (g, t, (const float *) data, error);
}

static gboolean
write_output (LoomGraph *g, LoomTensor *t, const char *path, GError **error)
{
  gsize n = loom_tensor_get_length (t);
  g_autofree float *data = g_new (float, n);

  return loom_graph_read (g, t, data, error)
      && g_file_set_contents (path, (const char *) data, (gssize) (n * sizeof (float)), error);
}

static gboolean
run_case (LoomDevice *device, const char *in_dir, const char *out_dir, JsonObject *c,
          GError **error)
{
  const char *name = json_object_get_string_member (c, "name");
  const char *kind = json_object_get_string_member (c, "kind");
  LoomGanConfig config = {
    strcmp (kind, "dcgan") == 0 ? LOOM_GAN_DCGAN
    : strcmp (kind, "pix2pix") == 0 ? LOOM_GAN_PIX2PIX : LOOM_GAN_TEXTURE,
    member (c, "channels"), member (c, "latent"), member (c, "levels"),
    member (c, "g_width"), member (c, "d_width"), json_object_get_boolean_member (c, "tileable"),
    member (c, "classes"), FALSE,
  };
  guint n = member (c, "n"), noise = member (c, "noise"), side = member (c, "side");
  g_autofree char *z_path = g_strdup_printf ("%s/%s.z", in_dir, name);
  g_autofree char *x_path = g_strdup_printf ("%s/%s.x", in_dir, name);
  g_autofree char *fake_path = g_strdup_printf ("%s/%s.fake", out_dir, name);
  g_autofree char *logits_path = g_strdup_printf ("%s/%s.logits", out_dir, name);
  g_autofree char *before = g_strdup_printf ("%s/%s.safetensors", out_dir, name);
  g_autofree char *after = g_strdup_printf ("%s/%s.after.safetensors", out_dir, name);
  LoomGraph *g = loom_graph_new ();
  LoomGan *gan;
  LoomTensor *z, *x, *fake = NULL, *logits = NULL;
  gboolean ok = FALSE;

  /* pix2pix: G reads label planes and noise, D label planes and an image. */
  z = loom_graph_input (g, "z", n, config.classes + config.latent, noise, noise);
  x = loom_graph_input (g, "x", n, config.classes + config.channels, side, side);
  gan = loom_gan_new (g, &config, TRUE, error);
  if (gan == NULL)
    goto out;
  fake = loom_gan_generate_layer (gan, z, json_object_get_boolean_member (c, "training"), 0.1f);
  logits = loom_gan_judge_layer (gan, x, FALSE);
  loom_graph_keep (g, fake);
  loom_graph_keep (g, logits);
  if (!loom_graph_compile (g, device, error))
    goto out;
  if (json_object_has_member (c, "weights"))
    {
      LoomWeights *weights = loom_weights_load (json_object_get_string_member (c, "weights"),
                                                error);

      ok = weights != NULL && loom_gan_load (gan, weights, error);
      loom_weights_free (weights);
      if (!ok)
        goto out;
      ok = FALSE;
    }
  else if (!loom_gan_init (gan, (guint32) member (c, "seed"), error) || !save (gan, before, error))
    goto out;
  ok = write_input (g, z, z_path, error) && write_input (g, x, x_path, error)
    && loom_graph_run (g, error)
    && write_output (g, fake, fake_path, error) && write_output (g, logits, logits_path, error)
    && save (gan, after, error);
out:
  loom_gan_free (gan);
  loom_graph_free (g);
  return ok;
}

int
main (int argc, char **argv)
{
  return runner_main (argc, argv, "gan-runner", run_case);
}
