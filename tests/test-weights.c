/* Weights files: round trips, atomic saves, and every way a file can be
 * damaged answered by a GError that says what is wrong. */
#include <string.h>
#include <glib/gstdio.h>

#include <loom/loom-weights.h>
#include "test-util.h"

static char *
temp_dir (void)
{
  g_autoptr (GError) error = NULL;
  char *dir = g_dir_make_tmp ("loom-weights-XXXXXX", &error);

  g_assert_no_error (error);
  return dir;
}

static void
remove_dir (const char *dir)
{
  g_autoptr (GDir) d = g_dir_open (dir, 0, NULL);
  const char *name;

  while (d != NULL && (name = g_dir_read_name (d)) != NULL)
    {
      g_autofree char *path = g_build_filename (dir, name, NULL);

      g_unlink (path);
    }
  g_rmdir (dir);
}

static LoomWeights *
sample (void)
{
  LoomWeights *w = loom_weights_new ();
  static const guint64 conv[] = { 4, 3, 3, 3 }, bias[] = { 4 }, empty[] = { 0, 5 };
  float data[108], b[4] = { 0.5f, -1.25f, 3.0e-38f, 1.0e30f };
  float scalar = -7.0f;
  GError *error = NULL;

  for (int i = 0; i < 108; i++)
    data[i] = (float) i / 7.0f - 3.0f;
  g_assert_true (loom_weights_add (w, "enc.0.weight", 4, conv, data, &error));
  g_assert_true (loom_weights_add (w, "enc.0.bias", 1, bias, b, &error));
  g_assert_true (loom_weights_add (w, "step", 0, NULL, &scalar, &error));
  g_assert_true (loom_weights_add (w, "unused", 2, empty, NULL, &error));
  g_assert_no_error (error);
  loom_weights_set_metadata (w, LOOM_METADATA_ARCHITECTURE, "{\"name\":\"unet\",\"depth\":4}");
  loom_weights_set_metadata (w, LOOM_METADATA_CLASSES,
                             "[{\"name\":\"sky\",\"color\":[0,0,255]},{\"name\":\"é\",\"color\":[1,2,3]}]");
  return w;
}

static void
assert_same (LoomWeights *a, LoomWeights *b)
{
  const char *const *na = loom_weights_get_names (a), *const *nb = loom_weights_get_names (b);
  guint i;

  for (i = 0; na[i] != NULL; i++)
    {
      guint da, db;
      const guint64 *sa, *sb;
      const float *va = loom_weights_lookup (a, na[i], &da, &sa);
      const float *vb = loom_weights_lookup (b, na[i], &db, &sb);
      gsize n = 1;

      g_assert_cmpstr (na[i], ==, nb[i]);            /* file order kept */
      g_assert_nonnull (vb);
      g_assert_cmpuint (da, ==, db);
      for (guint d = 0; d < da; d++)
        {
          g_assert_cmpuint (sa[d], ==, sb[d]);
          n *= sa[d];
        }
      g_assert_cmpmem (va, n * sizeof (float), vb, n * sizeof (float));
    }
  g_assert_null (nb[i]);
  g_assert_cmpstr (loom_weights_get_metadata (a, LOOM_METADATA_ARCHITECTURE), ==,
                   loom_weights_get_metadata (b, LOOM_METADATA_ARCHITECTURE));
  g_assert_cmpstr (loom_weights_get_metadata (a, LOOM_METADATA_CLASSES), ==,
                   loom_weights_get_metadata (b, LOOM_METADATA_CLASSES));
}

