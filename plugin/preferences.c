/* preferences.c -- plug-in-loom-preferences: which device Loom's
 * procedures run on, kept in <gimp_directory ()>/loom/loomrc, and the
 * device a procedure opens. */

#include <libgimp/gimpui.h>

#include "loom-plugin.h"

#define GROUP "loom"
#define KEY   "device"

static GimpValueArray *preferences_run (GimpProcedure       *procedure,
                                        GimpProcedureConfig *config,
                                        gpointer             run_data);

GimpProcedure *
loom_preferences_procedure_new (GimpPlugIn  *plug_in,
                                const gchar *name)
{
  GimpProcedure *procedure;

  procedure = gimp_procedure_new (plug_in, name, GIMP_PDB_PROC_TYPE_PLUGIN,
                                  preferences_run, NULL, NULL);

  gimp_procedure_set_menu_label (procedure, "_Preferences...");
  gimp_procedure_add_menu_path (procedure, LOOM_PLUGIN_MENU);
  gimp_procedure_set_documentation (procedure,
                                    "Choose the device Loom's procedures run on",
                                    "Saves the device in <GIMP folder>/loom/loomrc: "
                                    "'auto' (the best GPU, else the CPU), 'cpu', 'vulkan' "
                                    "(the best Vulkan device), a Vulkan device number, or "
                                    "part of a device's name.  The environment variable "
                                    "LOOM_DEVICE, when set, wins.  Returns the name of the "
                                    "device the choice opens.",
                                    name);
  gimp_procedure_set_attribution (procedure, "Loom", "Loom authors", "2026");

  gimp_procedure_add_enum_argument (procedure, "run-mode", "Run mode", "The run mode",
                                    GIMP_TYPE_RUN_MODE, GIMP_RUN_INTERACTIVE,
                                    G_PARAM_READWRITE);
  gimp_procedure_add_string_argument (procedure, "device",
                                      "_Device",
                                      "auto, cpu, vulkan, a Vulkan device number or part of "
                                      "its name",
                                      "auto", G_PARAM_READWRITE);

  gimp_procedure_add_string_return_value (procedure, "device-name",
                                          "Device name", "The device the choice opens",
                                          NULL, G_PARAM_READWRITE);

  return procedure;
}

static gchar *
loomrc_path (void)
{
  return g_build_filename (gimp_directory (), "loom", "loomrc", NULL);
}

gchar *
loom_plugin_preferred_device (void)
{
  gchar    *path = loomrc_path ();
  GKeyFile *keys = g_key_file_new ();
  gchar    *spec = NULL;

  if (g_key_file_load_from_file (keys, path, G_KEY_FILE_NONE, NULL))
    spec = g_key_file_get_string (keys, GROUP, KEY, NULL);
  g_key_file_unref (keys);
  g_free (path);

  return spec;
}

LoomDevice *
loom_plugin_open_device (GError **error)
{
  const gchar *env       = loom_device_env_spec ();
  gchar       *preferred = loom_plugin_preferred_device ();
  LoomDevice  *device;

  if (env != NULL)
    {
      device = loom_device_open (env, error);
      if (device == NULL)
        g_prefix_error (error, "LOOM_DEVICE=%s: ", env);
    }
  else if (preferred != NULL && preferred[0] != '\0')
    {
      device = loom_device_open (preferred, error);
      if (device == NULL)
        g_prefix_error (error, "The device '%s' of Filters > Loom > Preferences: ", preferred);
    }
  else
    device = loom_device_open ("auto", error);
  g_free (preferred);

  return device;
}

static gboolean
save_preferred_device (const gchar  *spec,
                       GError      **error)
{
  gchar    *path = loomrc_path ();
  gchar    *dir  = g_path_get_dirname (path);
  GKeyFile *keys = g_key_file_new ();
  gboolean  ok;

  /* other keys a later version writes survive */
  g_key_file_load_from_file (keys, path, G_KEY_FILE_KEEP_COMMENTS, NULL);
  g_key_file_set_string (keys, GROUP, KEY, spec);
  ok = g_mkdir_with_parents (dir, 0755) == 0 &&
       g_key_file_save_to_file (keys, path, error);   /* g_file_set_contents: atomic */
  if (! ok && error != NULL && *error == NULL)
    g_set_error (error, GIMP_PLUG_IN_ERROR, 0, "Cannot make the folder %s", dir);
  g_key_file_unref (keys);
  g_free (dir);
  g_free (path);

  return ok;
}

/* "Devices here: 0: NVIDIA …; CPU (2 threads, …)" for the dialog. */
static gchar *
devices_text (void)
{
  GPtrArray *infos = loom_list_devices ();
  GString   *text  = g_string_new ("Devices on this machine:");

  for (guint i = 0; i < infos->len; i++)
    {
      const LoomDeviceInfo *info = infos->pdata[i];

      if (info->backend == LOOM_BACKEND_VULKAN)
        g_string_append_printf (text, "\n  %d: %s (Vulkan, %s)", info->index, info->name,
                                info->type);
      else
        g_string_append_printf (text, "\n  cpu: %s", info->name);
    }
  g_string_append (text, "\nauto: the best GPU, else the CPU.  LOOM_DEVICE, when set, wins.");
  g_ptr_array_unref (infos);

  return g_string_free (text, FALSE);
}

static GimpValueArray *
preferences_run (GimpProcedure       *procedure,
                 GimpProcedureConfig *config,
                 gpointer             run_data)
{
  GimpRunMode     run_mode;
  gchar          *spec   = NULL;
  LoomDevice     *device = NULL;
  GimpValueArray *ret;
  GError         *error  = NULL;

  g_object_get (config, "run-mode", &run_mode, NULL);

  if (run_mode == GIMP_RUN_INTERACTIVE)
    {
      gchar *saved = loom_plugin_preferred_device ();
      gchar *note  = devices_text ();
      gboolean run;

      /* the dialog starts from what is saved, not from GIMP's last values */
      if (saved != NULL)
        g_object_set (config, "device", saved, NULL);
      run = loom_plugin_dialog_run_full (procedure, config, "Loom: Preferences", note);
      g_free (saved);
      g_free (note);
      if (! run)
        return gimp_procedure_new_return_values (procedure, GIMP_PDB_CANCEL, NULL);
    }

  g_object_get (config, "device", &spec, NULL);
  if (spec == NULL || g_strstrip (spec)[0] == '\0')
    {
      g_free (spec);
      spec = g_strdup ("auto");
    }

  /* only a device that opens is saved */
  device = loom_device_open (spec, &error);
  if (device == NULL)
    {
      g_prefix_error (&error, "Device '%s': ", spec);
      ret = gimp_procedure_new_return_values (procedure, GIMP_PDB_EXECUTION_ERROR, error);
    }
  else if (! save_preferred_device (spec, &error))
    ret = gimp_procedure_new_return_values (procedure, GIMP_PDB_EXECUTION_ERROR, error);
  else
    {
      ret = gimp_procedure_new_return_values (procedure, GIMP_PDB_SUCCESS, NULL);
      GIMP_VALUES_SET_STRING (ret, 1, loom_device_get_info (device)->name);
    }

  if (device != NULL)
    loom_device_free (device);
  g_free (spec);

  return ret;
}
