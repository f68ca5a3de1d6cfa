#include <errno.h>
#include <setjmp.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <glib/gstdio.h>
#include <jpeglib.h>
#include <jerror.h>

#include <loom/loom-image.h>
#include "loom-image-file.h"

/* What Loom holds of one pixel of an image it reads, at most: GEGL's
 * buffer of the file (up to 16 bytes), its R'G'B'A floats on the way to
 * planes (16), the planes and alpha (16), and a command's outputs beside
 * them (segment: classes, confidence, the colours written, 16). */
#define BYTES_PER_PIXEL 64

static const char *
format_name (const Babl *format)
{
  return babl_get_name (babl_format_get_model (format));
}

/* ---- the pixel limit ------------------------------------------------- */

static guint64
physical_memory (void)
{
  long pages = sysconf (_SC_PHYS_PAGES), page = sysconf (_SC_PAGESIZE);

  return pages > 0 && page > 0 ? (guint64) pages * (guint64) page : (guint64) 4 << 30;
}

gboolean
loom_image_file_max_pixels (guint64 *max, GError **error)
{
  const char *env = g_getenv ("LOOM_MAX_PIXELS");
  g_autoptr (GError) local = NULL;

  if (env == NULL || env[0] == 0)
    {
      /* GEGL's rectangles hold sides and areas in ints. */
      *max = MIN (physical_memory () / BYTES_PER_PIXEL, (guint64) G_MAXINT);
      return TRUE;
    }
  if (!g_ascii_string_to_unsigned (env, 10, 1, G_MAXINT, max, &local))
    {
      g_set_error (error, LOOM_ERROR, LOOM_ERROR_INVALID_ARGUMENT,
                   "LOOM_MAX_PIXELS=%s: not a number of pixels from 1 to %d", env, G_MAXINT);
      return FALSE;
    }
  return TRUE;
}

static gboolean
check_size (const char *path, int width, int height, GError **error)
{
  guint64 max, n = (guint64) width * (guint64) height;

  if (!loom_image_file_max_pixels (&max, error))
    return FALSE;
  if (n <= max)
    return TRUE;
  if (g_getenv ("LOOM_MAX_PIXELS") != NULL && g_getenv ("LOOM_MAX_PIXELS")[0] != 0)
    g_set_error (error, LOOM_ERROR, LOOM_ERROR_BAD_FILE,
                 "%s: %d×%d is %" G_GUINT64_FORMAT " pixels, more than LOOM_MAX_PIXELS=%"
                 G_GUINT64_FORMAT, path, width, height, n, max);
  else
    {
      g_autofree char *need = g_format_size_full (n * BYTES_PER_PIXEL, G_FORMAT_SIZE_IEC_UNITS);
      g_autofree char *have = g_format_size_full (physical_memory (), G_FORMAT_SIZE_IEC_UNITS);

      g_set_error (error, LOOM_ERROR, LOOM_ERROR_BAD_FILE,
                   "%s: %d×%d pixels would need about %s of memory, this machine has %s "
                   "(LOOM_MAX_PIXELS=N sets the largest image read)", path, width, height,
                   need, have);
    }
  return FALSE;
}

/* ---- what GEGL and the codecs say while a file loads ----------------- */

/* gegl:load makes no error of a file it cannot decode: the codecs' errors
 * (libpng's "bad adaptive filter value", a loader's "failed to open file")
 * come as GLib warnings and g_printerr() lines, and the buffer holds
 * whatever was decoded before.  While a file loads they are caught here:
 * any of them fails the load, with its text in the error, and they reach
 * stderr only when verbose. */
static gboolean verbose;
static GMutex capture_lock;
static GString *captured;

void
loom_image_file_set_verbose (gboolean on)
{
  verbose = on;
}

/* Warnings that change nothing of the pixels read. */
static gboolean
is_benign (const char *message)
{
  /* A colour profile babl cannot use: the pixels are taken as sRGB, as
   * GIMP does. */
  return strstr (message, "babl space from icc") != NULL;
}

