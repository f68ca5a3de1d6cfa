/* safetensors reading and writing (see loom-weights.h).  The reader trusts
 * nothing: every length, offset, dtype and shape is checked before a byte
 * of data is touched, and the tensors must tile the data exactly, as the
 * format requires. */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <glib/gstdio.h>
#include <json-glib/json-glib.h>

#include <loom/loom-weights.h>

#define MAX_HEADER ((guint64) 100 << 20)   /* a header past 100 MiB is not a model */

typedef struct
{
  char    *name;
  guint    n_dims;
  guint64  shape[LOOM_WEIGHTS_MAX_DIMS];
  gsize    length;              /* floats */
  float   *data;
} Tensor;

struct _LoomWeights
{
  GPtrArray  *tensors;          /* Tensor, in file order */
  GHashTable *by_name;          /* name -> Tensor */
  GHashTable *metadata;         /* key -> value, both owned */
  GPtrArray  *names;            /* NULL-terminated view for get_names */
};

static void
tensor_free (Tensor *t)
{
  g_free (t->name);
  g_free (t->data);
  g_free (t);
}

LoomWeights *
loom_weights_new (void)
{
  LoomWeights *w = g_new0 (LoomWeights, 1);

  w->tensors = g_ptr_array_new_with_free_func ((GDestroyNotify) tensor_free);
  w->by_name = g_hash_table_new (g_str_hash, g_str_equal);
  w->metadata = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  w->names = g_ptr_array_new ();
  g_ptr_array_add (w->names, NULL);
  return w;
}

void
loom_weights_free (LoomWeights *w)
{
  if (w == NULL)
    return;
  g_hash_table_unref (w->by_name);
  g_ptr_array_unref (w->tensors);
  g_hash_table_unref (w->metadata);
  g_ptr_array_unref (w->names);
  g_free (w);
}

G_GNUC_PRINTF (2, 3) static gboolean
bad (GError **error, const char *format, ...)
{
  va_list args;
  g_autofree char *what = NULL;

  va_start (args, format);
  what = g_strdup_vprintf (format, args);
  va_end (args);
  g_set_error (error, LOOM_ERROR, LOOM_ERROR_BAD_FILE, "weights file: %s", what);
  return FALSE;
}

static char *
shape_text (guint n_dims, const guint64 *shape)
{
  GString *s = g_string_new (n_dims == 0 ? "scalar" : NULL);

  for (guint i = 0; i < n_dims; i++)
    g_string_append_printf (s, "%s%" G_GUINT64_FORMAT, i ? "×" : "", shape[i]);
  return g_string_free (s, FALSE);
}

/* Floats in SHAPE, or FALSE past what memory could ever hold. */
static gboolean
count_elements (guint n_dims, const guint64 *shape, gsize *count)
{
  guint64 n = 1;

  for (guint i = 0; i < n_dims; i++)
    {
      if (shape[i] != 0 && n > (G_MAXSIZE / sizeof (float)) / shape[i])
        return FALSE;
      n *= shape[i];
    }
  *count = (gsize) n;
  return TRUE;
}

static Tensor *
add_tensor (LoomWeights *w, const char *name, guint n_dims, const guint64 *shape,
            GError **error)
{
  Tensor *t;
  gsize length;

  if (name == NULL || *name == '\0' || strcmp (name, "__metadata__") == 0
      || !g_utf8_validate (name, -1, NULL))
    {
      g_set_error (error, LOOM_ERROR, LOOM_ERROR_INVALID_ARGUMENT,
                   "weights: '%s' cannot name a tensor", name ? name : "(null)");
      return NULL;
    }
  if (g_hash_table_contains (w->by_name, name))
    {
      g_set_error (error, LOOM_ERROR, LOOM_ERROR_INVALID_ARGUMENT,
                   "weights: two tensors named '%s'", name);
      return NULL;
    }
  if (n_dims > LOOM_WEIGHTS_MAX_DIMS || !count_elements (n_dims, shape, &length))
    {
      g_set_error (error, LOOM_ERROR, LOOM_ERROR_INVALID_ARGUMENT,
                   "weights: tensor '%s' has too many dimensions or values", name);
      return NULL;
    }
  t = g_new0 (Tensor, 1);
  t->name = g_strdup (name);
  t->n_dims = n_dims;
  if (n_dims > 0)
    memcpy (t->shape, shape, n_dims * sizeof (guint64));
  t->length = length;
  t->data = g_new (float, MAX (length, 1));
  g_ptr_array_add (w->tensors, t);
  g_hash_table_insert (w->by_name, t->name, t);
  g_ptr_array_insert (w->names, (gint) w->names->len - 1, t->name);
  return t;
}

