/* Image files for the command line and the plug-in, read and written with
 * GEGL: whatever the installed GEGL loads (PNG, JPEG, TIFF, WebP, …) comes
 * in as sRGB-encoded values with straight alpha, the numbers GIMP hands to
 * the plug-in, so a model sees the same pixels from either. */
#pragma once

#include <gegl.h>

#include <loom/loom.h>

G_BEGIN_DECLS

struct _LoomImageFile
{
  char       *path;
  GeglBuffer *buffer;
  guint       width, height;
  gboolean    grey;             /* the file holds one colour channel */
  gboolean    alpha;            /* … and an alpha channel */
};
typedef struct _LoomImageFile LoomImageFile;

/* Reads PATH.  An error names it: missing, unreadable, empty, not an
 * image, larger than loom_image_file_max_pixels() (checked from the
 * header, before any pixel is decoded), or damaged or cut short (what the
 * codec said while decoding, or for a JPEG the data ending early): never
 * half an image. */
gboolean loom_image_file_load   (LoomImageFile *file, const char *path, GError **error);
/* The most pixels an image may have: $LOOM_MAX_PIXELS, else what the
 * machine's memory holds at the bytes Loom keeps a pixel (64); FALSE with
 * an error for a LOOM_MAX_PIXELS that is not a number. */
gboolean loom_image_file_max_pixels (guint64 *max, GError **error);
/* Whether GEGL's and the codecs' own messages while a file loads go on to
 * stderr too (default: only the load's error says what they said). */
void     loom_image_file_set_verbose (gboolean on);
void     loom_image_file_clear  (LoomImageFile *file);

/* Its pixels as R, G, B planes (3 × H × W floats in [0, 1]); ALPHA, if not
 * NULL, gets the alpha plane (all 1 for a file without). */
float   *loom_image_file_planes (const LoomImageFile *file, float **alpha);
/* Its largest centred square, scaled to SIDE × SIDE, as 3 planes. */
float   *loom_image_file_square_planes (const LoomImageFile *file, guint side);
/* Its pixels as R'G'B'A u8, exactly the file's colours for an 8-bit file. */
guint8  *loom_image_file_rgba8  (const LoomImageFile *file);

/* Its pixels as class numbers (W × H floats, −1 where unlabelled: alpha
 * below 50 %), colours matched against COLORS (LoomColor) and new ones
 * appended; more than MAX_CLASSES colours is an error naming the file. */
float   *loom_image_file_labels (const LoomImageFile *file, GArray *colors, guint max_classes,
                                 GError **error);

/* Writes W × H pixels to PATH, its type from the extension (.png, .jpg,
 * .jpeg, .tif, .tiff, .webp), atomically: a file beside it renamed over
 * it, so PATH is never half-written.  RGBA: R'G'B'A u8 (ALPHA FALSE drops
 * it); GREY: Y' u8, one byte a pixel. */
gboolean loom_image_file_save_rgba8 (const char *path, const guint8 *rgba, guint width,
                                     guint height, gboolean alpha, GError **error);
gboolean loom_image_file_save_grey8 (const char *path, const guint8 *grey, guint width,
                                     guint height, GError **error);
/* GREY_ALPHA: Y'A u8, two bytes a pixel. */
gboolean loom_image_file_save_grey_alpha8 (const char *path, const guint8 *grey_alpha,
                                           guint width, guint height, GError **error);

/* Whether NAME ends like an image file (.png, .jpg, .tif, .webp, …). */
gboolean   loom_image_file_is_image_name (const char *name);
/* The image files in the folder DIR (paths), sorted by name; an error
 * naming DIR when it cannot be read or holds none. */
GPtrArray *loom_image_file_list_folder   (const char *dir, GError **error);

/* ---- a data set's file names: numbered images, images/ beside labels/ ---- */

/* PATH's file name without its extension: "photo" for "dir/photo.png". */
char      *loom_image_file_base_name     (const char *path);
/* Where augmented copies go (loom augment, GIMP's Augment…): with labels a
 * data set's layout, DIR/images/NAME-0001.png beside DIR/labels/NAME-0001.png,
 * else DIR/NAME-0001.png.  Makes the folders and sets the stems (LABEL_STEM
 * NULL without labels); an error naming a folder that cannot be made. */
gboolean   loom_image_file_copy_stems    (const char *dir, const char *name, gboolean labels,
                                          char **image_stem, char **label_stem, GError **error);
/* "STEM-0001.png" for copy I (from 0). */
char      *loom_image_file_copy_path     (const char *stem, guint i);
/* "OUT-0001.png" for image I (from 0) of a set beside "OUT.png". */
char      *loom_image_file_numbered_path (const char *path, guint i);

/* Whether PATH names a type we can write (the error names it if not). */
gboolean loom_image_file_check_writable (const char *path, GError **error);

G_END_DECLS