static void
capture (const char *text)
{
  g_autofree char *line = g_strstrip (g_strdup (text));

  if (line[0] == 0 || is_benign (line))
    return;
  if (g_str_has_prefix (line, "LIBPNG ERROR: "))
    {
      char *tail = g_strconcat ("libpng: ", line + strlen ("LIBPNG ERROR: "), NULL);

      g_free (line);
      line = tail;
    }
  g_mutex_lock (&capture_lock);
  if (captured != NULL && captured->len == 0)
    g_string_append (captured, line);
  g_mutex_unlock (&capture_lock);
}

static GLogFunc previous_log;
static GPrintFunc previous_printerr;
static int saved_stderr = -1;
static FILE *stderr_text;

static void
on_log (const char *domain, GLogLevelFlags level, const char *message, gpointer data)
{
  if (level & (G_LOG_LEVEL_ERROR | G_LOG_LEVEL_CRITICAL | G_LOG_LEVEL_WARNING))
    capture (message);
  if (verbose)
    previous_log (domain, level, message, NULL);
}

static void
on_printerr (const char *text)
{
  capture (text);
  if (verbose)
    {
      if (previous_printerr != NULL)
        previous_printerr (text);
      else
        fputs (text, stderr);
    }
}

static void
capture_begin (void)
{
  g_mutex_lock (&capture_lock);
  captured = g_string_new (NULL);
  g_mutex_unlock (&capture_lock);
  previous_log = g_log_set_default_handler (on_log, NULL);
  previous_printerr = g_set_printerr_handler (on_printerr);
  /* libpng's default error handler (after GEGL's own) writes to stderr
   * itself: for the load, stderr is a file, read afterwards. */
  fflush (stderr);
  stderr_text = tmpfile ();
  saved_stderr = stderr_text != NULL ? dup (STDERR_FILENO) : -1;
  if (saved_stderr >= 0)
    dup2 (fileno (stderr_text), STDERR_FILENO);
  else
    g_clear_pointer (&stderr_text, fclose);
}

/* What was caught (NULL: nothing), the handlers as they were. */
static char *
capture_end (void)
{
  char *text;

  if (stderr_text != NULL)
    {
      char line[512];

      fflush (stderr);
      dup2 (saved_stderr, STDERR_FILENO);
      close (saved_stderr);
      rewind (stderr_text);
      while (fgets (line, sizeof line, stderr_text) != NULL)
        {
          capture (line);
          if (verbose)
            fputs (line, stderr);
        }
      g_clear_pointer (&stderr_text, fclose);
    }
  g_log_set_default_handler (previous_log, NULL);
  g_set_printerr_handler (previous_printerr);
  g_mutex_lock (&capture_lock);
  text = g_string_free (g_steal_pointer (&captured), FALSE);
  g_mutex_unlock (&capture_lock);
  if (text[0] == 0)
    g_clear_pointer (&text, g_free);
  return text;
}

/* ---- JPEG: the whole file there ------------------------------------- */

/* gegl:jpg-load reads through a source that never reports the end of the
 * file, so a JPEG cut short decodes, silently, into grey rows.  libjpeg
 * reads its coefficients here (no pixels made) from a stdio source, which
 * does say when the data ends before the image does. */
typedef struct
{
  struct jpeg_error_mgr mgr;
  jmp_buf               jump;
  gboolean              cut;
  char                  message[JMSG_LENGTH_MAX];
} JpegCheck;

static void
jpeg_check_exit (j_common_ptr info)
{
  JpegCheck *check = (JpegCheck *) info->err;

  info->err->format_message (info, check->message);
  longjmp (check->jump, 1);
}

static void
jpeg_check_message (j_common_ptr info, int level)
{
  JpegCheck *check = (JpegCheck *) info->err;

  /* Warnings of data missing; others (extra bytes between markers, say)
   * are common in files every viewer shows. */
  if (level < 0 && !check->cut
      && (info->err->msg_code == JWRN_JPEG_EOF || info->err->msg_code == JWRN_HIT_MARKER))
    {
      check->cut = TRUE;
      info->err->format_message (info, check->message);
    }
}

