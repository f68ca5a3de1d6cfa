/* Running a compiled graph: the per-run scalars and seed, and reading and
 * writing its tensors. */
#include <math.h>
#include <string.h>

#include "graph-private.h"

static gboolean
check_compiled (LoomGraph *g, LoomTensor *t, GError **error)
{
  if (g->memory == NULL)
    {
      g_set_error (error, LOOM_ERROR, LOOM_ERROR_INVALID_ARGUMENT, "the graph is not compiled");
      return FALSE;
    }
  if (t != NULL && t->first < 0)
    {
      g_set_error (error, LOOM_ERROR, LOOM_ERROR_INVALID_ARGUMENT,
                   "tensor %s is used by no step and has no memory", t->name);
      return FALSE;
    }
  return TRUE;
}

/* Each run: the learning rate, Adam's bias corrections for this step and a
 * fresh seed, written where the recorded steps read them. */
static gboolean
write_scalars (LoomGraph *g, GError **error)
{
  double t;
  guint32 seed;
  float scalars[LOOM_N_SCALARS] = { 0 };

  if (g->scalars == NULL)
    return TRUE;
  t = (double) ++g->runs;
  seed = g->seed * 0x9E3779B9u + (guint32) g->runs;
  scalars[LOOM_SCALAR_LR] = g->learning_rate;
  scalars[LOOM_SCALAR_BIAS1] = (float) (1.0 - pow (g->beta1, t));
  scalars[LOOM_SCALAR_BIAS2] = (float) (1.0 - pow (g->beta2, t));
  scalars[LOOM_SCALAR_RUNS] = (float) t;
  memcpy (&scalars[LOOM_SCALAR_SEED], &seed, sizeof seed);
  return loom_buffer_write (g->memory, g->scalars->offset, LOOM_N_SCALARS, scalars, error);
}

gboolean
loom_graph_run (LoomGraph *g, GError **error)
{
  g_return_val_if_fail (g != NULL, FALSE);
  return check_compiled (g, NULL, error) && write_scalars (g, error)
      && loom_program_run (g->step, error);
}

void
loom_graph_set_seed (LoomGraph *g, guint32 seed)
{
  g_return_if_fail (g != NULL);
  g->seed = seed;
  g->runs = 0;
}

gboolean
loom_graph_run_accumulate (LoomGraph *g, GError **error)
{
  g_return_val_if_fail (g != NULL, FALSE);
  if (!check_compiled (g, NULL, error))
    return FALSE;
  if (!g->trained)
    {
      g_set_error (error, LOOM_ERROR, LOOM_ERROR_INVALID_ARGUMENT,
                   "run_accumulate: the graph has no training steps");
      return FALSE;
    }
  return write_scalars (g, error) && loom_program_run (g->accumulate, error);
}

gboolean
loom_graph_write (LoomGraph *g, LoomTensor *t, const float *data, GError **error)
{
  g_return_val_if_fail (g != NULL && t != NULL && data != NULL, FALSE);
  return check_compiled (g, t, error)
      && loom_buffer_write (g->memory, t->offset, t->length, data, error);
}

gboolean
loom_graph_write_range (LoomGraph *g, LoomTensor *t, gsize first, gsize count,
                        const float *data, GError **error)
{
  g_return_val_if_fail (g != NULL && t != NULL && (data != NULL || count == 0), FALSE);
  if (!check_compiled (g, t, error))
    return FALSE;
  if (first > t->length || count > t->length - first)
    {
      g_set_error (error, LOOM_ERROR, LOOM_ERROR_INVALID_ARGUMENT,
                   "tensor %s: values [%" G_GSIZE_FORMAT ", +%" G_GSIZE_FORMAT ") are not inside its %"
                   G_GSIZE_FORMAT, t->name, first, count, t->length);
      return FALSE;
    }
  return loom_buffer_write (g->memory, t->offset + first, count, data, error);
}

void
loom_graph_keep (LoomGraph *g, LoomTensor *t)
{
  g_return_if_fail (g != NULL && t != NULL && g->memory == NULL);
  while (t->view_of != NULL)
    t = t->view_of;
  t->persistent = TRUE;
}

/* Whether a later step reuses T's memory (after T's last use), so that a
 * read after the run would see something else. */
static LoomTensor *
overwriter (LoomGraph *g, LoomTensor *t)
{
  LoomTensor *root = t;

  while (root->view_of != NULL)
    root = root->view_of;
  if (root->persistent)
    return NULL;
  for (guint i = 0; i < g->tensors->len; i++)
    {
      LoomTensor *o = g->tensors->pdata[i];

      if (o != root && o->view_of == NULL && o->first > root->last
          && o->offset < t->offset + t->length && t->offset < o->offset + o->length)
        return o;
    }
  return NULL;
}

gboolean
loom_graph_read (LoomGraph *g, LoomTensor *t, float *data, GError **error)
{
  LoomTensor *o;

  g_return_val_if_fail (g != NULL && t != NULL && data != NULL, FALSE);
  if (!check_compiled (g, t, error))
    return FALSE;
  if ((o = overwriter (g, t)) != NULL)
    {
      g_set_error (error, LOOM_ERROR, LOOM_ERROR_INVALID_ARGUMENT,
                   "tensor %s shares its memory with %s, which later steps write: call "
                   "loom_graph_keep on it before compiling to read it after a run",
                   t->name, o->name);
      return FALSE;
    }
  return loom_buffer_read (g->memory, t->offset, t->length, data, error);
}
