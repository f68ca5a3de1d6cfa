/* The pixel head (see head.h): features → hidden → hidden → classes, ReLU,
 * on Loom's graph, so it trains and runs on either backend. */
#include <math.h>
#include <string.h>

#include <json-glib/json-glib.h>

#include "segment/features.h"
#include "segment/head.h"
#include "segment/tiled.h"

#define BAND_ROWS 64            /* rows of features computed at once */
#define PREDICT_CHUNK 16384     /* pixels per prediction run */

static const char *const layer_names[] = { "pixel.fc1", "pixel.fc2", "pixel.fc3" };

typedef struct
{
  LoomTensor *weight[3], *bias[3];
  LoomTensor *logits;           /* N × classes */
} Mlp;

guint
loom_pixel_head_inputs (const LoomPixelHeadConfig *c)
{
  return loom_pixel_features_count (c->channels) + (c->encoder_depth > 0 ? c->encoder_base : 0);
}

static LoomUNetConfig
encoder_unet (const LoomPixelHeadConfig *c)
{
  return (LoomUNetConfig) { c->channels, 1, c->encoder_depth, c->encoder_base };
}

LoomTensor *
loom_pixel_head_encoder (LoomNet *net, const LoomPixelHeadConfig *c, const char *prefix,
                         LoomTensor *x)
{
  LoomUNetConfig u = encoder_unet (c);
  LoomTensor *f = loom_unet_trunk (net, prefix, &u, x, FALSE, 0.1f);

  loom_graph_keep (net->graph, f);
  return f;
}

static void
mlp_build (LoomGraph *g, const LoomPixelHeadConfig *c, LoomTensor *x, Mlp *m)
{
  guint widths[4] = { loom_pixel_head_inputs (c), c->hidden, c->hidden, c->classes };
  LoomTensor *h = x;

  for (guint i = 0; i < 3; i++)
    {
      g_autofree char *w = g_strdup_printf ("%s.weight", layer_names[i]);
      g_autofree char *b = g_strdup_printf ("%s.bias", layer_names[i]);

      m->weight[i] = loom_graph_parameter (g, w, widths[i + 1], widths[i], 1, 1);
      m->bias[i] = loom_graph_parameter (g, b, widths[i + 1], 1, 1, 1);
      h = loom_graph_linear (g, h, m->weight[i], m->bias[i]);
      if (i < 2)
        h = loom_graph_activation (g, LOOM_ACTIVATION_RELU, 0.0f, h);
    }
  m->logits = h;
}

char *
loom_pixel_head_config_json (const LoomPixelHeadConfig *c)
{
  return g_strdup_printf ("{\"features\":\"basic\",\"sigmas\":[1,2,4,8,16],\"channels\":%u,"
                          "\"hidden\":%u,\"classes\":%u,\"blend\":%g,"
                          "\"encoder_depth\":%u,\"encoder_base\":%u}",
                          c->channels, c->hidden, c->classes, c->blend, c->encoder_depth,
                          c->encoder_base);
}

gboolean
loom_pixel_head_config_from_weights (LoomWeights *weights, gboolean *present,
                                     LoomPixelHeadConfig *c, GError **error)
{
  const char *text = loom_weights_get_metadata (weights, LOOM_METADATA_PIXEL_HEAD);
  g_autoptr (JsonParser) parser = json_parser_new ();
  JsonObject *o;

  *present = text != NULL;
  if (text == NULL)
    return TRUE;
  if (!json_parser_load_from_data (parser, text, -1, NULL)
      || !JSON_NODE_HOLDS_OBJECT (json_parser_get_root (parser)))
    goto bad;
  o = json_node_get_object (json_parser_get_root (parser));
  *c = (LoomPixelHeadConfig) {
    .channels = (guint) json_object_get_int_member_with_default (o, "channels", 0),
    .hidden = (guint) json_object_get_int_member_with_default (o, "hidden", 0),
    .classes = (guint) json_object_get_int_member_with_default (o, "classes", 0),
    .blend = (float) json_object_get_double_member_with_default (o, "blend", -1.0),
    .encoder_depth = (guint) json_object_get_int_member_with_default (o, "encoder_depth", 0),
    .encoder_base = (guint) json_object_get_int_member_with_default (o, "encoder_base", 0),
  };
  if (c->channels == 0 || c->channels > 16 || c->hidden == 0 || c->hidden > 1024
      || c->classes < 2 || c->classes > 32 || !(c->blend >= 0.0f && c->blend <= 1.0f)
      || c->encoder_depth > 6 || (c->encoder_depth > 0 && (c->encoder_base == 0
                                                           || c->encoder_base > 256)))
    goto bad;
  return TRUE;
bad:
  g_set_error (error, LOOM_ERROR, LOOM_ERROR_BAD_FILE,
               "the model's pixel head description (%s) is malformed", LOOM_METADATA_PIXEL_HEAD);
  return FALSE;
}

