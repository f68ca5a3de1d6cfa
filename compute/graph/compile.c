/* Compile: every tensor placed in one device buffer, sharing memory
 * between tensors whose lifetimes (first to last step) never meet, and
 * the steps turned into the programs a run replays. */
#include "graph-private.h"

#define ALIGN_FLOATS 64         /* 256 bytes: any device's storage offset alignment */

static gsize
aligned (gsize floats)
{
  return (MAX (floats, 1) + ALIGN_FLOATS - 1) / ALIGN_FLOATS * ALIGN_FLOATS;
}

static gint
by_length_desc (gconstpointer a, gconstpointer b)
{
  const LoomTensor *x = *(LoomTensor *const *) a, *y = *(LoomTensor *const *) b;

  return x->length < y->length ? 1 : x->length > y->length ? -1 : 0;
}

static gint
by_offset (gconstpointer a, gconstpointer b)
{
  const LoomTensor *x = *(LoomTensor *const *) a, *y = *(LoomTensor *const *) b;

  return x->offset < y->offset ? -1 : x->offset > y->offset;
}

/* Greedy placement, largest first: the lowest offset whose range no placed
 * tensor alive at the same time uses.  Returns the floats needed. */
static gsize
plan_memory (LoomGraph *g)
{
  g_autoptr (GPtrArray) order = g_ptr_array_new ();
  g_autoptr (GPtrArray) placed = g_ptr_array_new ();
  g_autoptr (GPtrArray) clash = g_ptr_array_new ();
  gint last_step = (gint) g->steps->len;
  gsize total = 0;

  for (guint i = 0; i < g->tensors->len; i++)
    {
      LoomTensor *t = g->tensors->pdata[i];

      t->first = t->last = -1;
    }
  for (guint s = 0; s < g->steps->len; s++)
    {
      Step *step = &g_array_index (g->steps, Step, s);

      for (guint b = 0; b < step->op->n_bindings; b++)
        {
          LoomTensor *t = step->bind[b];

          if (t->first < 0)
            t->first = (gint) s;
          t->last = (gint) s;
        }
    }
  /* A view's uses keep the memory it looks into alive. */
  for (guint i = 0; i < g->tensors->len; i++)
    {
      LoomTensor *t = g->tensors->pdata[i], *base = t->view_of;

      if (base == NULL || t->first < 0)
        continue;
      base->first = base->first < 0 ? t->first : MIN (base->first, t->first);
      base->last = MAX (base->last, t->last);
    }
  for (guint i = 0; i < g->tensors->len; i++)
    {
      LoomTensor *t = g->tensors->pdata[i];

      if (t->persistent)
        t->first = 0, t->last = last_step;
      if (t->first >= 0 && t->view_of == NULL)
        g_ptr_array_add (order, t);
    }
  g_ptr_array_sort (order, by_length_desc);

  for (guint i = 0; i < order->len; i++)
    {
      LoomTensor *t = order->pdata[i];
      gsize offset = 0;

      g_ptr_array_set_size (clash, 0);
      for (guint j = 0; j < placed->len; j++)
        {
          LoomTensor *o = placed->pdata[j];

          if (o->first <= t->last && t->first <= o->last)
            g_ptr_array_add (clash, o);
        }
      g_ptr_array_sort (clash, by_offset);
      for (guint j = 0; j < clash->len; j++)
        {
          LoomTensor *o = clash->pdata[j];

          if (offset + aligned (t->length) <= o->offset)
            break;
          offset = MAX (offset, o->offset + aligned (o->length));
        }
      t->offset = offset;
      total = MAX (total, offset + aligned (t->length));
      g_ptr_array_add (placed, t);
    }
  for (guint i = 0; i < g->tensors->len; i++)
    {
      LoomTensor *t = g->tensors->pdata[i];

      if (t->view_of != NULL)
        t->offset = t->view_of->offset + t->view_offset;
    }
  return total;
}

/* Steps [begin, end) appended to PROGRAM, bound to the graph's memory. */
static gboolean
add_steps (LoomGraph *g, LoomProgram *program, guint begin, guint end, GError **error)
{
  for (guint s = begin; s < end; s++)
    {
      Step *step = &g_array_index (g->steps, Step, s);
      LoomSpan spans[LOOM_OP_MAX_BINDINGS];

      for (guint b = 0; b < step->op->n_bindings; b++)
        spans[b] = (LoomSpan) { g->memory, step->bind[b]->offset, step->bind[b]->length };
      if (!loom_program_add (program, step->op, step->params, spans, error))
        return FALSE;
    }
  return TRUE;
}

/* The two programs a compiled graph runs; recorded at their first run. */
static gboolean
make_programs (LoomGraph *g, GError **error)
{
  g->step = loom_program_new (g->device);
  if (!g->trained)
    return add_steps (g, g->step, 0, g->steps->len, error);
  g->accumulate = loom_program_new (g->device);
  return add_steps (g, g->step, 0, g->backward_end, error)
      && add_steps (g, g->step, g->update_begin, g->steps->len, error)
      && add_steps (g, g->accumulate, 0, g->update_begin, error);
}

void
graph_uncompile (LoomGraph *g)
{
  g_clear_pointer (&g->step, loom_program_free);
  g_clear_pointer (&g->accumulate, loom_program_free);
  g_clear_pointer (&g->memory, loom_buffer_free);
  g->device = NULL;
}

static gboolean
compile (LoomGraph *g, LoomDevice *device, GError **error)
{
  g->memory_floats = plan_memory (g);
  g->memory = loom_buffer_new (device, g->memory_floats, error);
  if (g->memory == NULL)
    return FALSE;
  g->device = device;
  /* Parameters and optimizer state start at zero, constants at their value. */
  if (!loom_fill (g->memory, 0.0f, error))
    return FALSE;
  for (guint i = 0; i < g->tensors->len; i++)
    {
      LoomTensor *t = g->tensors->pdata[i];
      g_autofree float *values = NULL;

      if (!t->constant || t->fill == 0.0f || t->first < 0)
        continue;
      values = g_new (float, t->length);
      for (gsize j = 0; j < t->length; j++)
        values[j] = t->fill;
      if (!loom_buffer_write (g->memory, t->offset, t->length, values, error))
        return FALSE;
    }
  return make_programs (g, error);
}

gboolean
loom_graph_compile (LoomGraph *g, LoomDevice *device, GError **error)
{
  g_return_val_if_fail (g != NULL && device != NULL, FALSE);
  if (g->error != NULL)
    {
      g_propagate_error (error, g_error_copy (g->error));
      return FALSE;
    }
  graph_uncompile (g);
  if (compile (g, device, error))
    return TRUE;
  graph_uncompile (g);
  return FALSE;
}
