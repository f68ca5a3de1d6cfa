/* The class table of a weights file (see loom-segment.h): segmentation
 * models and label → image GANs both carry one. */
#include <json-glib/json-glib.h>

#include <loom/loom-segment.h>

void
loom_segment_set_classes (LoomWeights *weights, const GArray *colors, const char *const *names)
{
  g_autoptr (JsonBuilder) b = json_builder_new ();
  g_autoptr (JsonGenerator) gen = json_generator_new ();
  g_autoptr (JsonNode) root = NULL;
  g_autofree char *text = NULL;

  json_builder_begin_array (b);
  for (guint i = 0; i < colors->len; i++)
    {
      const LoomColor *c = &g_array_index (colors, LoomColor, i);
      g_autofree char *fallback = g_strdup_printf ("class %u", i + 1);

      json_builder_begin_object (b);
      json_builder_set_member_name (b, "name");
      json_builder_add_string_value (b, names != NULL && names[i] != NULL ? names[i] : fallback);
      json_builder_set_member_name (b, "color");
      json_builder_begin_array (b);
      json_builder_add_int_value (b, c->r);
      json_builder_add_int_value (b, c->g);
      json_builder_add_int_value (b, c->b);
      json_builder_end_array (b);
      json_builder_end_object (b);
    }
  json_builder_end_array (b);
  root = json_builder_get_root (b);
  json_generator_set_root (gen, root);
  text = json_generator_to_data (gen, NULL);
  loom_weights_set_metadata (weights, LOOM_METADATA_CLASSES, text);
}

GArray *
loom_segment_get_classes (LoomWeights *weights, char ***names, GError **error)
{
  const char *text = loom_weights_get_metadata (weights, LOOM_METADATA_CLASSES);
  g_autoptr (JsonParser) parser = json_parser_new ();
  g_autoptr (GArray) colors = g_array_new (FALSE, FALSE, sizeof (LoomColor));
  g_autoptr (GPtrArray) found = g_ptr_array_new_with_free_func (g_free);
  JsonNode *root;
  JsonArray *a;

  if (text == NULL || !json_parser_load_from_data (parser, text, -1, NULL)
      || (root = json_parser_get_root (parser)) == NULL || !JSON_NODE_HOLDS_ARRAY (root))
    {
      g_set_error (error, LOOM_ERROR, LOOM_ERROR_BAD_FILE,
                   "weights file: no class table (%s)", LOOM_METADATA_CLASSES);
      return NULL;
    }
  a = json_node_get_array (root);
  for (guint i = 0; i < json_array_get_length (a); i++)
    {
      JsonNode *node = json_array_get_element (a, i);
      JsonObject *o = JSON_NODE_HOLDS_OBJECT (node) ? json_node_get_object (node) : NULL;
      JsonNode *name = o ? json_object_get_member (o, "name") : NULL;
      JsonNode *color = o ? json_object_get_member (o, "color") : NULL;
      JsonArray *rgb = color && JSON_NODE_HOLDS_ARRAY (color) ? json_node_get_array (color) : NULL;
      gint64 v[3];
      LoomColor c;

      if (name == NULL || !JSON_NODE_HOLDS_VALUE (name)
          || json_node_get_value_type (name) != G_TYPE_STRING
          || rgb == NULL || json_array_get_length (rgb) != 3)
        {
          g_set_error (error, LOOM_ERROR, LOOM_ERROR_BAD_FILE,
                       "weights file: class %u of the table has no name or colour", i + 1);
          return NULL;
        }
      for (int k = 0; k < 3; k++)
        {
          JsonNode *e = json_array_get_element (rgb, k);

          v[k] = JSON_NODE_HOLDS_VALUE (e) && json_node_get_value_type (e) == G_TYPE_INT64
               ? json_node_get_int (e) : -1;
          if (v[k] < 0 || v[k] > 255)
            {
              g_set_error (error, LOOM_ERROR, LOOM_ERROR_BAD_FILE,
                           "weights file: class %u has a colour outside 0–255", i + 1);
              return NULL;
            }
        }
      c = (LoomColor) { (guint8) v[0], (guint8) v[1], (guint8) v[2] };
      g_array_append_val (colors, c);
      g_ptr_array_add (found, g_strdup (json_node_get_string (name)));
    }
  if (names != NULL)
    {
      g_ptr_array_add (found, NULL);
      *names = (char **) g_ptr_array_steal (found, NULL);
    }
  return g_steal_pointer (&colors);
}