gboolean
loom_weights_add (LoomWeights *w, const char *name, guint n_dims, const guint64 *shape,
                  const float *data, GError **error)
{
  Tensor *t;

  g_return_val_if_fail (w != NULL && (shape != NULL || n_dims == 0), FALSE);
  t = add_tensor (w, name, n_dims, shape, error);
  if (t == NULL)
    return FALSE;
  if (t->length > 0)
    memcpy (t->data, data, t->length * sizeof (float));
  return TRUE;
}

const float *
loom_weights_lookup (LoomWeights *w, const char *name, guint *n_dims, const guint64 **shape)
{
  Tensor *t;

  g_return_val_if_fail (w != NULL && name != NULL, NULL);
  t = g_hash_table_lookup (w->by_name, name);
  if (t == NULL)
    return NULL;
  if (n_dims != NULL)
    *n_dims = t->n_dims;
  if (shape != NULL)
    *shape = t->shape;
  return t->data;
}

const float *
loom_weights_expect (LoomWeights *w, const char *name, guint n_dims, const guint64 *shape,
                     GError **error)
{
  Tensor *t;

  g_return_val_if_fail (w != NULL && name != NULL, NULL);
  t = g_hash_table_lookup (w->by_name, name);
  if (t == NULL)
    {
      bad (error, "no tensor '%s', which the architecture needs", name);
      return NULL;
    }
  if (t->n_dims != n_dims
      || (n_dims > 0 && memcmp (t->shape, shape, n_dims * sizeof (guint64)) != 0))
    {
      g_autofree char *have = shape_text (t->n_dims, t->shape);
      g_autofree char *want = shape_text (n_dims, shape);

      bad (error, "tensor '%s' is %s, the architecture needs %s", name, have, want);
      return NULL;
    }
  return t->data;
}

const char *const *
loom_weights_get_names (LoomWeights *w)
{
  g_return_val_if_fail (w != NULL, NULL);
  return (const char *const *) w->names->pdata;
}

void
loom_weights_set_metadata (LoomWeights *w, const char *key, const char *value)
{
  g_return_if_fail (w != NULL && key != NULL);
  if (value == NULL)
    g_hash_table_remove (w->metadata, key);
  else
    g_hash_table_insert (w->metadata, g_strdup (key), g_strdup (value));
}

const char *
loom_weights_get_metadata (LoomWeights *w, const char *key)
{
  g_return_val_if_fail (w != NULL && key != NULL, NULL);
  return g_hash_table_lookup (w->metadata, key);
}

/* ---- writing ------------------------------------------------------------ */

static gint
by_key (gconstpointer a, gconstpointer b)
{
  return strcmp (*(const char *const *) a, *(const char *const *) b);
}

