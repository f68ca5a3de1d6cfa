#include "backend.h"
#include "ops/upsample.h"

void
loom_upsample_taps (const LoomUpsampleParams *p, gint64 size, LoomUpsampleTap *taps)
{
  for (gint64 o = 0; o < size * p->scale; o++)
    {
      LoomUpsampleTap *t = &taps[o];

      if (!p->bilinear)
        {
          *t = (LoomUpsampleTap) { (gint32) (o / p->scale), (gint32) (o / p->scale), 1.0f, 0.0f };
          continue;
        }
      t->i0 = (gint32) fmaxf (((float) o + 0.5f) / (float) p->scale - 0.5f, 0.0f);
      t->i1 = (gint32) MIN (t->i0 + 1, size - 1);
      t->w0 = loom_upsample_weight (p, o, t->i0, size);
      t->w1 = t->i1 == t->i0 ? 0.0f : loom_upsample_weight (p, o, t->i1, size);
    }
}

double
loom_upsample_flops (const void *params)
{
  const LoomUpsampleParams *p = params;

  return 4.0 * p->planes * p->h * p->w * p->scale * p->scale;
}

gboolean
loom_upsample_test_case (guint index, GRand *rand, void *params)
{
  /* planes, h, w, scale */
  static const guint32 cases[][4] = {
    { 1, 1, 1, 2 }, { 3, 4, 5, 2 }, { 2, 7, 3, 3 }, { 70, 8, 8, 2 }, { 1, 5, 6, 4 },
  };
  LoomUpsampleParams *p = params;

  if (index >= 2 * G_N_ELEMENTS (cases))
    return FALSE;
  *p = (LoomUpsampleParams) { cases[index / 2][0], cases[index / 2][1], cases[index / 2][2],
                              cases[index / 2][3], index % 2 };
  return TRUE;
}

void
loom_upsample_cpu (LoomOpRange range, const void *params, float *const *b, LoomThreads *threads)
{
  const LoomUpsampleParams *p = params;

  loom_op_parallel (threads, p->planes, 1, range, params, b);
}
