/* models-folder.c -- where models live: the models and checkpoints
 * folders in GIMP's, a model's name and files, the bundled data. */

#include <errno.h>
#include <string.h>

#include <glib/gstdio.h>
#include <libgimp/gimp.h>

#include "loom-plugin.h"

gchar *
loom_plugin_models_dir (void)
{
  return g_build_filename (gimp_directory (), "loom", "models", NULL);
}

gchar *
loom_plugin_checkpoints_dir (void)
{
  return g_build_filename (gimp_directory (), "loom", "checkpoints", NULL);
}

gboolean
loom_plugin_model_paths (const gchar  *model_name,
                         gchar       **path,
                         gchar       **checkpoint,
                         GError      **error)
{
  gchar *dir       = loom_plugin_models_dir ();
  gchar *ckpt_dir  = loom_plugin_checkpoints_dir ();
  gchar *file_name = g_strconcat (model_name, ".safetensors", NULL);
  gboolean ok      = TRUE;

  *path = *checkpoint = NULL;
  if (g_mkdir_with_parents (dir, 0755) != 0 || g_mkdir_with_parents (ckpt_dir, 0755) != 0)
    {
      gint saved = errno;

      g_set_error (error, GIMP_PLUG_IN_ERROR, 0, "Cannot make the folder %s: %s",
                   g_file_test (dir, G_FILE_TEST_IS_DIR) ? ckpt_dir : dir,
                   g_strerror (saved));
      ok = FALSE;
    }
  else
    {
      *path       = g_build_filename (dir, file_name, NULL);
      *checkpoint = g_build_filename (ckpt_dir, file_name, NULL);
    }
  g_free (dir);
  g_free (ckpt_dir);
  g_free (file_name);

  return ok;
}

GFile *
loom_plugin_newest_model (GError **error)
{
  gchar       *dir_path = loom_plugin_models_dir ();
  GDir        *dir      = g_dir_open (dir_path, 0, NULL);
  gchar       *best     = NULL;
  gint64       best_time = G_MININT64;
  const gchar *entry;
  GFile       *file     = NULL;

  while (dir != NULL && (entry = g_dir_read_name (dir)) != NULL)
    {
      gchar     *path;
      GStatBuf   st;

      if (! g_str_has_suffix (entry, ".safetensors"))
        continue;
      path = g_build_filename (dir_path, entry, NULL);
      if (g_stat (path, &st) == 0 && (gint64) st.st_mtime >= best_time)
        {
          best_time = st.st_mtime;
          g_free (best);
          best = g_steal_pointer (&path);
        }
      g_free (path);
    }
  if (dir != NULL)
    g_dir_close (dir);

  if (best != NULL)
    file = g_file_new_for_path (best);
  else
    g_set_error (error, GIMP_PLUG_IN_ERROR, 0,
                 "No model file given and none in %s: train one with "
                 "Filters > Loom > Train Segmentation", dir_path);
  g_free (best);
  g_free (dir_path);

  return file;
}

gchar *
loom_plugin_model_name (GFile *file)
{
  gchar *base = g_file_get_basename (file);

  if (g_str_has_suffix (base, ".safetensors"))
    base[strlen (base) - strlen (".safetensors")] = '\0';

  return base;
}

gboolean
loom_plugin_check_model_name (gchar   *name,
                              GError **error)
{
  if (name == NULL || name[0] == '\0' || name[0] == '.' ||
      strpbrk (name, "/\\") != NULL)
    {
      g_set_error (error, GIMP_PLUG_IN_ERROR, 0,
                   "Model name '%s': give a plain name (no folders, not empty, "
                   "not starting with a dot)", name != NULL ? name : "");
      return FALSE;
    }
  if (g_str_has_suffix (name, ".safetensors"))
    name[strlen (name) - strlen (".safetensors")] = '\0';

  return TRUE;
}