/* What gathering the training pixels holds. */
typedef struct
{
  const LoomPixelHeadConfig *config;
  const LoomSegmentImage *image;
  guint F, stride, n, seen;
  float *x, *labels, *fixed;    /* FIXED: a band's fixed features */
  double *sum, *sq, counted;
} Gather;

/* A band of rows: its labelled pixels' features (every STRIDE-th), and
 * the sums for each feature's mean and deviation. */
static gboolean
gather_band (guint row0, guint rows, float *const *encoded, gpointer data, GError **error)
{
  Gather *g = data;
  const LoomSegmentImage *im = g->image;
  guint fixed_n = loom_pixel_features_count (g->config->channels);
  gsize size = (gsize) rows * im->width;
  const float *lab = im->labels + (gsize) row0 * im->width;
  gboolean any = FALSE;

  for (gsize p = 0; p < size && !any; p++)
    any = lab[p] >= 0.0f;
  if (!any)
    return TRUE;
  g->fixed = g_realloc (g->fixed, (gsize) fixed_n * size * sizeof (float));
  loom_pixel_features_band (im->planes, g->config->channels, im->width, im->height, row0, rows,
                            g->fixed);
  for (guint f = 0; f < g->F; f++)
    {
      const float *plane = f < fixed_n ? g->fixed + f * size : encoded[0] + (f - fixed_n) * size;

      for (gsize p = 0; p < size; p++)
        {
          g->sum[f] += plane[p];
          g->sq[f] += (double) plane[p] * plane[p];
        }
    }
  g->counted += (double) size;
  for (gsize p = 0; p < size; p++)
    if (lab[p] >= 0.0f && g->seen++ % g->stride == 0)
      {
        for (guint f = 0; f < g->F; f++)
          g->x[(gsize) g->n * g->F + f] = f < fixed_n ? g->fixed[f * size + p]
                                                     : encoded[0][(f - fixed_n) * size + p];
        g->labels[g->n++] = lab[p];
      }
  return TRUE;
}

/* The encoder over a whole image, band by band into gather_band. */
static gboolean
gather_encoded (LoomDevice *device, Gather *g, LoomWeights *encoder, const char *prefix,
                GError **error)
{
  const LoomPixelHeadConfig *c = g->config;
  LoomTiled run = { .in_channels = c->channels, .n_outputs = 1, .channels = { c->encoder_base } };
  LoomNet net;
  gboolean ok;

  loom_tiled_geometry (g->image, 1u << c->encoder_depth, 0, &run.th, &run.tw, &run.overlap);
  run.graph = loom_graph_new ();
  loom_net_init (&net, run.graph);
  run.x = loom_graph_input (run.graph, "x", 1, c->channels, run.th, run.tw);
  run.y[0] = loom_pixel_head_encoder (&net, c, prefix, run.x);
  ok = run.y[0] != NULL && loom_graph_compile (run.graph, device, error)
       && loom_net_load (&net, encoder, error)
       && loom_tiled_run (&run, g->image, gather_band, g, NULL, NULL, NULL, error);
  loom_net_clear (&net);
  loom_graph_free (run.graph);
  return ok;
}

/* Features of the labelled pixels of IMAGES (at most MAX, evenly drawn),
 * sample-major and standardised, their labels, and each feature's mean
 * and scale (over the bands that hold labels). */