static gboolean
is_jpeg (const char *path)
{
  guint8 magic[3] = { 0 };
  FILE *f = g_fopen (path, "rb");
  gboolean yes;

  if (f == NULL)
    return FALSE;
  yes = fread (magic, 1, 3, f) == 3 && magic[0] == 0xff && magic[1] == 0xd8 && magic[2] == 0xff;
  fclose (f);
  return yes;
}

static gboolean
check_jpeg (const char *path, GError **error)
{
  struct jpeg_decompress_struct info;
  JpegCheck check;
  FILE *f;

  if (!is_jpeg (path) || (f = g_fopen (path, "rb")) == NULL)
    return TRUE;
  memset (&check, 0, sizeof check);
  info.err = jpeg_std_error (&check.mgr);
  check.mgr.error_exit = jpeg_check_exit;
  check.mgr.emit_message = jpeg_check_message;
  jpeg_create_decompress (&info);
  if (setjmp (check.jump) == 0)
    {
      jpeg_stdio_src (&info, f);
      jpeg_read_header (&info, TRUE);
      jpeg_read_coefficients (&info);
      jpeg_finish_decompress (&info);
    }
  else
    check.cut = TRUE;
  jpeg_destroy_decompress (&info);
  fclose (f);
  if (check.cut)
    {
      g_set_error (error, LOOM_ERROR, LOOM_ERROR_BAD_FILE,
                   "%s: a damaged or cut-short image (%s)", path, check.message);
      return FALSE;
    }
  return TRUE;
}

/* ---- reading --------------------------------------------------------- */

gboolean
loom_image_file_load (LoomImageFile *file, const char *path, GError **error)
{
  g_autoptr (GeglNode) graph = NULL;
  g_autofree char *problem = NULL;
  GeglNode *load, *sink;
  GeglBuffer *buffer = NULL;
  GeglRectangle box;
  GStatBuf st;
  const char *model;

  memset (file, 0, sizeof *file);
  if (!g_file_test (path, G_FILE_TEST_EXISTS))
    {
      g_set_error (error, G_FILE_ERROR, G_FILE_ERROR_NOENT, "%s: no such file", path);
      return FALSE;
    }
  if (g_access (path, R_OK) != 0 || g_file_test (path, G_FILE_TEST_IS_DIR))
    {
      g_set_error (error, G_FILE_ERROR, G_FILE_ERROR_ACCES, "%s: cannot be read (%s)", path,
                   g_file_test (path, G_FILE_TEST_IS_DIR) ? "a folder" : g_strerror (errno));
      return FALSE;
    }
  if (g_stat (path, &st) == 0 && st.st_size == 0)
    {
      g_set_error (error, LOOM_ERROR, LOOM_ERROR_BAD_FILE, "%s: an empty file", path);
      return FALSE;
    }
  graph = gegl_node_new ();
  capture_begin ();
  load = gegl_node_new_child (graph, "operation", "gegl:load", "path", path, NULL);
  /* The loader's bounding box comes from the file's header: the size is
   * known, and checked, before a pixel is decoded or a byte allocated. */
  box = gegl_node_get_bounding_box (load);
  if (box.width > 0 && box.height > 0 && !check_size (path, box.width, box.height, error))
    {
      g_free (capture_end ());
      return FALSE;
    }
  if (box.width > 0 && box.height > 0)
    {
      sink = gegl_node_new_child (graph, "operation", "gegl:buffer-sink", "buffer", &buffer, NULL);
      gegl_node_link (load, sink);
      gegl_node_process (sink);
    }
  problem = capture_end ();
  /* Nothing, or a placeholder from a loader that is not an image loader. */
  if (buffer == NULL || gegl_buffer_get_width (buffer) <= 0 || gegl_buffer_get_height (buffer) <= 0
      || (problem != NULL && g_str_has_prefix (problem, "No loader for")))
    {
      g_clear_object (&buffer);
      if (problem != NULL)
        g_set_error (error, LOOM_ERROR, LOOM_ERROR_BAD_FILE,
                     "%s: not an image that GEGL can read (%s)", path, problem);
      else
        g_set_error (error, LOOM_ERROR, LOOM_ERROR_BAD_FILE,
                     "%s: not an image that GEGL can read", path);
      return FALSE;
    }
  if (problem != NULL)
    {
      g_clear_object (&buffer);
      g_set_error (error, LOOM_ERROR, LOOM_ERROR_BAD_FILE,
                   "%s: a damaged or cut-short image (%s)", path, problem);
      return FALSE;
    }
  if (!check_jpeg (path, error))
    {
      g_clear_object (&buffer);
      return FALSE;
    }
  model = format_name (gegl_buffer_get_format (buffer));
  file->path = g_strdup (path);
  file->buffer = buffer;
  file->width = gegl_buffer_get_width (buffer);
  file->height = gegl_buffer_get_height (buffer);
  file->grey = model[0] == 'Y';
  file->alpha = babl_format_has_alpha (gegl_buffer_get_format (buffer));
  return TRUE;
}