gboolean
loom_weights_save (LoomWeights *w, const char *path, GError **error)
{
  g_autoptr (JsonBuilder) builder = json_builder_new ();
  g_autoptr (JsonGenerator) generator = json_generator_new ();
  g_autoptr (JsonNode) root = NULL;
  g_autoptr (GPtrArray) keys = NULL;
  g_autofree char *header = NULL;
  g_autofree guint8 *file = NULL;
  gsize header_len, padded, data_len = 0, at;
  guint64 offset = 0;

  g_return_val_if_fail (w != NULL && path != NULL, FALSE);
  json_builder_begin_object (builder);
  if (g_hash_table_size (w->metadata) > 0)
    {
      keys = g_hash_table_get_keys_as_ptr_array (w->metadata);
      g_ptr_array_sort (keys, by_key);   /* the same file for the same weights */
      json_builder_set_member_name (builder, "__metadata__");
      json_builder_begin_object (builder);
      for (guint i = 0; i < keys->len; i++)
        {
          json_builder_set_member_name (builder, keys->pdata[i]);
          json_builder_add_string_value (builder, g_hash_table_lookup (w->metadata,
                                                                       keys->pdata[i]));
        }
      json_builder_end_object (builder);
    }
  for (guint i = 0; i < w->tensors->len; i++)
    {
      Tensor *t = w->tensors->pdata[i];

      json_builder_set_member_name (builder, t->name);
      json_builder_begin_object (builder);
      json_builder_set_member_name (builder, "dtype");
      json_builder_add_string_value (builder, "F32");
      json_builder_set_member_name (builder, "shape");
      json_builder_begin_array (builder);
      for (guint d = 0; d < t->n_dims; d++)
        json_builder_add_int_value (builder, (gint64) t->shape[d]);
      json_builder_end_array (builder);
      json_builder_set_member_name (builder, "data_offsets");
      json_builder_begin_array (builder);
      json_builder_add_int_value (builder, (gint64) offset);
      offset += t->length * sizeof (float);
      json_builder_add_int_value (builder, (gint64) offset);
      json_builder_end_array (builder);
      json_builder_end_object (builder);
    }
  json_builder_end_object (builder);
  root = json_builder_get_root (builder);
  json_generator_set_root (generator, root);
  header = json_generator_to_data (generator, &header_len);
  data_len = (gsize) offset;

  /* The data starts 8-aligned; the header is padded with spaces. */
  padded = (header_len + 7) / 8 * 8;
  file = g_malloc (8 + padded + data_len);
  for (int i = 0; i < 8; i++)
    file[i] = (guint8) ((guint64) padded >> (8 * i));
  memcpy (file + 8, header, header_len);
  memset (file + 8 + header_len, ' ', padded - header_len);
  at = 8 + padded;
  for (guint i = 0; i < w->tensors->len; i++)
    {
      Tensor *t = w->tensors->pdata[i];

      for (gsize j = 0; j < t->length; j++)
        {
          guint32 bits;

          memcpy (&bits, &t->data[j], 4);
          bits = GUINT32_TO_LE (bits);
          memcpy (file + at + 4 * j, &bits, 4);
        }
      at += t->length * sizeof (float);
    }
  /* A temporary file beside PATH, synced, then renamed over it. */
  return g_file_set_contents_full (path, (const char *) file, (gssize) (8 + padded + data_len),
                                   G_FILE_SET_CONTENTS_CONSISTENT | G_FILE_SET_CONTENTS_DURABLE,
                                   0644, error);
}

/* ---- reading ------------------------------------------------------------ */

typedef struct
{
  const char *name;
  guint64     begin, end;
} Span;

static gint
by_begin (gconstpointer a, gconstpointer b)
{
  const Span *x = a, *y = b;

  return x->begin < y->begin ? -1 : x->begin > y->begin;
}

/* A non-negative integer JSON node, or FALSE. */
static gboolean
read_uint (JsonNode *node, guint64 *value)
{
  gint64 v;

  if (node == NULL || !JSON_NODE_HOLDS_VALUE (node)
      || json_node_get_value_type (node) != G_TYPE_INT64)
    return FALSE;
  v = json_node_get_int (node);
  if (v < 0)
    return FALSE;
  *value = (guint64) v;
  return TRUE;
}

static gboolean
read_metadata (LoomWeights *w, JsonNode *node, GError **error)
{
  JsonObject *object;
  g_autoptr (GList) members = NULL;

  if (!JSON_NODE_HOLDS_OBJECT (node))
    return bad (error, "__metadata__ is not an object");
  object = json_node_get_object (node);
  members = json_object_get_members (object);
  for (GList *m = members; m != NULL; m = m->next)
    {
      JsonNode *value = json_object_get_member (object, m->data);

      if (!JSON_NODE_HOLDS_VALUE (value) || json_node_get_value_type (value) != G_TYPE_STRING)
        return bad (error, "__metadata__ '%s' is not a string", (const char *) m->data);
      loom_weights_set_metadata (w, m->data, json_node_get_string (value));
    }
  return TRUE;
}