static guint
gather (LoomDevice *device, const LoomPixelHeadConfig *c, const LoomSegmentImage *images,
        guint n_images, guint max, LoomWeights *encoder, const char *prefix, float **x_out,
        float **labels_out, float *mean, float *scale, GError **error)
{
  Gather g = { .config = c, .F = loom_pixel_head_inputs (c) };
  guint total = 0;

  for (guint i = 0; i < n_images; i++)
    for (gsize p = 0; p < (gsize) images[i].width * images[i].height; p++)
      total += images[i].labels[p] >= 0.0f;
  g.stride = MAX ((total + max - 1) / MAX (max, 1), 1);
  g.x = g_new (float, (gsize) (total / g.stride + 1) * g.F);
  g.labels = g_new (float, total / g.stride + 1);
  g.sum = g_new0 (double, g.F);
  g.sq = g_new0 (double, g.F);
  for (guint i = 0; i < n_images; i++)
    {
      g.image = &images[i];
      if (c->encoder_depth > 0)
        {
          if (!gather_encoded (device, &g, encoder, prefix, error))
            {
              g.n = 0;
              break;
            }
          continue;
        }
      for (guint row0 = 0; row0 < images[i].height; row0 += BAND_ROWS)
        gather_band (row0, MIN (BAND_ROWS, images[i].height - row0), NULL, &g, NULL);
    }
  for (guint f = 0; f < g.F; f++)
    {
      double m = g.sum[f] / MAX (g.counted, 1.0);
      double var = g.sq[f] / MAX (g.counted, 1.0) - m * m;

      mean[f] = (float) m;
      scale[f] = (float) (1.0 / sqrt (MAX (var, 0.0) + 1e-6));
    }
  for (guint s = 0; s < g.n; s++)
    for (guint f = 0; f < g.F; f++)
      g.x[(gsize) s * g.F + f] = (g.x[(gsize) s * g.F + f] - mean[f]) * scale[f];
  g_free (g.fixed);
  g_free (g.sum);
  g_free (g.sq);
  *x_out = g.x;
  *labels_out = g.labels;
  return g.n;
}

/* The encoder's tensors (under PREFIX in ENCODER) into W as "encoder.*". */
static gboolean
store_encoder (LoomWeights *encoder, const char *prefix, LoomWeights *w, GError **error)
{
  for (const char *const *name = loom_weights_get_names (encoder); *name != NULL; name++)
    {
      const char *rest = *name + strlen (prefix);
      g_autofree char *as = NULL;
      guint n_dims;
      const guint64 *shape;
      const float *data;

      if (!g_str_has_prefix (*name, prefix) || g_str_has_prefix (rest, "head.")
          || !(g_str_has_prefix (rest, "enc") || g_str_has_prefix (rest, "dec"))
          || (*prefix == '\0' && g_str_has_prefix (rest, "encoder.")))
        continue;
      as = g_strconcat ("encoder.", rest, NULL);
      data = loom_weights_lookup (encoder, *name, &n_dims, &shape);
      if (!loom_weights_add (w, as, n_dims, shape, data, error))
        return FALSE;
    }
  return TRUE;
}

static gboolean
store (LoomGraph *g, const Mlp *m, LoomWeights *w, GError **error)
{
  for (guint i = 0; i < 3; i++)
    for (guint j = 0; j < 2; j++)
      {
        LoomTensor *t = j == 0 ? m->weight[i] : m->bias[i];
        g_autofree float *data = g_new (float, loom_tensor_get_length (t));
        g_autofree char *name = g_strdup_printf ("%s.%s", layer_names[i], j == 0 ? "weight" : "bias");
        guint n, ch, h, wd;
        guint64 shape[2];

        loom_tensor_get_shape (t, &n, &ch, &h, &wd);
        shape[0] = n;
        shape[1] = ch;
        if (!loom_graph_read (g, t, data, error)
            || !loom_weights_add (w, name, j == 0 ? 2 : 1, shape, data, error))
          return FALSE;
      }
  return TRUE;
}