void
loom_image_file_clear (LoomImageFile *file)
{
  g_clear_pointer (&file->path, g_free);
  g_clear_object (&file->buffer);
}

static void
get_pixels (const LoomImageFile *file, const char *format, gpointer pixels)
{
  const GeglRectangle *extent = gegl_buffer_get_extent (file->buffer);

  gegl_buffer_get (file->buffer, extent, 1.0, babl_format (format), pixels,
                   GEGL_AUTO_ROWSTRIDE, GEGL_ABYSS_NONE);
}

float *
loom_image_file_planes (const LoomImageFile *file, float **alpha)
{
  gsize n = (gsize) file->width * file->height;
  g_autofree float *rgba = g_new (float, 4 * n);
  float *planes = g_new (float, 3 * n);

  get_pixels (file, "R'G'B'A float", rgba);
  if (alpha != NULL)
    *alpha = g_new (float, n);
  loom_image_from_rgbaf (rgba, file->width, file->height, 4 * sizeof (float) * file->width,
                         planes, alpha != NULL ? *alpha : NULL);
  return planes;
}

float *
loom_image_file_square_planes (const LoomImageFile *file, guint side)
{
  guint s = MIN (file->width, file->height);
  GeglRectangle out = { 0, 0, (int) side, (int) side };
  g_autoptr (GeglNode) graph = gegl_node_new ();
  g_autofree float *rgba = g_new (float, 4 * (gsize) side * side);
  float *planes = g_new (float, 3 * (gsize) side * side);
  GeglNode *source, *crop, *move, *scale;

  source = gegl_node_new_child (graph, "operation", "gegl:buffer-source", "buffer",
                                file->buffer, NULL);
  crop = gegl_node_new_child (graph, "operation", "gegl:crop",
                              "x", (double) ((file->width - s) / 2),
                              "y", (double) ((file->height - s) / 2),
                              "width", (double) s, "height", (double) s, NULL);
  move = gegl_node_new_child (graph, "operation", "gegl:translate",
                              "x", -(double) ((file->width - s) / 2),
                              "y", -(double) ((file->height - s) / 2), NULL);
  scale = gegl_node_new_child (graph, "operation", "gegl:scale-size",
                               "x", (double) side, "y", (double) side,
                               "sampler", GEGL_SAMPLER_LINEAR, NULL);
  gegl_node_link_many (source, crop, move, scale, NULL);
  gegl_node_blit (scale, 1.0, &out, babl_format ("R'G'B'A float"), rgba, GEGL_AUTO_ROWSTRIDE,
                  GEGL_BLIT_DEFAULT);
  loom_image_from_rgbaf (rgba, side, side, 4 * sizeof (float) * side, planes, NULL);
  return planes;
}

guint8 *
loom_image_file_rgba8 (const LoomImageFile *file)
{
  guint8 *rgba = g_new (guint8, 4 * (gsize) file->width * file->height);

  get_pixels (file, "R'G'B'A u8", rgba);
  return rgba;
}

float *
loom_image_file_labels (const LoomImageFile *file, GArray *colors, guint max_classes,
                        GError **error)
{
  g_autofree guint8 *rgba = loom_image_file_rgba8 (file);
  g_autofree float *labels = g_new (float, (gsize) file->width * file->height);

  if (!loom_labels_from_rgba8 (rgba, file->width, file->height, 4 * (gsize) file->width,
                               colors, max_classes, labels, error))
    {
      g_prefix_error (error, "%s: ", file->path);
      return NULL;
    }
  return g_steal_pointer (&labels);
}