static void
test_round_trip (void)
{
  g_autofree char *dir = temp_dir ();
  g_autofree char *path = g_build_filename (dir, "m.safetensors", NULL);
  g_autofree char *bytes = NULL, *again = NULL;
  gsize len, len2;
  LoomWeights *w = sample (), *r;
  GError *error = NULL;
  static const guint64 conv[] = { 4, 3, 3, 3 }, wrong[] = { 4, 3, 5, 5 };

  g_assert_true (loom_weights_save (w, path, &error));
  g_assert_no_error (error);
  r = loom_weights_load (path, &error);
  g_assert_no_error (error);
  assert_same (w, r);
  /* The data starts 8-aligned and saving twice gives the same bytes. */
  g_assert_true (g_file_get_contents (path, &bytes, &len, NULL));
  g_assert_cmpuint (GUINT64_FROM_LE (*(guint64 *) bytes) % 8, ==, 0);
  g_assert_true (loom_weights_save (r, path, &error));
  g_assert_true (g_file_get_contents (path, &again, &len2, NULL));
  g_assert_cmpmem (bytes, len, again, len2);

  g_assert_nonnull (loom_weights_expect (r, "enc.0.weight", 4, conv, &error));
  g_assert_null (loom_weights_expect (r, "enc.0.weight", 4, wrong, &error));
  g_assert_error (error, LOOM_ERROR, LOOM_ERROR_BAD_FILE);
  g_assert_nonnull (strstr (error->message, "4×3×3×3"));
  g_assert_nonnull (strstr (error->message, "4×3×5×5"));
  g_clear_error (&error);
  g_assert_null (loom_weights_expect (r, "dec.0.weight", 4, conv, &error));
  g_assert_nonnull (strstr (error->message, "dec.0.weight"));
  g_clear_error (&error);

  /* Names: no duplicates, none reserved. */
  g_assert_false (loom_weights_add (w, "enc.0.bias", 1, conv, NULL, &error));
  g_assert_error (error, LOOM_ERROR, LOOM_ERROR_INVALID_ARGUMENT);
  g_clear_error (&error);
  g_assert_false (loom_weights_add (w, "__metadata__", 0, NULL, NULL, &error));
  g_clear_error (&error);
  loom_weights_free (w);
  loom_weights_free (r);
  remove_dir (dir);
}

/* A failed save leaves the old file whole and no temporary behind. */
static void
test_atomic_save (void)
{
  g_autofree char *dir = temp_dir ();
  g_autofree char *path = g_build_filename (dir, "m.safetensors", NULL);
  g_autofree char *blocked = g_build_filename (dir, "sub", "m.safetensors", NULL);
  g_autofree char *sub = g_build_filename (dir, "sub", NULL);
  g_autofree char *before = NULL, *after = NULL;
  gsize len_before, len_after;
  LoomWeights *w = sample ();
  GError *error = NULL;
  GDir *d;
  guint files = 0;

  g_assert_true (loom_weights_save (w, path, &error));
  g_assert_true (g_file_get_contents (path, &before, &len_before, NULL));
  /* Saving into a folder that is not there fails cleanly. */
  g_assert_false (loom_weights_save (w, blocked, &error));
  g_assert_nonnull (error);
  g_clear_error (&error);
  /* A read-only folder: the save fails and the old file is untouched. */
  g_assert_cmpint (g_mkdir (sub, 0755), ==, 0);
  g_clear_pointer (&blocked, g_free);
  blocked = g_build_filename (sub, "m.safetensors", NULL);
  g_assert_true (loom_weights_save (w, blocked, &error));
  g_assert_cmpint (g_chmod (sub, 0555), ==, 0);
  loom_weights_set_metadata (w, "changed", "yes");
  if (!loom_weights_save (w, blocked, &error))      /* as root the folder is writable */
    {
      LoomWeights *r = loom_weights_load (blocked, NULL);

      g_assert_nonnull (r);
      g_assert_null (loom_weights_get_metadata (r, "changed"));
      loom_weights_free (r);
      g_clear_error (&error);
    }
  g_assert_cmpint (g_chmod (sub, 0755), ==, 0);
  g_assert_true (g_file_get_contents (path, &after, &len_after, NULL));
  g_assert_cmpmem (before, len_before, after, len_after);
  d = g_dir_open (dir, 0, NULL);
  while (g_dir_read_name (d) != NULL)
    files++;
  g_dir_close (d);
  g_assert_cmpuint (files, ==, 2);                  /* m.safetensors and sub: no temporaries */
  loom_weights_free (w);
  remove_dir (sub);
  remove_dir (dir);
}

/* The header of a valid file as text, and its data, to be damaged. */
static GByteArray *
make_file (const char *header, const guint8 *data, gsize data_len)
{
  GByteArray *b = g_byte_array_new ();
  guint64 n = GUINT64_TO_LE ((guint64) strlen (header));

  g_byte_array_append (b, (const guint8 *) &n, 8);
  g_byte_array_append (b, (const guint8 *) header, (guint) strlen (header));
  if (data_len > 0)
    g_byte_array_append (b, data, (guint) data_len);
  return b;
}

static void
assert_bad (GByteArray *file, const char *part)
{
  GError *error = NULL;
  LoomWeights *w = loom_weights_parse (file->data, file->len, &error);

  if (w != NULL)
    g_error ("accepted a file that should fail with '%s'", part);
  g_assert_error (error, LOOM_ERROR, LOOM_ERROR_BAD_FILE);
  if (strstr (error->message, part) == NULL)
    g_error ("'%s' does not say '%s'", error->message, part);
  g_error_free (error);
  g_byte_array_unref (file);
}

