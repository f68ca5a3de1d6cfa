/* Philox4x32-10 against the known-answer vectors of its authors' Random123
 * library, and the uniform draws' range and mean. */
#include "ops/philox.h"
#include "test-util.h"

static void
test_known_answers (void)
{
  static const guint32 vectors[][10] = {
    /* counter[4], key[2], expected[4] */
    { 0, 0, 0, 0, 0, 0, 0x6627e8d5, 0xe169c58d, 0xbc57ac4c, 0x9b00dbd8 },
    { 0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff,
      0x408f276d, 0x41c83b0e, 0xa20bc7c6, 0x6d5451fd },
    { 0x243f6a88, 0x85a308d3, 0x13198a2e, 0x03707344, 0xa4093822, 0x299f31d0,
      0xd16cfe09, 0x94fdcceb, 0x5001e420, 0x24126ea1 },
  };

  for (guint v = 0; v < G_N_ELEMENTS (vectors); v++)
    {
      guint32 out[4];

      loom_philox (vectors[v], vectors[v] + 4, out);
      for (int i = 0; i < 4; i++)
        g_assert_cmphex (out[i], ==, vectors[v][6 + i]);
    }
}

static void
test_uniform (void)
{
  double sum = 0.0;
  const int n = 100000;

  for (int i = 0; i < n; i++)
    {
      guint32 a, b;
      float u;

      loom_philox_draw (42, 7, (guint64) i, &a, &b);
      u = loom_uniform_of (a);
      g_assert_cmpfloat (u, >=, 0.0f);
      g_assert_cmpfloat (u, <, 1.0f);
      sum += u;
    }
  g_assert_cmpfloat_with_epsilon (sum / n, 0.5, 0.005);
}

int
main (int argc, char **argv)
{
  test_init (&argc, &argv);
  g_test_add_func ("/philox/known-answers", test_known_answers);
  g_test_add_func ("/philox/uniform", test_uniform);
  return g_test_run ();
}
