/* DCGAN and the texture GAN (see loom-gan.h): parameters declared once in
 * a table, the layers applied to as many inputs as the caller wants. */
#include <string.h>
#include <json-glib/json-glib.h>

#include <loom/loom-gan.h>
#include "net.h"

/* One layer's tensors: a convolution's weight (and bias), a norm's four. */
typedef struct
{
  LoomTensor *weight, *bias;
  LoomTensor *gamma, *beta, *mean, *var;      /* NULL: no norm */
  LoomTensor *frozen[4];                       /* detached weight, bias, γ, β (D only) */
  LoomTensor *u, *normalised;                  /* spectral norm's u and W / σ (D only) */
} Layer;

struct _LoomGan
{
  LoomGanConfig config;
  LoomGraph    *graph;
  LoomNet       net;
  Layer         g[8], d[8];                    /* levels + 1 each */
  gboolean      has_d;
  gboolean      generated;                     /* pix2pix: its U-Net is declared */
};

/* Each kind's name in a weights file's architecture, and as people type it. */
static const char *const architecture_names[] = { "dcgan", "texture-gan", "pix2pix" };
static const char *const kind_names[] = { "dcgan", "texture", "pix2pix" };

const char *
loom_gan_kind_name (LoomGanKind kind)
{
  return (guint) kind < G_N_ELEMENTS (kind_names) ? kind_names[kind] : "?";
}

gboolean
loom_gan_kind_from_name (const char *name, LoomGanKind *kind)
{
  for (guint k = 0; k < G_N_ELEMENTS (kind_names); k++)
    if (strcmp (name, kind_names[k]) == 0)
      {
        *kind = (LoomGanKind) k;
        return TRUE;
      }
  return FALSE;
}

static gboolean
check_config (const LoomGanConfig *c, GError **error)
{
  gboolean pix2pix = c->kind == LOOM_GAN_PIX2PIX;
  guint top = c->kind == LOOM_GAN_DCGAN ? 6 : pix2pix ? 6 : 7;

  if ((guint) c->kind > LOOM_GAN_PIX2PIX
      || c->channels < 1 || c->channels > 4 || c->latent < (pix2pix ? 0u : 1u) || c->latent > 4096
      || c->levels < (c->kind == LOOM_GAN_DCGAN ? 2u : 1u) || c->levels > top
      || c->g_width < 1 || c->d_width < 1
      || ((guint64) c->g_width << c->levels) > 8192 || ((guint64) c->d_width << c->levels) > 8192
      || (c->tileable && c->kind != LOOM_GAN_TEXTURE)
      || (pix2pix ? c->classes < 1 || c->classes > 256 : c->classes != 0))
    {
      g_set_error (error, LOOM_ERROR, LOOM_ERROR_INVALID_ARGUMENT,
                   "gan: %s with %u channels, latent %u, %u levels, widths %u/%u, %u classes%s "
                   "is not a GAN Loom builds (1–4 channels, levels %s, widths·2^levels ≤ 8192, "
                   "classes 1–256 for pix2pix only, tiling for textures only)",
                   (guint) c->kind <= LOOM_GAN_PIX2PIX ? architecture_names[c->kind] : "?",
                   c->channels, c->latent, c->levels, c->g_width, c->d_width, c->classes,
                   c->tileable ? ", tileable" : "", c->kind == LOOM_GAN_TEXTURE ? "1–7" :
                   c->kind == LOOM_GAN_DCGAN ? "2–6" : "1–6");
      return FALSE;
    }
  return TRUE;
}

guint
loom_gan_image_side (const LoomGanConfig *c)
{
  return 4u << c->levels;
}

guint
loom_gan_noise_side (const LoomGanConfig *c, guint side)
{
  return (side + (1u << c->levels) - 1) >> c->levels;
}

static LoomTensor *
add (LoomGan *gan, const char *prefix, const char *kind, guint i, const char *what,
     guint n_dims, const guint64 *shape, LoomInit init, float scale, gboolean buffer)
{
  g_autofree char *name = g_strdup_printf ("%s.%s.%u.%s", prefix, kind, i, what);

  return loom_net_add (&gan->net, name, n_dims, shape, init, scale, buffer);
}

/* Layer I of PREFIX: a weight of SHAPE, a bias of BIAS values (0: none), a
 * norm of NORM channels (0: none). */
