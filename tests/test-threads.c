/* The CPU thread pool: every index visited once, whatever the split. */
#include "cpu/threads.h"
#include "test-util.h"

typedef struct
{
  gint *hits;
} Job;

static void
visit (gpointer data, gsize begin, gsize end)
{
  Job *job = data;

  for (gsize i = begin; i < end; i++)
    g_atomic_int_inc (&job->hits[i]);
}

static void
test_cover (void)
{
  static const gsize sizes[] = { 0, 1, 2, 3, 7, 1000, 65537 };
  static const gsize grains[] = { 1, 16, 1 << 20 };

  for (guint t = 1; t <= 4; t++)
    {
      LoomThreads *threads = loom_threads_new (t);

      g_assert_cmpuint (loom_threads_get_count (threads), ==, t);
      for (guint s = 0; s < G_N_ELEMENTS (sizes); s++)
        for (guint g = 0; g < G_N_ELEMENTS (grains); g++)
          for (guint rep = 0; rep < 20; rep++)   /* the pool is reused loop after loop */
            {
              Job job = { g_new0 (gint, sizes[s] + 1) };

              loom_threads_parallel_for (threads, sizes[s], grains[g], visit, &job);
              for (gsize i = 0; i < sizes[s]; i++)
                g_assert_cmpint (job.hits[i], ==, 1);
              g_assert_cmpint (job.hits[sizes[s]], ==, 0);
              g_free (job.hits);
            }
      loom_threads_free (threads);
    }
}

int
main (int argc, char **argv)
{
  test_init (&argc, &argv);
  g_test_add_func ("/threads/cover", test_cover);
  return g_test_run ();
}
