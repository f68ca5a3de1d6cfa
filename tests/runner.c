#include <stdio.h>

#include "runner.h"
#include "vulkan/vk-internal.h"

LoomBuffer *
runner_load (LoomDevice *device, const char *path, gsize length, GError **error)
{
  g_autofree char *data = NULL;
  gsize len;
  LoomBuffer *buf;

  if (!g_file_get_contents (path, &data, &len, error))
    return NULL;
  if (len != length * sizeof (float))
    {
      g_set_error (error, LOOM_ERROR, LOOM_ERROR_INVALID_ARGUMENT,
                   "%s holds %" G_GSIZE_FORMAT " bytes, not %" G_GSIZE_FORMAT, path, len,
                   length * sizeof (float));
      return NULL;
    }
  buf = loom_buffer_new (device, length, error);
  if (buf != NULL && !loom_buffer_write (buf, 0, length, (const float *) data, error))
    g_clear_pointer (&buf, loom_buffer_free);
  return buf;
}

int
runner_main (int argc, char **argv, const char *name, RunnerCase run_case)
{
  g_autoptr (JsonParser) parser = json_parser_new ();
  g_autoptr (GError) error = NULL;
  g_autofree char *in_dir = NULL;
  LoomDevice *device;
  JsonArray *cases;
  int status = 0;

  if (argc != 4)
    {
      fprintf (stderr, "usage: %s MANIFEST OUTDIR DEVICE\n", name);
      return 2;
    }
  if (!json_parser_load_from_file (parser, argv[1], &error)
      || (device = loom_device_open (argv[3], &error)) == NULL)
    {
      fprintf (stderr, "%s: %s\n", name, error->message);
      return 1;
    }
  in_dir = g_path_get_dirname (argv[1]);
  cases = json_node_get_array (json_parser_get_root (parser));
  for (guint i = 0; i < json_array_get_length (cases); i++)
    if (!run_case (device, in_dir, argv[2], json_array_get_object_element (cases, i), &error))
      {
        fprintf (stderr, "%s: case %u: %s\n", name, i, error->message);
        g_clear_error (&error);
        status = 1;
      }
  loom_device_free (device);
  if (loom_vk_validation_message_count () > 0)
    {
      fprintf (stderr, "%s: the Vulkan validation layer reported %u messages\n", name,
               loom_vk_validation_message_count ());
      status = 1;
    }
  return status;
}