gboolean
loom_pixel_head_fit (LoomDevice *device, const LoomPixelHeadConfig *config,
                     const LoomSegmentImage *images, guint n_images, const float *class_weights,
                     guint steps, guint max_samples, guint32 seed, LoomWeights *encoder,
                     const char *encoder_prefix, LoomWeights *weights, float *loss_out,
                     GError **error)
{
  guint F = loom_pixel_head_inputs (config), n;
  g_autofree float *x = NULL, *labels = NULL, *mean = g_new (float, F), *scale = g_new (float, F);
  g_autofree char *json = loom_pixel_head_config_json (config);
  LoomGraph *g = NULL;
  LoomTensor *xt, *lt, *wt, *loss;
  Mlp m;
  float lr = 1e-2f;
  gboolean ok = FALSE;
  guint64 fshape[1] = { F };

  g_return_val_if_fail (config->encoder_depth == 0 || encoder != NULL, FALSE);
  n = gather (device, config, images, n_images, MAX (max_samples, 1), encoder, encoder_prefix,
              &x, &labels, mean, scale, error);
  if (n == 0 && error != NULL && *error != NULL)
    return FALSE;
  if (n == 0)
    {
      g_set_error (error, LOOM_ERROR, LOOM_ERROR_INVALID_ARGUMENT,
                   "segment: no labelled pixels: paint a few strokes of each class first");
      return FALSE;
    }
  g = loom_graph_new ();
  xt = loom_graph_input (g, "pixel features", n, F, 1, 1);
  lt = loom_graph_input (g, "pixel labels", n, 1, 1, 1);
  wt = loom_graph_input (g, "class weights", config->classes, 1, 1, 1);
  mlp_build (g, config, xt, &m);
  loss = loom_graph_cross_entropy (g, loom_graph_reshape (g, m.logits, n, config->classes, 1, 1),
                                   lt, wt, LOOM_UNLABELLED);
  if (!loom_graph_train_adam (g, loss, lr, 0.9f, 0.999f, 1e-8f, 1e-4f, error)
      || !loom_graph_compile (g, device, error))
    goto out;
  for (guint i = 0; i < 3; i++)
    if (!loom_graph_init_parameter (g, m.weight[i], LOOM_INIT_KAIMING_UNIFORM, 1.0f, seed + i, error)
        || !loom_graph_init_parameter (g, m.bias[i], LOOM_INIT_ZEROS, 0.0f, 0, error))
      goto out;
  if (!loom_graph_write (g, xt, x, error) || !loom_graph_write (g, lt, labels, error)
      || !loom_graph_write (g, wt, class_weights, error))
    goto out;
  for (guint s = 0; s < steps; s++)
    {
      /* The same cosine decay as the network's: settle, don't stop mid-swing. */
      loom_graph_set_learning_rate (g, lr * (float) (0.05 + 0.95 * 0.5
                                                     * (1.0 + cos (G_PI * s / MAX (steps, 1)))));
      if (!loom_graph_run (g, error))
        goto out;
    }
  ok = loom_graph_read (g, loss, loss_out, error)
       && store (g, &m, weights, error)
       && (config->encoder_depth == 0 || store_encoder (encoder, encoder_prefix, weights, error))
       && loom_weights_add (weights, "pixel.mean", 1, fshape, mean, error)
       && loom_weights_add (weights, "pixel.scale", 1, fshape, scale, error);
  if (ok)
    loom_weights_set_metadata (weights, LOOM_METADATA_PIXEL_HEAD, json);
out:
  loom_graph_free (g);
  return ok;
}

struct _LoomPixelHead
{
  LoomPixelHeadConfig config;
  LoomGraph *graph;
  LoomTensor *x;
  Mlp mlp;
  float *mean, *scale;          /* owned by the weights */
  float *features, *chunk, *logits;
};

void
loom_pixel_head_free (LoomPixelHead *h)
{
  if (h == NULL)
    return;
  loom_graph_free (h->graph);
  g_free (h->mean);
  g_free (h->scale);
  g_free (h->features);
  g_free (h->chunk);
  g_free (h->logits);
  g_free (h);
}

const LoomPixelHeadConfig *
loom_pixel_head_get_config (LoomPixelHead *h)
{
  return &h->config;
}

