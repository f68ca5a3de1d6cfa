/* models-folder.c -- where models live: the models and checkpoints
 * folders in GIMP's, a model's name and files, the bundled data. */

#include <errno.h>
#include <string.h>

#include <glib/gstdio.h>
#include <libgimp/gimp.h>

#include "loom-plugin.h"
#include <loom/loom-gan.h>

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

/* The shipped generator models: NAME.safetensors in any of the data
 * folders' weights/ (see loom_data_paths) whose metadata is a
 * generator's, sorted by name, each once. */
static GPtrArray *
shipped_generators (void)
{
  gchar    **dirs  = loom_data_paths ("weights");
  GPtrArray *names = g_ptr_array_new_with_free_func (g_free);

  for (guint d = 0; dirs[d] != NULL; d++)
    {
      GDir        *dir = g_dir_open (dirs[d], 0, NULL);
      const gchar *entry;

      while (dir != NULL && (entry = g_dir_read_name (dir)) != NULL)
        {
          gchar        *name, *path;
          LoomWeights  *weights;
          LoomGanConfig gan;

          if (! g_str_has_suffix (entry, ".safetensors"))
            continue;
          name = g_strndup (entry, strlen (entry) - strlen (".safetensors"));
          if (g_ptr_array_find_with_equal_func (names, name, g_str_equal, NULL))
            {
              g_free (name);
              continue;
            }
          path    = g_build_filename (dirs[d], entry, NULL);
          weights = loom_weights_load (path, NULL);
          if (weights != NULL && loom_gan_config_from_weights (weights, &gan, NULL))
            g_ptr_array_add (names, g_steal_pointer (&name));
          if (weights != NULL)
            loom_weights_free (weights);
          g_free (name);
          g_free (path);
        }
      if (dir != NULL)
        g_dir_close (dir);
    }
  g_strfreev (dirs);
  g_ptr_array_sort_values (names, (GCompareFunc) g_strcmp0);

  return names;
}

GimpChoice *
loom_plugin_shipped_generator_choice (const gchar *none_label)
{
  GimpChoice *choice = gimp_choice_new ();
  GPtrArray  *names  = shipped_generators ();

  gimp_choice_add (choice, LOOM_PLUGIN_NO_SHIPPED_MODEL, 0, none_label, NULL);
  for (guint i = 0; i < names->len; i++)
    gimp_choice_add (choice, names->pdata[i], (gint) i + 1, names->pdata[i], NULL);
  g_ptr_array_unref (names);

  return choice;
}

gchar *
loom_plugin_shipped_model_path (const gchar *name)
{
  gchar *file = g_strconcat ("weights/", name, ".safetensors", NULL);
  gchar *path = loom_data_path (file);

  g_free (file);

  return path;
}
