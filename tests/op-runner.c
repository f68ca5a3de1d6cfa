/* op-runner MANIFEST OUTDIR DEVICE: runs registered ops exactly as a PyTorch
 * script describes them (tests/torch-ops.py) on one Loom device, for the
 * script to compare with PyTorch.
 *
 * MANIFEST is a JSON list of cases:
 *   {"name": "relu0", "op": "activation_forward",
 *    "params": [["u", 1000], ["f", 0.1], ["u", 0]],      the op's params, in order
 *    "bindings": [{"length": 1000, "input": "relu0.x"},  raw float32 beside MANIFEST
 *                 {"length": 1000, "output": true}]}     written to OUTDIR/NAME.I */
#include <string.h>

#include "backend.h"
#include "runner.h"

static gboolean
pack_params (JsonArray *list, guint8 *params, gsize *size, GError **error)
{
  *size = 0;
  for (guint i = 0; i < json_array_get_length (list); i++)
    {
      JsonArray *item = json_array_get_array_element (list, i);
      const char *type = json_array_get_string_element (item, 0);
      guint32 u;
      float f;

      if (*size + 4 > LOOM_OP_MAX_PARAMS)
        {
          g_set_error (error, LOOM_ERROR, LOOM_ERROR_INVALID_ARGUMENT, "too many params");
          return FALSE;
        }
      if (strcmp (type, "f") == 0)
        {
          f = (float) json_array_get_double_element (item, 1);
          memcpy (params + *size, &f, 4);
        }
      else
        {
          u = (guint32) json_array_get_int_element (item, 1);
          memcpy (params + *size, &u, 4);
        }
      *size += 4;
    }
  return TRUE;
}

static gboolean
run_case (LoomDevice *device, const char *in_dir, const char *out_dir, JsonObject *c,
          GError **error)
{
  const char *name = json_object_get_string_member (c, "name");
  const LoomOp *op = loom_op_find (json_object_get_string_member (c, "op"));
  JsonArray *bindings = json_object_get_array_member (c, "bindings");
  guint8 params[LOOM_OP_MAX_PARAMS] = { 0 };
  LoomSpan spans[LOOM_OP_MAX_BINDINGS] = { { 0 } };
  guint n = json_array_get_length (bindings);
  gsize size;
  gboolean ok = FALSE;

  if (op == NULL || n != op->n_bindings)
    {
      g_set_error (error, LOOM_ERROR, LOOM_ERROR_INVALID_ARGUMENT, "%s: unknown op or "
                   "wrong number of bindings", name);
      return FALSE;
    }
  if (!pack_params (json_object_get_array_member (c, "params"), params, &size, error))
    return FALSE;
  if (size != op->params_size)
    {
      g_set_error (error, LOOM_ERROR, LOOM_ERROR_INVALID_ARGUMENT, "%s: %" G_GSIZE_FORMAT
                   " bytes of params, %s takes %" G_GSIZE_FORMAT, name, size, op->name,
                   op->params_size);
      return FALSE;
    }
  for (guint i = 0; i < n; i++)
    {
      JsonObject *b = json_array_get_object_element (bindings, i);
      gsize length = (gsize) json_object_get_int_member (b, "length");

      if (json_object_has_member (b, "input"))
        {
          g_autofree char *file = g_build_filename (in_dir, json_object_get_string_member (b, "input"), NULL);

          spans[i].buffer = runner_load (device, file, length, error);
        }
      else
        spans[i].buffer = loom_buffer_new (device, length, error);
      spans[i].length = length;
      if (spans[i].buffer == NULL)
        goto out;
    }
  if (!loom_op_run (op, params, spans, error))
    goto out;
  for (guint i = 0; i < n; i++)
    {
      JsonObject *b = json_array_get_object_element (bindings, i);
      g_autofree char *file = NULL;
      g_autofree float *data = NULL;

      if (!json_object_has_member (b, "output"))
        continue;
      file = g_strdup_printf ("%s/%s.%u", out_dir, name, i);
      data = g_new (float, MAX (spans[i].length, 1));
      if (!loom_buffer_read (spans[i].buffer, 0, spans[i].length, data, error)
          || !g_file_set_contents (file, (const char *) data, spans[i].length * sizeof (float),
                                   error))
        goto out;
    }
  ok = TRUE;
out:
  for (guint i = 0; i < n; i++)
    loom_buffer_free (spans[i].buffer);
  return ok;
}

int
main (int argc, char **argv)
{
  return runner_main (argc, argv, "op-runner", run_case);
}