static void
declare (LoomGan *gan, Layer *layer, const char *prefix, guint i, const guint64 *shape,
         guint bias, guint norm)
{
  const guint64 b[] = { bias }, v[] = { norm };

  layer->weight = add (gan, prefix, "convs", i, "weight", 4, shape, LOOM_INIT_NORMAL, 0.02f, FALSE);
  if (bias > 0)
    layer->bias = add (gan, prefix, "convs", i, "bias", 1, b, LOOM_INIT_ZEROS, 0.0f, FALSE);
  if (norm == 0)
    return;
  layer->gamma = add (gan, prefix, "norms", i, "weight", 1, v, LOOM_INIT_ONES, 0.0f, FALSE);
  layer->beta = add (gan, prefix, "norms", i, "bias", 1, v, LOOM_INIT_ZEROS, 0.0f, FALSE);
  layer->mean = add (gan, prefix, "norms", i, "running_mean", 1, v, LOOM_INIT_ZEROS, 0.0f, TRUE);
  layer->var = add (gan, prefix, "norms", i, "running_var", 1, v, LOOM_INIT_ONES, 0.0f, TRUE);
}

LoomGan *
loom_gan_new (LoomGraph *graph, const LoomGanConfig *config, gboolean discriminator,
              GError **error)
{
  const LoomGanConfig *c = config;
  guint L, out;
  LoomGan *gan;

  g_return_val_if_fail (graph != NULL && config != NULL, NULL);
  if (!check_config (config, error))
    return NULL;
  gan = g_new0 (LoomGan, 1);
  gan->config = *config;
  gan->graph = graph;
  gan->has_d = discriminator;
  loom_net_init (&gan->net, graph);
  L = c->levels;

  /* G: widths g_width·2^(L−1−i), from the latent planes to the image
   * (pix2pix: the U-Net, declared when it is applied). */
  for (guint i = 0; i <= L && c->kind != LOOM_GAN_PIX2PIX; i++)
    {
      guint64 in = i == 0 ? c->latent : (guint64) c->g_width << (L - i);
      guint64 width = i == L ? c->channels : (guint64) c->g_width << (L - 1 - i);

      if (c->kind == LOOM_GAN_DCGAN)      /* transposed: in × out × 4 × 4, no bias */
        declare (gan, &gan->g[i], "generator", i, (guint64[]) { in, width, 4, 4 }, 0,
                 i < L ? (guint) width : 0);
      else
        declare (gan, &gan->g[i], "generator", i, (guint64[]) { width, in, 3, 3 },
                 i == L ? (guint) width : 0, i < L ? (guint) width : 0);
    }
  if (discriminator)
    for (guint i = 0; i <= L; i++)
      {
        guint64 in = i == 0 ? c->channels + c->classes : (guint64) c->d_width << (i - 1);
        gboolean patches = c->kind != LOOM_GAN_DCGAN;

        out = i == L ? 1 : c->d_width << i;
        declare (gan, &gan->d[i], "discriminator", i,
                 (guint64[]) { out, in, patches && i == L ? 3 : 4, patches && i == L ? 3 : 4 },
                 patches && i == L ? 1 : 0, i > 0 && i < L ? out : 0);
        /* u starts N(0, 1): its scale does not matter (v is normalised). */
        if (c->spectral_norm)
          gan->d[i].u = add (gan, "discriminator", "convs", i, "weight_u", 1,
                             (guint64[]) { out }, LOOM_INIT_NORMAL, 1.0f, TRUE);
      }
  return gan;
}

void
loom_gan_free (LoomGan *gan)
{
  if (gan == NULL)
    return;
  loom_net_clear (&gan->net);
  g_free (gan);
}

const LoomGanConfig *
loom_gan_get_config (LoomGan *gan)
{
  return &gan->config;
}

LoomTensor *
loom_gan_generate_layer (LoomGan *gan, LoomTensor *z, gboolean training, float momentum)
{
  const LoomGanConfig *c = &gan->config;
  LoomGraph *g = gan->graph;
  LoomTensor *h = z;

  if (c->kind == LOOM_GAN_PIX2PIX)
    {
      LoomUNetConfig u = { c->classes + c->latent, c->channels, c->levels, c->g_width };

      g_return_val_if_fail (!gan->generated, NULL);
      gan->generated = TRUE;
      h = loom_unet_layers (&gan->net, "generator.", &u, z, training, momentum);
      return loom_graph_activation (g, LOOM_ACTIVATION_TANH, 0.0f, h);
    }
  for (guint i = 0; i <= c->levels; i++)
    {
      const Layer *l = &gan->g[i];

      if (c->kind == LOOM_GAN_DCGAN)
        {
          LoomConv2d up = { .stride_h = 2, .stride_w = 2, .pad_h = 1, .pad_w = 1 };

          if (i == 0)
            up = (LoomConv2d) { 0 };
          h = loom_graph_conv_transpose2d (g, h, l->weight, NULL, &up);
        }
      else
        {
          LoomConv2d same = { .pad_h = 1, .pad_w = 1,
                              .pad_mode = c->tileable ? LOOM_PAD_CIRCULAR : LOOM_PAD_ZERO };

          if (i < c->levels)
            h = loom_graph_upsample (g, h, 2, FALSE);
          h = loom_graph_conv2d (g, h, l->weight, l->bias, &same);
        }
      if (i < c->levels)
        {
          h = loom_graph_batch_norm (g, h, l->gamma, l->beta, l->mean, l->var, training,
                                     momentum, 1e-5f);
          h = loom_graph_activation (g, LOOM_ACTIVATION_RELU, 0.0f, h);
        }
    }
  return loom_graph_activation (g, LOOM_ACTIVATION_TANH, 0.0f, h);
}

