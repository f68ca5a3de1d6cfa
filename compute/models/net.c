/* Parameter tables (see net.h) and the weight initialisation they start
 * from. */
#include <math.h>
#include <string.h>

#include "net.h"
#include "ops/philox.h"

static void
param_clear (LoomNetParam *p)
{
  g_free (p->name);
}

void
loom_net_init (LoomNet *net, LoomGraph *graph)
{
  net->graph = graph;
  net->params = g_array_new (FALSE, TRUE, sizeof (LoomNetParam));
  g_array_set_clear_func (net->params, (GDestroyNotify) param_clear);
}

void
loom_net_clear (LoomNet *net)
{
  g_clear_pointer (&net->params, g_array_unref);
}

LoomTensor *
loom_net_add (LoomNet *net, const char *name, guint n_dims, const guint64 *shape, LoomInit init,
              float scale, gboolean buffer)
{
  LoomNetParam p = { g_strdup (name), NULL, n_dims, { 1, 1, 1, 1 }, init, scale, buffer };
  guint64 dims[4] = { 1, 1, 1, 1 };

  g_return_val_if_fail (n_dims >= 1 && n_dims <= 4, NULL);
  memcpy (p.shape, shape, n_dims * sizeof (guint64));
  memcpy (dims, shape, n_dims * sizeof (guint64));
  p.tensor = buffer ? loom_graph_buffer (net->graph, name, dims[0], dims[1], dims[2], dims[3])
                    : loom_graph_parameter (net->graph, name, dims[0], dims[1], dims[2], dims[3]);
  g_array_append_val (net->params, p);
  return p.tensor;
}

/* Drawn on the host from Philox, so every backend starts from the same
 * values; written through the graph's API, which checks it is compiled. */
gboolean
loom_graph_init_parameter (LoomGraph *g, LoomTensor *t, LoomInit kind, float scale,
                           guint32 seed, GError **error)
{
  guint n, c, h, w;
  double fan_in, fan_out;
  gsize length;
  g_autofree float *data = NULL;
  double bound = 0.0;

  g_return_val_if_fail (g != NULL && t != NULL, FALSE);
  loom_tensor_get_shape (t, &n, &c, &h, &w);
  fan_in = (double) c * h * w, fan_out = (double) n * h * w;
  length = loom_tensor_get_length (t);
  data = g_new (float, length);
  switch (kind)
    {
    case LOOM_INIT_KAIMING_NORMAL: scale = (float) sqrt (2.0 / fan_in); kind = LOOM_INIT_NORMAL; break;
    case LOOM_INIT_KAIMING_UNIFORM: bound = 1.0 / sqrt (fan_in); break;
    case LOOM_INIT_XAVIER_UNIFORM: bound = sqrt (6.0 / (fan_in + fan_out)); break;
    case LOOM_INIT_UNIFORM: bound = scale; break;
    default: break;
    }
  for (gsize i = 0; i < length; i++)
    {
      guint32 a, b;

      loom_philox_draw (seed, 0x1A17u, i, &a, &b);
      if (kind == LOOM_INIT_ZEROS || kind == LOOM_INIT_ONES)
        data[i] = kind == LOOM_INIT_ONES ? 1.0f : 0.0f;
      else if (kind == LOOM_INIT_NORMAL)   /* Box–Muller, in double on the host */
        data[i] = (float) (scale * sqrt (-2.0 * log (((a >> 8) + 1) / 16777216.0))
                           * cos (2.0 * G_PI * loom_uniform_of (b)));
      else
        data[i] = (float) (bound * (2.0 * loom_uniform_of (a) - 1.0));
    }
  return loom_graph_write (g, t, data, error);
}

gboolean
loom_net_fill (LoomNet *net, guint32 seed, GError **error)
{
  for (guint i = 0; i < net->params->len; i++)
    {
      const LoomNetParam *p = &g_array_index (net->params, LoomNetParam, i);

      if (!loom_graph_init_parameter (net->graph, p->tensor, p->init, p->scale, seed + i, error))
        return FALSE;
    }
  return TRUE;
}

gboolean
loom_net_load (LoomNet *net, LoomWeights *weights, GError **error)
{
  for (guint i = 0; i < net->params->len; i++)
    {
      const LoomNetParam *p = &g_array_index (net->params, LoomNetParam, i);
      const float *data = loom_weights_expect (weights, p->name, p->n_dims, p->shape, error);

      if (data == NULL || !loom_graph_write (net->graph, p->tensor, data, error))
        return FALSE;
    }
  return TRUE;
}

gboolean
loom_net_store (LoomNet *net, LoomWeights *weights, GError **error)
{
  for (guint i = 0; i < net->params->len; i++)
    {
      const LoomNetParam *p = &g_array_index (net->params, LoomNetParam, i);
      g_autofree float *data = g_new (float, loom_tensor_get_length (p->tensor));

      if (!loom_graph_read (net->graph, p->tensor, data, error)
          || !loom_weights_add (weights, p->name, p->n_dims, p->shape, data, error))
        return FALSE;
    }
  return TRUE;
}

const LoomNetParam *
loom_net_find (LoomNet *net, const char *name)
{
  for (guint i = 0; i < net->params->len; i++)
    if (strcmp (g_array_index (net->params, LoomNetParam, i).name, name) == 0)
      return &g_array_index (net->params, LoomNetParam, i);
  return NULL;
}

JsonObject *
loom_net_architecture (LoomWeights *weights, GError **error)
{
  const char *text = loom_weights_get_metadata (weights, LOOM_METADATA_ARCHITECTURE);
  g_autoptr (JsonParser) parser = json_parser_new ();
  JsonNode *root;

  if (text == NULL || !json_parser_load_from_data (parser, text, -1, NULL)
      || (root = json_parser_get_root (parser)) == NULL || !JSON_NODE_HOLDS_OBJECT (root))
    {
      g_set_error (error, LOOM_ERROR, LOOM_ERROR_BAD_FILE,
                   "weights file: no architecture in its metadata (%s)",
                   LOOM_METADATA_ARCHITECTURE);
      return NULL;
    }
  return json_object_ref (json_node_get_object (root));
}

gboolean
loom_net_json_uint (JsonObject *o, const char *name, guint *value)
{
  JsonNode *node = json_object_get_member (o, name);

  if (node == NULL || !JSON_NODE_HOLDS_VALUE (node)
      || json_node_get_value_type (node) != G_TYPE_INT64
      || json_node_get_int (node) < 0 || json_node_get_int (node) > 1 << 20)
    return FALSE;
  *value = (guint) json_node_get_int (node);
  return TRUE;
}
