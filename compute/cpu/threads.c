#include "threads.h"

struct _LoomThreads
{
  guint          n_threads;
  GThread      **workers;       /* n_threads - 1 of them; the caller is the last */
  GMutex         lock;
  GCond          wake;          /* a new loop, or quitting */
  GCond          done;          /* the last worker finished its piece */
  guint64        generation;    /* bumped per loop */
  guint          pending;       /* workers still running the current loop */
  gboolean       quit;

  /* The current loop. */
  LoomRangeFunc  func;
  gpointer       data;
  gsize          n;
  guint          pieces;
  gint           next;          /* the next piece to take */
};

/* Pieces are handed out as threads come for them, up to this many per
 * thread: a thread the system preempts holds back less of the loop. */
#define PIECES_PER_THREAD 4

static void
run_pieces (LoomThreads *t)
{
  guint piece;

  while ((piece = (guint) g_atomic_int_add (&t->next, 1)) < t->pieces)
    {
      gsize begin = t->n * piece / t->pieces;
      gsize end = t->n * (piece + 1) / t->pieces;

      if (begin < end)
        t->func (t->data, begin, end);
    }
}

static gpointer
worker_main (gpointer user_data)
{
  LoomThreads *t = user_data;
  guint64 seen = 0;

  g_mutex_lock (&t->lock);
  for (;;)
    {
      while (!t->quit && t->generation == seen)
        g_cond_wait (&t->wake, &t->lock);
      if (t->quit)
        break;
      seen = t->generation;
      g_mutex_unlock (&t->lock);

      run_pieces (t);

      g_mutex_lock (&t->lock);
      if (--t->pending == 0)
        g_cond_signal (&t->done);
    }
  g_mutex_unlock (&t->lock);
  return NULL;
}

LoomThreads *
loom_threads_new (guint n_threads)
{
  LoomThreads *t = g_new0 (LoomThreads, 1);

  t->n_threads = MAX (n_threads, 1);
  t->workers = g_new0 (GThread *, t->n_threads);
  g_mutex_init (&t->lock);
  g_cond_init (&t->wake);
  g_cond_init (&t->done);

  for (guint i = 0; i + 1 < t->n_threads; i++)
    t->workers[i] = g_thread_new ("loom-worker", worker_main, t);
  return t;
}

void
loom_threads_free (LoomThreads *t)
{
  if (t == NULL)
    return;
  g_mutex_lock (&t->lock);
  t->quit = TRUE;
  g_cond_broadcast (&t->wake);
  g_mutex_unlock (&t->lock);
  for (guint i = 0; i + 1 < t->n_threads; i++)
    g_thread_join (t->workers[i]);
  g_free (t->workers);
  g_mutex_clear (&t->lock);
  g_cond_clear (&t->wake);
  g_cond_clear (&t->done);
  g_free (t);
}

guint
loom_threads_get_count (LoomThreads *t)
{
  return t->n_threads;
}

void
loom_threads_parallel_for (LoomThreads  *t,
                           gsize         n,
                           gsize         grain,
                           LoomRangeFunc func,
                           gpointer      data)
{
  gsize pieces = grain ? n / grain : n;

  pieces = CLAMP (pieces, 1, (gsize) PIECES_PER_THREAD * t->n_threads);
  if (pieces == 1 || t->n_threads == 1 || n == 0)
    {
      if (n > 0)
        func (data, 0, n);
      return;
    }

  g_mutex_lock (&t->lock);
  t->func = func;
  t->data = data;
  t->n = n;
  t->pieces = (guint) pieces;
  g_atomic_int_set (&t->next, 0);
  t->pending = t->n_threads - 1;
  t->generation++;
  g_cond_broadcast (&t->wake);
  g_mutex_unlock (&t->lock);

  /* The caller takes pieces too. */
  run_pieces (t);

  g_mutex_lock (&t->lock);
  while (t->pending > 0)
    g_cond_wait (&t->done, &t->lock);
  g_mutex_unlock (&t->lock);
}
