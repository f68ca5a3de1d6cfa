/* The pixel head (see head.h): features → hidden → hidden → classes, ReLU,
 * on Loom's graph, so it trains and runs on either backend. */
#include <math.h>
#include <string.h>

#include <json-glib/json-glib.h>

#include "segment/features.h"
#include "segment/head.h"

#define BAND_ROWS 64            /* rows of features computed at once */
#define PREDICT_CHUNK 16384     /* pixels per prediction run */

static const char *const layer_names[] = { "pixel.fc1", "pixel.fc2", "pixel.fc3" };

typedef struct
{
  LoomTensor *weight[3], *bias[3];
  LoomTensor *logits;           /* N × classes */
} Mlp;

static void
mlp_build (LoomGraph *g, const LoomPixelHeadConfig *c, LoomTensor *x, Mlp *m)
{
  guint widths[4] = { loom_pixel_features_count (c->channels), c->hidden, c->hidden, c->classes };
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
                          "\"hidden\":%u,\"classes\":%u,\"blend\":%g}",
                          c->channels, c->hidden, c->classes, c->blend);
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
  };
  if (c->channels == 0 || c->channels > 16 || c->hidden == 0 || c->hidden > 1024
      || c->classes < 2 || c->classes > 32 || !(c->blend >= 0.0f && c->blend <= 1.0f))
    goto bad;
  return TRUE;
bad:
  g_set_error (error, LOOM_ERROR, LOOM_ERROR_BAD_FILE,
               "the model's pixel head description (%s) is malformed", LOOM_METADATA_PIXEL_HEAD);
  return FALSE;
}

/* Features of the labelled pixels of IMAGES (at most MAX, evenly drawn),
 * sample-major, their labels, and each feature's mean and deviation over
 * the bands that hold them. */
static guint
gather (const LoomPixelHeadConfig *c, const LoomSegmentImage *images, guint n_images,
        guint max, float **x_out, float **labels_out, float *mean, float *scale)
{
  guint F = loom_pixel_features_count (c->channels), n = 0, total = 0, stride;
  g_autofree double *sum = g_new0 (double, F), *sq = g_new0 (double, F);
  double counted = 0;
  float *x, *labels;

  for (guint i = 0; i < n_images; i++)
    for (gsize p = 0; p < (gsize) images[i].width * images[i].height; p++)
      total += images[i].labels[p] >= 0.0f;
  stride = (total + max - 1) / MAX (max, 1);
  stride = MAX (stride, 1);
  x = g_new (float, (gsize) (total / stride + 1) * F);
  labels = g_new (float, total / stride + 1);
  total = 0;
  for (guint i = 0; i < n_images; i++)
    {
      const LoomSegmentImage *im = &images[i];
      g_autofree float *band = g_new (float, (gsize) F * BAND_ROWS * im->width);

      for (guint row0 = 0; row0 < im->height; row0 += BAND_ROWS)
        {
          guint rows = MIN (BAND_ROWS, im->height - row0);
          gsize size = (gsize) rows * im->width;
          const float *lab = im->labels + (gsize) row0 * im->width;
          gboolean any = FALSE;

          for (gsize p = 0; p < size && !any; p++)
            any = lab[p] >= 0.0f;
          if (!any)
            continue;
          loom_pixel_features_band (im->planes, c->channels, im->width, im->height, row0, rows,
                                    band);
          for (guint f = 0; f < F; f++)
            for (gsize p = 0; p < size; p++)
              {
                double v = band[f * size + p];

                sum[f] += v;
                sq[f] += v * v;
              }
          counted += (double) size;
          for (gsize p = 0; p < size; p++)
            if (lab[p] >= 0.0f && total++ % stride == 0)
              {
                for (guint f = 0; f < F; f++)
                  x[(gsize) n * F + f] = band[f * size + p];
                labels[n++] = lab[p];
              }
        }
    }
  for (guint f = 0; f < F; f++)
    {
      double m = sum[f] / MAX (counted, 1.0);
      double var = sq[f] / MAX (counted, 1.0) - m * m;

      mean[f] = (float) m;
      scale[f] = (float) (1.0 / sqrt (MAX (var, 1e-12) + 1e-6));
    }
  for (guint s = 0; s < n; s++)
    for (guint f = 0; f < F; f++)
      x[(gsize) s * F + f] = (x[(gsize) s * F + f] - mean[f]) * scale[f];
  *x_out = x;
  *labels_out = labels;
  return n;
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
                     guint steps, guint max_samples, guint32 seed, LoomWeights *weights,
                     float *loss_out, GError **error)
{
  guint F = loom_pixel_features_count (config->channels), n;
  g_autofree float *x = NULL, *labels = NULL, *mean = g_new (float, F), *scale = g_new (float, F);
  g_autofree char *json = loom_pixel_head_config_json (config);
  LoomGraph *g = NULL;
  LoomTensor *xt, *lt, *wt, *loss;
  Mlp m;
  float lr = 1e-2f;
  gboolean ok = FALSE;
  guint64 fshape[1] = { F };

  n = gather (config, images, n_images, MAX (max_samples, 1), &x, &labels, mean, scale);
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
  F = loom_pixel_features_count (h->config.channels);
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
                         guint rows, float *out, GError **error)
{
  guint F = loom_pixel_features_count (h->config.channels), K = h->config.classes;
  gsize size = (gsize) rows * image->width;

  g_return_val_if_fail (row0 + rows <= image->height, FALSE);
  h->features = g_realloc (h->features, (gsize) F * size * sizeof (float));
  loom_pixel_features_band (image->planes, h->config.channels, image->width, image->height,
                            row0, rows, h->features);
  for (gsize first = 0; first < size; first += PREDICT_CHUNK)
    {
      gsize count = MIN (PREDICT_CHUNK, size - first);

      for (gsize p = 0; p < count; p++)
        for (guint f = 0; f < F; f++)
          h->chunk[p * F + f] = (h->features[f * size + first + p] - h->mean[f]) * h->scale[f];
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
