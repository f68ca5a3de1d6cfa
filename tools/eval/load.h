/* Raw float32 files, as the evaluation scripts write them for the runners. */
#pragma once

#include <loom/loom.h>

/* FLOATS values from PATH (g_free them), or NULL with an error for a file
 * of another size. */
static inline float *
eval_load (const char *path, gsize floats, GError **error)
{
  gchar *data;
  gsize len;

  if (!g_file_get_contents (path, &data, &len, error))
    return NULL;
  if (len != floats * sizeof (float))
    {
      g_set_error (error, LOOM_ERROR, LOOM_ERROR_INVALID_ARGUMENT,
                   "%s: %" G_GSIZE_FORMAT " bytes, not %" G_GSIZE_FORMAT, path, len,
                   floats * sizeof (float));
      g_free (data);
      return NULL;
    }
  return (float *) data;
}
