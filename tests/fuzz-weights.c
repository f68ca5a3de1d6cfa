/* libFuzzer target: the safetensors reader must answer any bytes with
 * weights or a GError, and never crash, hang or leak. */
#include <stdint.h>

#include <loom/loom-weights.h>

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  GError *error = NULL;
  LoomWeights *w = loom_weights_parse (data, size, &error);

  g_assert ((w == NULL) != (error == NULL));
  if (w != NULL)
    {
      /* What was read must be readable back. */
      for (const char *const *name = loom_weights_get_names (w); *name != NULL; name++)
        {
          guint n_dims;
          const guint64 *shape;

          g_assert (loom_weights_lookup (w, *name, &n_dims, &shape) != NULL);
        }
      loom_weights_free (w);
    }
  g_clear_error (&error);
  return 0;
}
