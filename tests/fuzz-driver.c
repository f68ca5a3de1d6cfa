/* Runs a libFuzzer target without libFuzzer (gcc builds, CI): every file of
 * a corpus folder, then ITERATIONS deterministic mutations of them (bytes
 * flipped, set to edge values, cut, spliced, lengths rewritten).  Prints TAP.
 *
 *     fuzz-weights CORPUS_DIR [ITERATIONS] */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <glib.h>

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

static void
mutate (GRand *rand, GByteArray *bytes, const GByteArray *other)
{
  guint kind = g_rand_int_range (rand, 0, 6);
  guint len = bytes->len;

  if (len == 0)
    {
      g_byte_array_append (bytes, (const guint8 *) "x", 1);
      return;
    }
  switch (kind)
    {
    case 0:                     /* flip a bit */
      bytes->data[g_rand_int_range (rand, 0, len)] ^= 1u << g_rand_int_range (rand, 0, 8);
      break;
    case 1:                     /* an edge value */
      {
        static const guint8 edges[] = { 0, 0xff, 0x7f, 0x80, '"', '{', '}', '[', ']', ',', '-', '9' };
        bytes->data[g_rand_int_range (rand, 0, len)] = edges[g_rand_int_range (rand, 0, G_N_ELEMENTS (edges))];
      }
      break;
    case 2:                     /* cut */
      g_byte_array_set_size (bytes, g_rand_int_range (rand, 0, len));
      break;
    case 3:                     /* the header length rewritten */
      if (len >= 8)
        {
          guint64 v = g_rand_boolean (rand) ? g_rand_int (rand) % (len + 16)
                                            : ((guint64) g_rand_int (rand) << 32) | g_rand_int (rand);
          for (int i = 0; i < 8; i++)
            bytes->data[i] = (guint8) (v >> (8 * i));
        }
      break;
    case 4:                     /* splice in part of another input */
      if (other->len > 0)
        {
          guint from = g_rand_int_range (rand, 0, other->len);
          guint want = (guint) g_rand_int_range (rand, 1, 64);   /* MIN evaluates twice */
          guint count = MIN (other->len - from, want);
          guint at = g_rand_int_range (rand, 0, len);

          g_byte_array_set_size (bytes, MAX (len, at + count));
          memcpy (bytes->data + at, other->data + from, count);
        }
      break;
    default:                    /* digits changed (shapes, offsets) */
      for (guint i = 0; i < len; i++)
        if (bytes->data[i] >= '0' && bytes->data[i] <= '9' && g_rand_int_range (rand, 0, 8) == 0)
          bytes->data[i] = (guint8) ('0' + g_rand_int_range (rand, 0, 10));
      break;
    }
}

int
main (int argc, char **argv)
{
  g_autoptr (GPtrArray) corpus = g_ptr_array_new_with_free_func ((GDestroyNotify) g_byte_array_unref);
  g_autoptr (GDir) dir = NULL;
  g_autoptr (GRand) rand = g_rand_new_with_seed (2026);
  g_autoptr (GError) error = NULL;
  guint iterations = argc > 2 ? (guint) atoi (argv[2]) : 10000;
  const char *name;

  if (argc < 2)
    {
      g_printerr ("usage: %s CORPUS_DIR [ITERATIONS]\n", argv[0]);
      return 2;
    }
  dir = g_dir_open (argv[1], 0, &error);
  if (dir == NULL)
    {
      g_printerr ("%s\n", error->message);
      return 2;
    }
  while ((name = g_dir_read_name (dir)) != NULL)
    {
      g_autofree char *path = g_build_filename (argv[1], name, NULL);
      gchar *data;
      gsize len;

      if (g_file_get_contents (path, &data, &len, NULL))
        g_ptr_array_add (corpus, g_byte_array_new_take ((guint8 *) data, len));
    }
  if (corpus->len == 0)
    {
      g_printerr ("%s: no corpus files\n", argv[1]);
      return 2;
    }
  g_print ("TAP version 14\n1..2\n");
  for (guint i = 0; i < corpus->len; i++)
    {
      GByteArray *b = corpus->pdata[i];

      LLVMFuzzerTestOneInput (b->data, b->len);
    }
  g_print ("ok 1 /fuzz/corpus (%u inputs)\n", corpus->len);
  for (guint i = 0; i < iterations; i++)
    {
      GByteArray *seed = corpus->pdata[g_rand_int_range (rand, 0, corpus->len)];
      GByteArray *other = corpus->pdata[g_rand_int_range (rand, 0, corpus->len)];
      g_autoptr (GByteArray) b = g_byte_array_sized_new (seed->len);
      guint rounds = g_rand_int_range (rand, 1, 5);

      g_byte_array_append (b, seed->data, seed->len);
      for (guint r = 0; r < rounds; r++)
        mutate (rand, b, other);
      LLVMFuzzerTestOneInput (b->data, b->len);
    }
  g_print ("ok 2 /fuzz/mutations (%u)\n", iterations);
  return 0;
}
