/* The U-Net (see loom-unet.h): a table of named parameters, each a graph
 * tensor with the shape PyTorch gives it, so loading, storing and
 * initialising are one loop over the table. */
#include <math.h>
#include <string.h>
#include <json-glib/json-glib.h>

#include <loom/loom-unet.h>
#include "net.h"

struct _LoomUNet
{
  LoomUNetConfig config;
  LoomGraph     *graph;
  gboolean       training;
  float          momentum;      /* batch norms' running statistics */
  LoomNet        net;           /* the parameters, in state_dict order */
  LoomTensor    *logits;
};

void
loom_unet_free (LoomUNet *u)
{
  if (u == NULL)
    return;
  loom_net_clear (&u->net);
  g_free (u);
}

LoomTensor *
loom_unet_get_logits (LoomUNet *u)
{
  return u->logits;
}

const LoomUNetConfig *
loom_unet_get_config (LoomUNet *u)
{
  return &u->config;
}

static guint
width_of (const LoomUNetConfig *c, guint level)
{
  return c->base << level;
}

guint64
loom_unet_count_parameters (const LoomUNetConfig *c)
{
  guint64 total = 0;

  for (guint i = 0; i <= c->depth; i++)
    {
      guint64 in = i == 0 ? c->in_channels : width_of (c, i - 1), w = width_of (c, i);

      total += 9 * (in * w + w * w) + 4 * w;          /* two convolutions, two norms */
      if (i < c->depth)                               /* its decoder level */
        {
          guint64 cat = w + width_of (c, i + 1);

          total += 9 * (cat * w + w * w) + 4 * w;
        }
    }
  return total + (guint64) c->classes * c->base + c->classes;
}

/* Where the layers go: a table, the names' prefix, the norms' mode. */
typedef struct
{
  LoomNet    *net;
  const char *prefix;           /* "" or e.g. "generator." */
  gboolean    training;
  float       momentum;
} Builder;

static LoomTensor *
param (const Builder *b, const char *name, guint n_dims, const guint64 *shape, LoomInit init,
       float scale, gboolean buffer)
{
  g_autofree char *full = g_strconcat (b->prefix, name, NULL);

  return loom_net_add (b->net, full, n_dims, shape, init, scale, buffer);
}

/* conv 3×3 (no bias) → batch norm → ReLU, as PREFIX.conv{I} and PREFIX.bn{I}. */
static LoomTensor *
conv_bn_relu (const Builder *b, LoomTensor *x, guint in, guint out, const char *prefix, int i)
{
  LoomGraph *g = b->net->graph;
  const LoomConv2d same = { .pad_h = 1, .pad_w = 1 };
  g_autofree char *w = g_strdup_printf ("%s.conv%d.weight", prefix, i);
  g_autofree char *bn = g_strdup_printf ("%s.bn%d", prefix, i);
  g_autofree char *gamma = g_strconcat (bn, ".weight", NULL);
  g_autofree char *beta = g_strconcat (bn, ".bias", NULL);
  g_autofree char *mean = g_strconcat (bn, ".running_mean", NULL);
  g_autofree char *var = g_strconcat (bn, ".running_var", NULL);
  const guint64 kernel[] = { out, in, 3, 3 }, vec[] = { out };
  LoomTensor *y;

  y = loom_graph_conv2d (g, x, param (b, w, 4, kernel, LOOM_INIT_KAIMING_NORMAL, 0, FALSE),
                         NULL, &same);
  y = loom_graph_batch_norm (g, y,
                             param (b, gamma, 1, vec, LOOM_INIT_ONES, 0, FALSE),
                             param (b, beta, 1, vec, LOOM_INIT_ZEROS, 0, FALSE),
                             param (b, mean, 1, vec, LOOM_INIT_ZEROS, 0, TRUE),
                             param (b, var, 1, vec, LOOM_INIT_ONES, 0, TRUE),
                             b->training, b->momentum, 1e-5f);
  return loom_graph_activation (g, LOOM_ACTIVATION_RELU, 0.0f, y);
}