static void
test_corrupt (void)
{
  guint8 data[32] = { 0 };
  const char *ok = "{\"a\":{\"dtype\":\"F32\",\"shape\":[2,2],\"data_offsets\":[0,16]},"
                   "\"b\":{\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[16,32]}}";
  GByteArray *good = make_file (ok, data, 32);
  GError *error = NULL;
  LoomWeights *w = loom_weights_parse (good->data, good->len, &error);

  g_assert_no_error (error);
  g_assert_nonnull (w);
  loom_weights_free (w);

  /* truncated anywhere */
  for (guint cut = 0; cut < good->len; cut++)
    {
      w = loom_weights_parse (good->data, cut, &error);
      g_assert_null (w);
      g_assert_error (error, LOOM_ERROR, LOOM_ERROR_BAD_FILE);
      g_clear_error (&error);
    }
  g_byte_array_unref (good);

  assert_bad (g_byte_array_new (), "too short");
  {
    GByteArray *b = make_file (ok, data, 32);
    b->data[6] = 1;                                   /* a header length of 2^48 */
    assert_bad (b, "header length");
  }
  assert_bad (make_file ("{\"a\":\xff}", NULL, 0), "UTF-8");
  assert_bad (make_file ("{\"a\": [1, 2", NULL, 0), "not JSON");
  assert_bad (make_file ("[1,2,3]", NULL, 0), "not a JSON object");
  assert_bad (make_file ("{\"__metadata__\":[1]}", NULL, 0), "__metadata__");
  assert_bad (make_file ("{\"__metadata__\":{\"k\":1}}", NULL, 0), "not a string");
  assert_bad (make_file ("{\"a\":7}", NULL, 0), "not an object");
  assert_bad (make_file ("{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4],\"x\":1}}",
                         data, 4), "unknown field");
  assert_bad (make_file ("{\"a\":{\"shape\":[1],\"data_offsets\":[0,4]}}", data, 4), "no dtype");
  assert_bad (make_file ("{\"a\":{\"dtype\":\"F16\",\"shape\":[2],\"data_offsets\":[0,4]}}",
                         data, 4), "F32 only");
  assert_bad (make_file ("{\"a\":{\"dtype\":\"F32\",\"data_offsets\":[0,4]}}", data, 4), "no shape");
  assert_bad (make_file ("{\"a\":{\"dtype\":\"F32\",\"shape\":[-1],\"data_offsets\":[0,4]}}",
                         data, 4), "not a size");
  assert_bad (make_file ("{\"a\":{\"dtype\":\"F32\",\"shape\":[1,1,1,1,1,1,1,1,1],"
                         "\"data_offsets\":[0,4]}}", data, 4), "dimensions");
  assert_bad (make_file ("{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,0]}}",
                         data, 4), "data_offsets");
  assert_bad (make_file ("{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0]}}",
                         data, 4), "data_offsets");
  assert_bad (make_file ("{\"a\":{\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[0,16]}}",
                         data, 8), "truncated");
  assert_bad (make_file ("{\"a\":{\"dtype\":\"F32\",\"shape\":[3],\"data_offsets\":[0,16]}}",
                         data, 16), "holds 16 bytes");
  assert_bad (make_file ("{\"a\":{\"dtype\":\"F32\",\"shape\":[4294967296,4294967296],"
                         "\"data_offsets\":[0,16]}}", data, 16), "holds 16 bytes");
  assert_bad (make_file ("{\"a\":{\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[0,16]},"
                         "\"b\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[8,16]}}",
                         data, 16), "overlapping");
  assert_bad (make_file ("{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[8,16]}}",
                         data, 16), "gapped");
  assert_bad (make_file ("{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}",
                         data, 16), "cover");
}

static void
test_missing_file (void)
{
  GError *error = NULL;

  g_assert_null (loom_weights_load ("/nonexistent/loom.safetensors", &error));
  g_assert_error (error, G_FILE_ERROR, G_FILE_ERROR_NOENT);
  g_clear_error (&error);
}

int
main (int argc, char **argv)
{
  test_init (&argc, &argv);
  g_test_add_func ("/weights/round-trip", test_round_trip);
  g_test_add_func ("/weights/atomic-save", test_atomic_save);
  g_test_add_func ("/weights/corrupt", test_corrupt);
  g_test_add_func ("/weights/missing-file", test_missing_file);
  return g_test_run ();
}
