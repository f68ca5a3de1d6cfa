/* A small pool of persistent worker threads for data-parallel loops.
 * Workers sleep on a condition variable between loops (no spinning, so
 * OpenBLAS's own threads get the cores when it runs). */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

typedef struct _LoomThreads LoomThreads;

/* Runs on [begin, end) of the loop's range. */
typedef void (*LoomRangeFunc) (gpointer data, gsize begin, gsize end);

/* N_THREADS counts the caller: 1 makes a pool that runs everything inline. */
LoomThreads *loom_threads_new      (guint n_threads);
void         loom_threads_free     (LoomThreads *threads);
guint        loom_threads_get_count (LoomThreads *threads);

/* Splits [0, N) into contiguous pieces of at least GRAIN items (a few per
 * thread, handed out as threads come for them) and runs FUNC
 * on them across the pool; returns when all are done.  Not reentrant. */
void         loom_threads_parallel_for (LoomThreads  *threads,
                                        gsize         n,
                                        gsize         grain,
                                        LoomRangeFunc func,
                                        gpointer      data);

G_END_DECLS