LoomTensor *
loom_unet_trunk (LoomNet *net, const char *prefix, const LoomUNetConfig *config,
                 LoomTensor *x, gboolean training, float momentum)
{
  const Builder b = { net, prefix, training, momentum };
  LoomGraph *graph = net->graph;
  LoomTensor *h = x, *skips[7];

  for (guint i = 0; i <= config->depth; i++)
    {
      g_autofree char *level = g_strdup_printf ("enc%u", i);
      guint in = i == 0 ? config->in_channels : width_of (config, i - 1);

      h = conv_bn_relu (&b, h, in, width_of (config, i), level, 1);
      h = conv_bn_relu (&b, h, width_of (config, i), width_of (config, i), level, 2);
      skips[i] = h;
      if (i < config->depth)
        h = loom_graph_pool2d (graph, h, TRUE, 2, 2, 0);
    }
  for (gint i = (gint) config->depth - 1; i >= 0; i--)
    {
      g_autofree char *level = g_strdup_printf ("dec%d", i);
      guint w = width_of (config, (guint) i);

      h = loom_graph_upsample (graph, h, 2, TRUE);
      h = loom_graph_concat (graph, skips[i], h);
      h = conv_bn_relu (&b, h, w + width_of (config, (guint) i + 1), w, level, 1);
      h = conv_bn_relu (&b, h, w, w, level, 2);
    }
  return h;
}

LoomTensor *
loom_unet_layers (LoomNet *net, const char *prefix, const LoomUNetConfig *config,
                  LoomTensor *x, gboolean training, float momentum)
{
  const Builder b = { net, prefix, training, momentum };
  const LoomConv2d point = { 0 };
  guint64 head_shape[] = { config->classes, config->base, 1, 1 }, bias_shape[] = { config->classes };
  LoomTensor *h = loom_unet_trunk (net, prefix, config, x, training, momentum);

  return loom_graph_conv2d (net->graph, h,
                            param (&b, "head.weight", 4, head_shape, LOOM_INIT_KAIMING_UNIFORM,
                                   0, FALSE),
                            param (&b, "head.bias", 1, bias_shape,
                                   LOOM_INIT_UNIFORM,        /* PyTorch's ±1/√fan_in */
                                   (float) (1.0 / sqrt ((double) config->base)), FALSE),
                            &point);
}

static gboolean
check_config (const LoomUNetConfig *c, GError **error)
{
  if (c->in_channels < 1 || c->in_channels > 1024 || c->classes < 1 || c->classes > 1024
      || c->depth < 1 || c->depth > 6 || c->base < 1 || c->base > 1024
      || ((guint64) c->base << c->depth) > 65536)
    {
      g_set_error (error, LOOM_ERROR, LOOM_ERROR_INVALID_ARGUMENT,
                   "unet: %u input channels, %u classes, depth %u, base %u is not a U-Net "
                   "Loom builds (depth 1–6, at most 1024 channels in and out, base·2^depth "
                   "≤ 65536)", c->in_channels, c->classes, c->depth, c->base);
      return FALSE;
    }
  return TRUE;
}

LoomUNet *
loom_unet_build (LoomGraph *graph, const LoomUNetConfig *config, LoomTensor *x,
                 gboolean training, GError **error)
{
  return loom_unet_build_full (graph, config, x, training, 0.1f, error);
}

LoomUNet *
loom_unet_build_full (LoomGraph *graph, const LoomUNetConfig *config, LoomTensor *x,
                      gboolean training, float momentum, GError **error)
{
  LoomUNet *u;
  guint n, c, hh, ww, step;

  g_return_val_if_fail (graph != NULL && config != NULL && x != NULL, NULL);
  if (!check_config (config, error))
    return NULL;
  loom_tensor_get_shape (x, &n, &c, &hh, &ww);
  step = 1u << config->depth;
  if (c != config->in_channels || hh % step != 0 || ww % step != 0)
    {
      g_set_error (error, LOOM_ERROR, LOOM_ERROR_INVALID_ARGUMENT,
                   "unet: input %u×%u×%u×%u needs %u channels and sides that are multiples "
                   "of %u (2^depth)", n, c, hh, ww, config->in_channels, step);
      return NULL;
    }
  u = g_new0 (LoomUNet, 1);
  u->config = *config;
  u->graph = graph;
  u->training = training;
  u->momentum = momentum;
  loom_net_init (&u->net, graph);
  u->logits = loom_unet_layers (&u->net, "", config, x, training, momentum);
  if (u->logits == NULL)
    {
      /* The graph holds the reason; compile reports it too. */
      g_set_error (error, LOOM_ERROR, LOOM_ERROR_INVALID_ARGUMENT,
                   "unet: the graph refused a layer (input %u×%u×%u×%u)", n, c, hh, ww);
      loom_unet_free (u);
      return NULL;
    }
  return u;
}

gboolean
loom_unet_init (LoomUNet *u, guint32 seed, GError **error)
{
  return loom_net_fill (&u->net, seed, error);
}

