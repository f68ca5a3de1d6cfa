/* Where Loom's bundled data is (see loom.h).  LOOM_DATA_DIR and
 * LOOM_SOURCE_DIR come from compute/meson.build: the install prefix's
 * share/loom and the source tree. */
#include <loom/loom.h>

char *
loom_data_path (const char *name)
{
  const char *env = g_getenv ("LOOM_DATA_DIR");
  const char *roots[] = { env, LOOM_DATA_DIR, LOOM_SOURCE_DIR };

  for (guint i = 0; i < G_N_ELEMENTS (roots); i++)
    {
      g_autofree char *path = NULL;

      if (roots[i] == NULL || roots[i][0] == '\0')
        continue;
      path = g_build_filename (roots[i], name, NULL);
      if (g_file_test (path, G_FILE_TEST_EXISTS))
        return g_steal_pointer (&path);
    }
  return g_build_filename (env != NULL ? env : LOOM_DATA_DIR, name, NULL);
}

char **
loom_data_paths (const char *name)
{
  const char *env = g_getenv ("LOOM_DATA_DIR");
  const char *roots[] = { env, LOOM_DATA_DIR, LOOM_SOURCE_DIR };
  g_autoptr (GStrvBuilder) found = g_strv_builder_new ();

  for (guint i = 0; i < G_N_ELEMENTS (roots); i++)
    {
      g_autofree char *path = NULL;

      if (roots[i] == NULL || roots[i][0] == '\0')
        continue;
      path = g_build_filename (roots[i], name, NULL);
      if (g_file_test (path, G_FILE_TEST_EXISTS))
        g_strv_builder_add (found, path);
    }
  return g_strv_builder_end (found);
}