LoomTensor *
loom_gan_judge_layer (LoomGan *gan, LoomTensor *x, gboolean frozen)
{
  const LoomGanConfig *c = &gan->config;
  LoomGraph *g = gan->graph;
  LoomTensor *h = x;

  g_return_val_if_fail (gan->has_d, NULL);
  for (guint i = 0; i <= c->levels; i++)
    {
      Layer *l = &gan->d[i];
      LoomConv2d conv = { .stride_h = 2, .stride_w = 2, .pad_h = 1, .pad_w = 1 };
      LoomTensor *w, *b = l->bias, *gamma = l->gamma, *beta = l->beta;

      /* Spectral norm: one power iteration a run, however many judgements. */
      if (l->u != NULL && l->normalised == NULL)
        l->normalised = loom_graph_spectral_norm (g, l->weight, l->u, 1e-12f);
      w = l->u != NULL ? l->normalised : l->weight;
      if (i == c->levels)
        conv = c->kind == LOOM_GAN_DCGAN ? (LoomConv2d) { 0 }
                                         : (LoomConv2d) { .pad_h = 1, .pad_w = 1 };
      if (frozen)
        {
          LoomTensor *const own[4] = { w, l->bias, l->gamma, l->beta };

          for (guint k = 0; k < 4; k++)
            if (own[k] != NULL && l->frozen[k] == NULL)
              l->frozen[k] = loom_graph_detach (g, own[k]);
          w = l->frozen[0], b = l->frozen[1], gamma = l->frozen[2], beta = l->frozen[3];
        }
      h = loom_graph_conv2d (g, h, w, b, &conv);
      if (i == c->levels)
        break;
      if (gamma != NULL)
        h = loom_graph_batch_norm (g, h, gamma, beta, l->mean, l->var, TRUE, 0.1f, 1e-5f);
      h = loom_graph_activation (g, LOOM_ACTIVATION_LEAKY_RELU, 0.2f, h);
    }
  return h;
}

gboolean
loom_gan_init (LoomGan *gan, guint32 seed, GError **error)
{
  return loom_net_fill (&gan->net, seed, error);
}

static char *
architecture (const LoomGanConfig *c)
{
  /* spectral_norm only when on: files from before it read the same. */
  return g_strdup_printf ("{\"name\":\"%s\",\"channels\":%u,\"latent\":%u,\"levels\":%u,"
                          "\"g_width\":%u,\"d_width\":%u,\"tileable\":%s,\"classes\":%u%s}",
                          architecture_names[c->kind], c->channels, c->latent, c->levels, c->g_width,
                          c->d_width, c->tileable ? "true" : "false", c->classes,
                          c->spectral_norm ? ",\"spectral_norm\":true" : "");
}

gboolean
loom_gan_load (LoomGan *gan, LoomWeights *weights, GError **error)
{
  return loom_gan_load_averaged (gan, NULL, weights, error);
}

gboolean
loom_gan_store (LoomGan *gan, LoomWeights *weights, GError **error)
{
  return loom_gan_store_averaged (gan, NULL, weights, error);
}

/* Where a table entry's values go in a file with averages: its average
 * (or itself) under its name, the live weights under "training." too. */
static LoomTensor *
average_of (LoomGan *gan, GPtrArray *averages, const LoomNetParam *p)
{
  g_autoptr (GPtrArray) live = loom_gan_generator_parameters (gan);
  guint at;

  if (averages != NULL && g_ptr_array_find (live, p->tensor, &at))
    return g_ptr_array_index (averages, at);
  return NULL;
}

static gboolean
copy_in (LoomGan *gan, LoomTensor *t, const LoomNetParam *p, LoomWeights *w, const char *name,
         GError **error)
{
  const float *data = loom_weights_expect (w, name, p->n_dims, p->shape, error);

  return data != NULL && loom_graph_write (gan->graph, t, data, error);
}

static gboolean
copy_out (LoomGan *gan, LoomTensor *t, const LoomNetParam *p, LoomWeights *w, const char *name,
          GError **error)
{
  g_autofree float *data = g_new (float, loom_tensor_get_length (t));

  return loom_graph_read (gan->graph, t, data, error)
      && loom_weights_add (w, name, p->n_dims, p->shape, data, error);
}