/* Checks one tensor's entry and adds it (data still unread). */
static gboolean
read_entry (LoomWeights *w, const char *name, JsonNode *node, guint64 data_size,
            GArray *spans, GError **error)
{
  JsonObject *entry;
  JsonNode *dtype, *shape_node, *offsets_node;
  JsonArray *shape_array, *offsets;
  guint64 shape[LOOM_WEIGHTS_MAX_DIMS];
  guint n_dims;
  Span span = { name, 0, 0 };
  gsize count;
  g_autoptr (GList) members = NULL;

  if (!JSON_NODE_HOLDS_OBJECT (node))
    return bad (error, "the entry of '%s' is not an object", name);
  entry = json_node_get_object (node);
  members = json_object_get_members (entry);
  for (GList *m = members; m != NULL; m = m->next)
    if (strcmp (m->data, "dtype") != 0 && strcmp (m->data, "shape") != 0
        && strcmp (m->data, "data_offsets") != 0)
      return bad (error, "tensor '%s' has an unknown field '%s'", name, (const char *) m->data);
  dtype = json_object_get_member (entry, "dtype");
  shape_node = json_object_get_member (entry, "shape");
  offsets_node = json_object_get_member (entry, "data_offsets");
  if (dtype == NULL || !JSON_NODE_HOLDS_VALUE (dtype)
      || json_node_get_value_type (dtype) != G_TYPE_STRING)
    return bad (error, "tensor '%s' has no dtype", name);
  if (strcmp (json_node_get_string (dtype), "F32") != 0)
    return bad (error, "tensor '%s' is %s; Loom reads F32 only (convert it with "
                "tools/torch/loomweights.py)", name, json_node_get_string (dtype));
  if (shape_node == NULL || !JSON_NODE_HOLDS_ARRAY (shape_node))
    return bad (error, "tensor '%s' has no shape", name);
  shape_array = json_node_get_array (shape_node);
  n_dims = json_array_get_length (shape_array);
  if (n_dims > LOOM_WEIGHTS_MAX_DIMS)
    return bad (error, "tensor '%s' has %u dimensions (at most %d)", name, n_dims,
                LOOM_WEIGHTS_MAX_DIMS);
  for (guint d = 0; d < n_dims; d++)
    if (!read_uint (json_array_get_element (shape_array, d), &shape[d]))
      return bad (error, "tensor '%s': dimension %u is not a size", name, d);
  if (offsets_node == NULL || !JSON_NODE_HOLDS_ARRAY (offsets_node)
      || json_array_get_length (offsets = json_node_get_array (offsets_node)) != 2
      || !read_uint (json_array_get_element (offsets, 0), &span.begin)
      || !read_uint (json_array_get_element (offsets, 1), &span.end)
      || span.begin > span.end)
    return bad (error, "tensor '%s' has no valid data_offsets", name);
  if (span.end > data_size)
    return bad (error, "tensor '%s' ends at byte %" G_GUINT64_FORMAT " of %" G_GUINT64_FORMAT
                " bytes of data (truncated file?)", name, span.end, data_size);
  if (!count_elements (n_dims, shape, &count) || (guint64) count * 4 != span.end - span.begin)
    {
      g_autofree char *text = shape_text (n_dims, shape);

      return bad (error, "tensor '%s' is %s F32 but holds %" G_GUINT64_FORMAT " bytes",
                  name, text, span.end - span.begin);
    }
  if (add_tensor (w, name, n_dims, shape, error) == NULL)
    return FALSE;
  g_array_append_val (spans, span);
  return TRUE;
}