gboolean
loom_image_file_is_image_name (const char *name)
{
  static const char *const exts[] = { ".png", ".jpg", ".jpeg", ".tif", ".tiff", ".webp",
                                       ".gif", ".bmp", ".ppm", ".pgm", ".exr", ".hdr" };
  const char *dot = strrchr (name, '.');

  for (guint i = 0; dot != NULL && name[0] != '.' && i < G_N_ELEMENTS (exts); i++)
    if (g_ascii_strcasecmp (dot, exts[i]) == 0)
      return TRUE;
  return FALSE;
}

GPtrArray *
loom_image_file_list_folder (const char *dir, GError **error)
{
  g_autoptr (GDir) folder = g_dir_open (dir, 0, error);
  g_autoptr (GPtrArray) found = NULL;
  const char *name;

  if (folder == NULL)
    return NULL;
  found = g_ptr_array_new_with_free_func (g_free);
  while ((name = g_dir_read_name (folder)) != NULL)
    if (loom_image_file_is_image_name (name))
      g_ptr_array_add (found, g_build_filename (dir, name, NULL));
  if (found->len == 0)
    {
      g_set_error (error, G_FILE_ERROR, G_FILE_ERROR_NOENT, "%s: no image files in this folder",
                   dir);
      return NULL;
    }
  g_ptr_array_sort_values (found, (GCompareFunc) g_strcmp0);
  return g_steal_pointer (&found);
}

/* ---- writing ---------------------------------------------------------- */

char *
loom_image_file_base_name (const char *path)
{
  char *name = g_path_get_basename (path);
  char *dot = strrchr (name, '.');

  if (dot != NULL && dot != name)
    *dot = 0;
  return name;
}

gboolean
loom_image_file_copy_stems (const char *dir, const char *name, gboolean labels,
                            char **image_stem, char **label_stem, GError **error)
{
  g_autofree char *stem = labels ? g_build_filename (dir, "images", name, NULL)
                                 : g_build_filename (dir, name, NULL);
  g_autofree char *lstem = labels ? g_build_filename (dir, "labels", name, NULL) : NULL;

  for (guint i = 0; i < (labels ? 2 : 1); i++)
    {
      g_autofree char *folder = g_path_get_dirname (i == 0 ? stem : lstem);

      if (g_mkdir_with_parents (folder, 0777) != 0 || g_access (folder, W_OK) != 0)
        {
          int saved = errno;

          g_set_error (error, G_FILE_ERROR, g_file_error_from_errno (saved),
                       "%s: cannot be written to (%s)", folder, g_strerror (saved));
          return FALSE;
        }
    }
  *image_stem = g_steal_pointer (&stem);
  *label_stem = g_steal_pointer (&lstem);
  return TRUE;
}

char *
loom_image_file_copy_path (const char *stem, guint i)
{
  g_autofree char *path = g_strconcat (stem, ".png", NULL);

  return loom_image_file_numbered_path (path, i);
}

char *
loom_image_file_numbered_path (const char *path, guint i)
{
  const char *dot = strrchr (path, '.');
  const char *slash = strrchr (path, '/');

  if (dot == NULL || (slash != NULL && dot < slash))
    dot = path + strlen (path);
  return g_strdup_printf ("%.*s-%04u%s", (int) (dot - path), path, i + 1, dot);
}

static const char *
saver_for (const char *path)
{
  static const struct { const char *ext, *op; } savers[] = {
    { ".png", "gegl:png-save" }, { ".jpg", "gegl:jpg-save" }, { ".jpeg", "gegl:jpg-save" },
    { ".tif", "gegl:tiff-save" }, { ".tiff", "gegl:tiff-save" }, { ".webp", "gegl:webp-save" },
  };
  const char *dot = strrchr (path, '.');

  for (guint i = 0; dot != NULL && i < G_N_ELEMENTS (savers); i++)
    if (g_ascii_strcasecmp (dot, savers[i].ext) == 0)
      return gegl_has_operation (savers[i].op) ? savers[i].op : NULL;
  return NULL;
}

