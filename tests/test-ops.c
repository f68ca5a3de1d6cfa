/* Every registered op, on every backend, against its plain C reference.
 *
 * Paths: /ops/<backend>/<op> runs each of the op's test cases (odd shapes,
 * and sizes past one workgroup grid axis); /ops/vulkan-capped/<op> runs the
 * small cases again with the grid capped at 3 workgroups per axis and, for
 * elementwise ops, bindings capped at 4 KiB, so grid loops and range splitting are exercised
 * without giant buffers; /ops/vulkan-gpu-path/<op> runs them with the
 * kernel variants chosen for GPUs (shared memory), which lavapipe would not
 * pick itself.  Vulkan runs under the validation layer, and any
 * message it prints fails the test. */
#include <math.h>
#include <string.h>

#include "backend.h"
#include "vulkan/vk-internal.h"
#include "test-util.h"

typedef struct
{
  const LoomOp *op;
  const char   *backend;      /* "cpu", "vulkan", "vulkan-capped", "vulkan-gpu-path" */
} OpTest;

/* Largest |out - ref| relative to the largest |ref|. */
static double
relative_error (const float *out, const float *ref, gsize n)
{
  double max_diff = 0.0, max_ref = 0.0;

  for (gsize i = 0; i < n; i++)
    {
      double d = fabs ((double) out[i] - ref[i]);

      if (isnan (out[i]) || isnan (ref[i]))
        return INFINITY;        /* no op is tested where it makes NaN */
      max_diff = MAX (max_diff, d);
      max_ref = MAX (max_ref, fabs (ref[i]));
    }
  return max_diff == 0.0 ? 0.0 : max_diff / MAX (max_ref, 1e-30);
}

static void
run_case (LoomDevice *device, const LoomOp *op, const void *params, GRand *rand,
          guint index)
{
  gsize lengths[LOOM_OP_MAX_BINDINGS];
  float *ref[LOOM_OP_MAX_BINDINGS];
  LoomBuffer *buffers[LOOM_OP_MAX_BINDINGS];
  LoomSpan spans[LOOM_OP_MAX_BINDINGS];
  GError *error = NULL;

  op->binding_lengths (params, lengths);
  for (guint i = 0; i < op->n_bindings; i++)
    {
      ref[i] = g_new (float, MAX (lengths[i], 1));
      for (gsize j = 0; j < lengths[i]; j++)
        ref[i][j] = (float) g_rand_double_range (rand, -1.0, 1.0);
    }
  if (op->test_inputs != NULL)
    op->test_inputs (params, ref);
  for (guint i = 0; i < op->n_bindings; i++)
    {
      buffers[i] = loom_buffer_new (device, lengths[i], &error);
      g_assert_no_error (error);
      loom_buffer_write (buffers[i], 0, lengths[i], ref[i], &error);
      g_assert_no_error (error);
      spans[i] = (LoomSpan) { buffers[i], 0, lengths[i] };
    }

  loom_op_run (op, params, spans, &error);
  g_assert_no_error (error);
  op->reference (params, ref);

  for (guint i = 0; i < op->n_bindings; i++)
    {
      if ((op->write_mask >> i) & 1)
        {
          float *out = g_new (float, MAX (lengths[i], 1));
          double err;

          loom_buffer_read (buffers[i], 0, lengths[i], out, &error);
          g_assert_no_error (error);
          err = relative_error (out, ref[i], lengths[i]);
          if (err > op->tolerance)
            g_error ("%s case %u on %s: output %u is off by %.3g (tolerance %.3g)",
                     op->name, index, loom_device_get_info (device)->name, i, err, op->tolerance);
          g_free (out);
        }
      loom_buffer_free (buffers[i]);
      g_free (ref[i]);
    }
}

static gsize
case_floats (const LoomOp *op, const void *params)
{
  gsize lengths[LOOM_OP_MAX_BINDINGS], total = 0;

  op->binding_lengths (params, lengths);
  for (guint i = 0; i < op->n_bindings; i++)
    total += lengths[i];
  return total;
}

static void
test_op (gconstpointer data)
{
  const OpTest *t = data;
  gboolean capped = strcmp (t->backend, "vulkan-capped") == 0;
  gboolean gpu_path = strcmp (t->backend, "vulkan-gpu-path") == 0;
  LoomDevice *device = strcmp (t->backend, "cpu") == 0 ? loom_device_open ("cpu", NULL)
                                                        : test_open_vulkan ();
  guint8 params[LOOM_OP_MAX_PARAMS];
  GRand *rand = g_rand_new_with_seed (1234);
  guint ran = 0;

  if (device == NULL)
    return;                     /* skipped: no Vulkan here */
  if (capped)
    loom_vk_debug_cap_limits (device, 3, t->op->elementwise ? 4096 : 0);
  if (gpu_path)
    loom_vk_debug_set_cpu_like (device, FALSE);

  for (guint i = 0; t->op->test_case (i, rand, params); i++)
    {
      /* Capped limits mean thousands of dispatches for big cases, and the
       * big cases add nothing to the GPU path's test. */
      if ((capped || gpu_path) && case_floats (t->op, params) > (1 << 18))
        continue;
      run_case (device, t->op, params, rand, i);
      ran++;
    }
  g_assert_cmpuint (ran, >, 0);
  test_close (device);
  g_rand_free (rand);
}

int
main (int argc, char **argv)
{
  static const char *backends[] = { "cpu", "vulkan", "vulkan-capped", "vulkan-gpu-path" };

  test_init (&argc, &argv);
  for (guint b = 0; b < G_N_ELEMENTS (backends); b++)
    for (guint i = 0; loom_op_registry[i] != NULL; i++)
      {
        OpTest *t = g_new0 (OpTest, 1);
        g_autofree char *path = NULL;

        t->op = loom_op_registry[i];
        t->backend = backends[b];
        path = g_strdup_printf ("/ops/%s/%s", t->backend, t->op->name);
        g_test_add_data_func_full (path, t, test_op, g_free);
      }
  return g_test_run ();
}