LoomPixelHead *
loom_pixel_head_open (LoomDevice *device, LoomWeights *weights, GError **error)
{
  LoomPixelHead *h = g_new0 (LoomPixelHead, 1);
  gboolean present;
  guint F;
  guint64 fshape[1];
  const float *mean, *scale;

  if (!loom_pixel_head_config_from_weights (weights, &present, &h->config, error))
    goto fail;
  if (!present)
    {
      g_set_error (error, LOOM_ERROR, LOOM_ERROR_BAD_FILE, "the model has no pixel head");
      goto fail;
    }
  F = loom_pixel_head_inputs (&h->config);
  fshape[0] = F;
  if ((mean = loom_weights_expect (weights, "pixel.mean", 1, fshape, error)) == NULL
      || (scale = loom_weights_expect (weights, "pixel.scale", 1, fshape, error)) == NULL)
    goto fail;
  h->mean = g_memdup2 (mean, F * sizeof (float));
  h->scale = g_memdup2 (scale, F * sizeof (float));
  h->graph = loom_graph_new ();
  h->x = loom_graph_input (h->graph, "pixel features", PREDICT_CHUNK, F, 1, 1);
  mlp_build (h->graph, &h->config, h->x, &h->mlp);
  if (!loom_graph_compile (h->graph, device, error))
    goto fail;
  for (guint i = 0; i < 3; i++)
    for (guint j = 0; j < 2; j++)
      {
        LoomTensor *t = j == 0 ? h->mlp.weight[i] : h->mlp.bias[i];
        g_autofree char *name = g_strdup_printf ("%s.%s", layer_names[i], j == 0 ? "weight" : "bias");
        guint n, ch, hh, w;
        guint64 shape[2];
        const float *data;

        loom_tensor_get_shape (t, &n, &ch, &hh, &w);
        shape[0] = n;
        shape[1] = ch;
        if ((data = loom_weights_expect (weights, name, j == 0 ? 2 : 1, shape, error)) == NULL
            || !loom_graph_write (h->graph, t, data, error))
          goto fail;
      }
  h->chunk = g_new (float, (gsize) PREDICT_CHUNK * F);
  h->logits = g_new (float, (gsize) PREDICT_CHUNK * h->config.classes);
  return h;
fail:
  loom_pixel_head_free (h);
  return NULL;
}

gboolean
loom_pixel_head_predict (LoomPixelHead *h, const LoomSegmentImage *image, guint row0,
                         guint rows, const float *encoded, float *out, GError **error)
{
  guint fixed_n = loom_pixel_features_count (h->config.channels);
  guint F = loom_pixel_head_inputs (&h->config), K = h->config.classes;
  gsize size = (gsize) rows * image->width;

  g_return_val_if_fail (row0 + rows <= image->height, FALSE);
  g_return_val_if_fail ((encoded != NULL) == (h->config.encoder_depth > 0), FALSE);
  h->features = g_realloc (h->features, (gsize) fixed_n * size * sizeof (float));
  loom_pixel_features_band (image->planes, h->config.channels, image->width, image->height,
                            row0, rows, h->features);
  for (gsize first = 0; first < size; first += PREDICT_CHUNK)
    {
      gsize count = MIN (PREDICT_CHUNK, size - first);

      for (gsize p = 0; p < count; p++)
        for (guint f = 0; f < F; f++)
          {
            float v = f < fixed_n ? h->features[f * size + first + p]
                                  : encoded[(f - fixed_n) * size + first + p];

            h->chunk[p * F + f] = (v - h->mean[f]) * h->scale[f];
          }
      if (count < PREDICT_CHUNK)
        memset (h->chunk + count * F, 0, (PREDICT_CHUNK - count) * F * sizeof (float));
      if (!loom_graph_write (h->graph, h->x, h->chunk, error) || !loom_graph_run (h->graph, error)
          || !loom_graph_read (h->graph, h->mlp.logits, h->logits, error))
        return FALSE;
      for (gsize p = 0; p < count; p++)
        {
          const float *l = h->logits + p * K;
          float top = -INFINITY, sum = 0.0f;

          for (guint k = 0; k < K; k++)
            top = MAX (top, l[k]);
          for (guint k = 0; k < K; k++)
            sum += expf (l[k] - top);
          for (guint k = 0; k < K; k++)
            out[k * size + first + p] = expf (l[k] - top) / sum;
        }
    }
  return TRUE;
}
