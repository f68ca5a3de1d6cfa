/* Parameter tables (see net.h). */
#include <string.h>

#include "net.h"

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