LoomWeights *
loom_weights_parse (const guint8 *bytes, gsize size, GError **error)
{
  g_autoptr (JsonParser) parser = json_parser_new ();
  g_autoptr (GArray) spans = g_array_new (FALSE, FALSE, sizeof (Span));
  g_autoptr (GList) members = NULL;
  g_autoptr (GError) json_error = NULL;
  LoomWeights *w = NULL;
  JsonNode *root;
  JsonObject *object;
  guint64 header_len = 0, data_size, expect = 0;
  const guint8 *data;

  g_return_val_if_fail (bytes != NULL || size == 0, NULL);
  if (size < 8)
    {
      bad (error, "%" G_GSIZE_FORMAT " bytes: too short for a safetensors header", size);
      return NULL;
    }
  for (int i = 7; i >= 0; i--)
    header_len = header_len << 8 | bytes[i];
  if (header_len < 2 || header_len > MAX_HEADER || header_len > size - 8)
    {
      bad (error, "header length %" G_GUINT64_FORMAT " does not fit a file of %" G_GSIZE_FORMAT
           " bytes (truncated, or not a safetensors file)", header_len, size);
      return NULL;
    }
  if (!g_utf8_validate ((const char *) bytes + 8, (gssize) header_len, NULL)
      || memchr (bytes + 8, '\0', header_len) != NULL)
    {
      bad (error, "the header is not UTF-8 text");
      return NULL;
    }
  if (!json_parser_load_from_data (parser, (const char *) bytes + 8, (gssize) header_len,
                                   &json_error))
    {
      bad (error, "the header is not JSON: %s", json_error->message);
      return NULL;
    }
  root = json_parser_get_root (parser);
  if (root == NULL || !JSON_NODE_HOLDS_OBJECT (root))
    {
      bad (error, "the header is not a JSON object");
      return NULL;
    }
  data = bytes + 8 + header_len;
  data_size = size - 8 - header_len;
  object = json_node_get_object (root);
  members = json_object_get_members (object);
  w = loom_weights_new ();
  for (GList *m = members; m != NULL; m = m->next)
    {
      JsonNode *node = json_object_get_member (object, m->data);
      gboolean ok = strcmp (m->data, "__metadata__") == 0
                  ? read_metadata (w, node, error)
                  : read_entry (w, m->data, node, data_size, spans, error);

      if (!ok)
        {
          loom_weights_free (w);
          return NULL;
        }
    }
  /* The tensors must tile the data: no gap, no overlap, nothing after. */
  g_array_sort (spans, by_begin);
  for (guint i = 0; i < spans->len; i++)
    {
      const Span *s = &g_array_index (spans, Span, i);

      if (s->begin != expect)
        {
          bad (error, "tensor '%s' starts at byte %" G_GUINT64_FORMAT ", expected %"
               G_GUINT64_FORMAT " (overlapping or gapped data)", s->name, s->begin, expect);
          loom_weights_free (w);
          return NULL;
        }
      expect = s->end;
    }
  if (expect != data_size)
    {
      bad (error, "%" G_GUINT64_FORMAT " bytes of data but the tensors cover %" G_GUINT64_FORMAT,
           data_size, expect);
      loom_weights_free (w);
      return NULL;
    }
  for (guint i = 0; i < spans->len; i++)
    {
      const Span *s = &g_array_index (spans, Span, i);
      Tensor *t = g_hash_table_lookup (w->by_name, s->name);

      for (gsize j = 0; j < t->length; j++)
        {
          guint32 bits;

          memcpy (&bits, data + s->begin + 4 * j, 4);
          bits = GUINT32_FROM_LE (bits);
          memcpy (&t->data[j], &bits, 4);
        }
    }
  return w;
}

LoomWeights *
loom_weights_load (const char *path, GError **error)
{
  g_autoptr (GMappedFile) file = NULL;
  g_autoptr (GError) local = NULL;
  LoomWeights *w;
  GStatBuf st;
  int fd, saved;

  g_return_val_if_fail (path != NULL, NULL);
  /* Opened here, not by g_mapped_file_new(), so every error reads
   * "PATH: …" as the parse errors do (GLib's own words name it again). */
  fd = g_open (path, O_RDONLY, 0);
  saved = fd < 0 || fstat (fd, &st) != 0 ? errno : S_ISDIR (st.st_mode) ? EISDIR : 0;
  if (saved != 0)
    {
      if (fd >= 0)
        close (fd);
      g_set_error (error, G_FILE_ERROR, g_file_error_from_errno (saved), "%s: cannot be read (%s)",
                   path, saved == EISDIR ? "a folder" : g_strerror (saved));
      return NULL;
    }
  file = g_mapped_file_new_from_fd (fd, FALSE, &local);
  close (fd);
  if (file == NULL)
    {
      g_set_error (error, LOOM_ERROR, LOOM_ERROR_BAD_FILE, "%s: cannot be read (%s)", path,
                   local->message);
      return NULL;
    }
  w = loom_weights_parse ((const guint8 *) g_mapped_file_get_contents (file),
                          g_mapped_file_get_length (file), &local);
  if (w == NULL)
    g_set_error (error, LOOM_ERROR, LOOM_ERROR_BAD_FILE, "%s: %s", path, local->message);
  return w;
}