gboolean
loom_image_file_check_writable (const char *path, GError **error)
{
  g_autofree char *dir = g_path_get_dirname (path);

  if (saver_for (path) == NULL)
    {
      g_set_error (error, G_FILE_ERROR, G_FILE_ERROR_INVAL,
                   "%s: cannot write this type of image (use .png, .jpg, .tif or .webp)", path);
      return FALSE;
    }
  if (!g_file_test (dir, G_FILE_TEST_IS_DIR))
    {
      g_set_error (error, G_FILE_ERROR, G_FILE_ERROR_NOENT, "%s: no such folder '%s'", path, dir);
      return FALSE;
    }
  return TRUE;
}

static gboolean
save_buffer (const char *path, GeglBuffer *buffer, GError **error)
{
  g_autofree char *dir = g_path_get_dirname (path);
  g_autofree char *base = g_path_get_basename (path);
  g_autofree char *tmp = NULL;
  g_autoptr (GeglNode) graph = NULL;
  GeglNode *source, *save;
  GStatBuf st;

  if (!loom_image_file_check_writable (path, error))
    return FALSE;
  /* The saver goes by the extension, so the temporary name ends like PATH. */
  tmp = g_strdup_printf ("%s/.%s.%d.tmp%s", dir, base, (int) getpid (), strrchr (path, '.'));
  graph = gegl_node_new ();
  source = gegl_node_new_child (graph, "operation", "gegl:buffer-source", "buffer", buffer, NULL);
  save = gegl_node_new_child (graph, "operation", saver_for (path), "path", tmp, NULL);
  /* PNG and TIFF default to 16 bits a channel; these pixels have 8. */
  if (gegl_operation_find_property (saver_for (path), "bitdepth") != NULL)
    gegl_node_set (save, "bitdepth", 8, NULL);
  gegl_node_link (source, save);
  gegl_node_process (save);
  if (g_stat (tmp, &st) != 0 || st.st_size == 0)
    {
      g_unlink (tmp);
      g_set_error (error, G_FILE_ERROR, G_FILE_ERROR_FAILED, "%s: could not be written", path);
      return FALSE;
    }
  if (g_rename (tmp, path) != 0)
    {
      int saved = errno;

      g_unlink (tmp);
      g_set_error (error, G_FILE_ERROR, g_file_error_from_errno (saved), "%s: %s", path,
                   g_strerror (saved));
      return FALSE;
    }
  return TRUE;
}

static gboolean
save_pixels (const char *path, const char *format, gconstpointer pixels, guint width,
             guint height, GError **error)
{
  GeglRectangle rect = { 0, 0, (int) width, (int) height };
  g_autoptr (GeglBuffer) buffer = gegl_buffer_new (&rect, babl_format (format));

  gegl_buffer_set (buffer, &rect, 0, babl_format (format), pixels, GEGL_AUTO_ROWSTRIDE);
  return save_buffer (path, buffer, error);
}

gboolean
loom_image_file_save_rgba8 (const char *path, const guint8 *rgba, guint width, guint height,
                            gboolean alpha, GError **error)
{
  g_autofree guint8 *rgb = NULL;

  if (alpha)
    return save_pixels (path, "R'G'B'A u8", rgba, width, height, error);
  rgb = g_new (guint8, 3 * (gsize) width * height);
  for (gsize i = 0; i < (gsize) width * height; i++)
    memcpy (rgb + 3 * i, rgba + 4 * i, 3);
  return save_pixels (path, "R'G'B' u8", rgb, width, height, error);
}

gboolean
loom_image_file_save_grey8 (const char *path, const guint8 *grey, guint width, guint height,
                            GError **error)
{
  return save_pixels (path, "Y' u8", grey, width, height, error);
}

gboolean
loom_image_file_save_grey_alpha8 (const char *path, const guint8 *grey_alpha, guint width,
                                  guint height, GError **error)
{
  return save_pixels (path, "Y'A u8", grey_alpha, width, height, error);
}