gboolean
loom_gan_store_averaged (LoomGan *gan, GPtrArray *averages, LoomWeights *weights, GError **error)
{
  g_autofree char *arch = architecture (&gan->config);

  for (guint i = 0; i < gan->net.params->len; i++)
    {
      const LoomNetParam *p = &g_array_index (gan->net.params, LoomNetParam, i);
      LoomTensor *average = average_of (gan, averages, p);
      g_autofree char *training = g_strconcat ("training.", p->name, NULL);

      if (!copy_out (gan, average ? average : p->tensor, p, weights, p->name, error)
          || (average != NULL && !copy_out (gan, p->tensor, p, weights, training, error)))
        return FALSE;
    }
  loom_weights_set_metadata (weights, LOOM_METADATA_ARCHITECTURE, arch);
  return TRUE;
}

gboolean
loom_gan_load_averaged (LoomGan *gan, GPtrArray *averages, LoomWeights *weights, GError **error)
{
  LoomGanConfig c;

  if (!loom_gan_config_from_weights (weights, &c, error))
    return FALSE;
  if (memcmp (&c, &gan->config, sizeof c) != 0)
    {
      g_autofree char *file = architecture (&c), *ours = architecture (&gan->config);

      g_set_error (error, LOOM_ERROR, LOOM_ERROR_BAD_FILE,
                   "weights file: a GAN %s; this one is %s", file, ours);
      return FALSE;
    }
  for (guint i = 0; i < gan->net.params->len; i++)
    {
      const LoomNetParam *p = &g_array_index (gan->net.params, LoomNetParam, i);
      LoomTensor *average = average_of (gan, averages, p);
      g_autofree char *training = g_strconcat ("training.", p->name, NULL);
      gboolean live = average != NULL && loom_weights_lookup (weights, training, NULL, NULL);

      if (!copy_in (gan, p->tensor, p, weights, live ? training : p->name, error)
          || (average != NULL && !copy_in (gan, average, p, weights, p->name, error)))
        return FALSE;
    }
  return TRUE;
}

GPtrArray *
loom_gan_generator_parameters (LoomGan *gan)
{
  GPtrArray *list = g_ptr_array_new ();

  for (guint i = 0; i < gan->net.params->len; i++)
    {
      const LoomNetParam *p = &g_array_index (gan->net.params, LoomNetParam, i);

      if (!p->buffer && g_str_has_prefix (p->name, "generator."))
        g_ptr_array_add (list, p->tensor);
    }
  return list;
}

gboolean
loom_gan_config_from_weights (LoomWeights *weights, LoomGanConfig *config, GError **error)
{
  const char *text = loom_weights_get_metadata (weights, LOOM_METADATA_ARCHITECTURE);
  g_autoptr (JsonObject) o = loom_net_architecture (weights, error);
  JsonNode *tile, *sn;
  const char *name;

  memset (config, 0, sizeof *config);
  if (o == NULL)
    return FALSE;
  name = json_object_get_string_member_with_default (o, "name", "");
  for (config->kind = 0; config->kind <= LOOM_GAN_PIX2PIX; config->kind++)
    if (strcmp (name, architecture_names[config->kind]) == 0)
      break;
  if (config->kind > LOOM_GAN_PIX2PIX)
    {
      g_set_error (error, LOOM_ERROR, LOOM_ERROR_BAD_FILE,
                   "weights file: a '%s', not a GAN", name);
      return FALSE;
    }
  tile = json_object_get_member (o, "tileable");
  sn = json_object_get_member (o, "spectral_norm");
  if (!loom_net_json_uint (o, "channels", &config->channels)
      || !loom_net_json_uint (o, "latent", &config->latent)
      || !loom_net_json_uint (o, "levels", &config->levels)
      || !loom_net_json_uint (o, "g_width", &config->g_width)
      || !loom_net_json_uint (o, "d_width", &config->d_width)
      || (json_object_has_member (o, "classes")
          && !loom_net_json_uint (o, "classes", &config->classes))
      || tile == NULL
      || !JSON_NODE_HOLDS_VALUE (tile) || json_node_get_value_type (tile) != G_TYPE_BOOLEAN
      || (sn != NULL && (!JSON_NODE_HOLDS_VALUE (sn)
                         || json_node_get_value_type (sn) != G_TYPE_BOOLEAN)))
    {
      g_set_error (error, LOOM_ERROR, LOOM_ERROR_BAD_FILE,
                   "weights file: the GAN's architecture is incomplete: %s", text);
      return FALSE;
    }
  config->tileable = json_node_get_boolean (tile);
  config->spectral_norm = sn != NULL && json_node_get_boolean (sn);
  if (!check_config (config, NULL))
    {
      g_set_error (error, LOOM_ERROR, LOOM_ERROR_BAD_FILE,
                   "weights file: a GAN Loom does not build: %s", text);
      return FALSE;
    }
  return TRUE;
}
