#include "backend.h"
#include "ops/elementwise.h"

#define ELT_LOCAL_SIZE 256

void
loom_elt_binding_lengths (const void *params, gsize *lengths)
{
  for (guint i = 0; i < LOOM_OP_MAX_BINDINGS; i++)
    lengths[i] = ((const LoomEltParams *) params)->n;
}

void
loom_elt_vk_groups (const void *params, const guint32 *spec,
                    const LoomLimits *limits, guint32 *groups)
{
  groups[0] = loom_groups_1d (((const LoomEltParams *) params)->n, spec[0], limits);
  groups[1] = groups[2] = 1;
}

double
loom_elt_flops (const void *params)
{
  return ((const LoomEltParams *) params)->n;
}

gboolean
loom_elt_test_case (guint index, GRand *rand, void *params)
{
  /* Odd sizes, a partial workgroup, and more invocations than one grid axis
   * of 65535 workgroups holds when each does one element. */
  static const guint32 sizes[] = { 1, 7, 13, 127, 256, 1000, 1029, 65537,
                                   65535u * ELT_LOCAL_SIZE + 77 };
  LoomEltParams *p = params;

  if (index >= G_N_ELEMENTS (sizes))
    return FALSE;
  p->n = sizes[index];
  p->alpha = (float) g_rand_double_range (rand, -4.0, 4.0);
  p->kind = 0;
  return TRUE;
}

gboolean
loom_elt_test_case_kinds (guint index, GRand *rand, LoomEltParams *p, guint n_kinds)
{
  if (!loom_elt_test_case (index / n_kinds, rand, p))
    return FALSE;
  p->kind = index % n_kinds;
  p->alpha = (float) g_rand_double_range (rand, 0.01, 0.3);
  return TRUE;
}

gboolean
loom_elt_run (const LoomOp *op, float alpha, guint32 kind, LoomBuffer *const *buffers,
              GError **error)
{
  LoomSpan spans[LOOM_OP_MAX_BINDINGS];
  LoomEltParams params;
  gsize n = buffers[0]->length;

  for (guint i = 0; i < op->n_bindings; i++)
    {
      g_return_val_if_fail (buffers[i] != NULL, FALSE);
      if (buffers[i]->length != n)
        {
          g_set_error (error, LOOM_ERROR, LOOM_ERROR_INVALID_ARGUMENT,
                       "%s: argument %u has %" G_GSIZE_FORMAT " floats, argument 0 has %"
                       G_GSIZE_FORMAT, op->name, i, buffers[i]->length, n);
          return FALSE;
        }
      spans[i] = (LoomSpan) { buffers[i], 0, n };
    }
  if (n > G_MAXUINT32)
    {
      g_set_error (error, LOOM_ERROR, LOOM_ERROR_INVALID_ARGUMENT,
                   "%s: %" G_GSIZE_FORMAT " elements is more than one op handles (2^32 - 1)",
                   op->name, n);
      return FALSE;
    }
  if (n == 0)
    return TRUE;
  params = (LoomEltParams) { (guint32) n, alpha, kind };
  return loom_op_run (op, &params, spans, error);
}