gboolean
loom_unet_load (LoomUNet *u, LoomWeights *weights, GError **error)
{
  if (loom_weights_get_metadata (weights, LOOM_METADATA_ARCHITECTURE) != NULL)
    {
      LoomUNetConfig c;

      if (!loom_unet_config_from_weights (weights, &c, error))
        return FALSE;
      if (memcmp (&c, &u->config, sizeof c) != 0)
        {
          g_set_error (error, LOOM_ERROR, LOOM_ERROR_BAD_FILE,
                       "weights file: a U-Net of %u inputs, %u classes, depth %u, base %u; "
                       "this one has %u, %u, %u, %u", c.in_channels, c.classes, c.depth, c.base,
                       u->config.in_channels, u->config.classes, u->config.depth,
                       u->config.base);
          return FALSE;
        }
    }
  /* Every tensor of the file must be one of ours (a bigger U-Net's file
   * holds all of a smaller one's tensors, with the same shapes). */
  for (const char *const *name = loom_weights_get_names (weights); *name != NULL; name++)
    {
      /* A segmentation model's pixel head and its encoder are not the
       * network's to load. */
      if (g_str_has_prefix (*name, "pixel.") || g_str_has_prefix (*name, "encoder."))
        continue;
      if (loom_net_find (&u->net, *name) == NULL)
        {
          g_set_error (error, LOOM_ERROR, LOOM_ERROR_BAD_FILE,
                       "weights file: tensor '%s' is not part of a U-Net of depth %u, base %u",
                       *name, u->config.depth, u->config.base);
          return FALSE;
        }
    }
  return loom_net_load (&u->net, weights, error);
}

gboolean
loom_unet_load_features (LoomUNet *u, LoomWeights *weights, GError **error)
{
  LoomUNetConfig c;

  if (!loom_unet_config_from_weights (weights, &c, error))
    return FALSE;
  if (c.in_channels != u->config.in_channels || c.depth != u->config.depth
      || c.base != u->config.base)
    {
      g_set_error (error, LOOM_ERROR, LOOM_ERROR_BAD_FILE,
                   "weights file: a U-Net of %u inputs, depth %u, base %u; this one has "
                   "%u, %u, %u", c.in_channels, c.depth, c.base, u->config.in_channels,
                   u->config.depth, u->config.base);
      return FALSE;
    }
  for (guint i = 0; i < u->net.params->len; i++)
    {
      const LoomNetParam *p = &g_array_index (u->net.params, LoomNetParam, i);
      const float *data;

      if (g_str_has_prefix (p->name, "head."))
        continue;
      data = loom_weights_expect (weights, p->name, p->n_dims, p->shape, error);
      if (data == NULL || !loom_graph_write (u->net.graph, p->tensor, data, error))
        return FALSE;
    }
  return TRUE;
}

gboolean
loom_unet_store (LoomUNet *u, LoomWeights *weights, GError **error)
{
  g_autofree char *arch = g_strdup_printf ("{\"name\":\"unet\",\"in_channels\":%u,\"classes\":%u,"
                                           "\"depth\":%u,\"base\":%u,\"norm\":\"batch\","
                                           "\"upsample\":\"bilinear\"}",
                                           u->config.in_channels, u->config.classes,
                                           u->config.depth, u->config.base);

  if (!loom_net_store (&u->net, weights, error))
    return FALSE;
  loom_weights_set_metadata (weights, LOOM_METADATA_ARCHITECTURE, arch);
  return TRUE;
}

static gboolean
read_field (JsonObject *o, const char *name, guint *value, GError **error)
{
  if (loom_net_json_uint (o, name, value))
    return TRUE;
  g_set_error (error, LOOM_ERROR, LOOM_ERROR_BAD_FILE,
               "weights file: the architecture has no valid '%s'", name);
  return FALSE;
}

gboolean
loom_unet_check_config (const LoomUNetConfig *config, GError **error)
{
  return check_config (config, error);
}

gboolean
loom_unet_config_from_weights (LoomWeights *weights, LoomUNetConfig *config, GError **error)
{
  g_autoptr (JsonObject) o = loom_net_architecture (weights, error);
  const char *name;

  if (o == NULL)
    return FALSE;
  name = json_object_get_string_member_with_default (o, "name", "");
  if (strcmp (name, "unet") != 0)
    {
      g_set_error (error, LOOM_ERROR, LOOM_ERROR_BAD_FILE,
                   "weights file: a '%s', not a U-Net", name);
      return FALSE;
    }
  if (!read_field (o, "in_channels", &config->in_channels, error)
      || !read_field (o, "classes", &config->classes, error)
      || !read_field (o, "depth", &config->depth, error)
      || !read_field (o, "base", &config->base, error))
    return FALSE;
  if (!check_config (config, NULL))
    {
      g_set_error (error, LOOM_ERROR, LOOM_ERROR_BAD_FILE,
                   "weights file: unsupported U-Net (%u inputs, %u classes, depth %u, base %u)",
                   config->in_channels, config->classes, config->depth, config->base);
      return FALSE;
    }
  return TRUE;
}
