/* Image glue: pixels to tensors and back, and label images to classes. */
#include <math.h>
#include <string.h>

#include <loom/loom-image.h>
#include "test-util.h"

/* Every 8-bit value survives u8 → float → u8, rows padded past 4·W bytes. */
static void
test_rgba8_round_trip (void)
{
  const guint w = 67, h = 5;
  const gsize stride = 4 * w + 12;
  g_autofree guint8 *in = g_new (guint8, stride * h), *out = g_new0 (guint8, stride * h);
  g_autofree float *planes = g_new (float, 4 * w * h);

  for (gsize i = 0; i < stride * h; i++)
    in[i] = (guint8) (i * 37 + 11);
  loom_image_from_rgba8 (in, w, h, stride, planes, planes + 3 * w * h);
  /* planar: plane c, row y, column x */
  g_assert_cmpfloat (planes[1 * w * h + 2 * w + 3], ==, in[2 * stride + 4 * 3 + 1] / 255.0f);
  g_assert_cmpfloat (planes[3 * w * h + 4 * w + 66], ==, in[4 * stride + 4 * 66 + 3] / 255.0f);
  loom_image_to_rgba8 (planes, 4, w, h, out, stride);
  for (guint y = 0; y < h; y++)
    g_assert_cmpmem (in + y * stride, 4 * w, out + y * stride, 4 * w);
}

static void
test_to_rgba8 (void)
{
  const float grey[] = { -0.5f, 0.0f, 0.5f, 1.0f, 2.0f, NAN };
  guint8 out[6 * 4];

  loom_image_to_rgba8 (grey, 1, 6, 1, out, sizeof out);
  g_assert_cmpuint (out[0], ==, 0);                   /* clamped */
  g_assert_cmpuint (out[8], ==, 128);                 /* rounded */
  g_assert_cmpuint (out[16], ==, 255);
  g_assert_cmpuint (out[20], ==, 0);                  /* NaN */
  g_assert_cmpuint (out[4 * 2 + 1], ==, 128);         /* grey in every channel */
  g_assert_cmpuint (out[4 * 2 + 3], ==, 255);         /* opaque */
}

static void
test_rgbaf (void)
{
  const float px[] = { 0.25f, 0.5f, 0.75f, 1.0f, 1.5f, -0.5f, 0.0f, 0.5f };
  float planes[6], alpha[2];

  loom_image_from_rgbaf (px, 2, 1, sizeof px, planes, alpha);
  g_assert_cmpfloat (planes[0], ==, 0.25f);
  g_assert_cmpfloat (planes[1], ==, 1.5f);
  g_assert_cmpfloat (planes[3], ==, -0.5f);
  g_assert_cmpfloat (alpha[1], ==, 0.5f);
}

static void
test_labels (void)
{
  /* 4×2: red, transparent, green, half-transparent red / blue, red, black, green */
  const guint8 px[] = {
    255, 0, 0, 255,   9, 9, 9, 0,   0, 255, 0, 255,   255, 0, 0, 128,
    0, 0, 255, 255,   255, 0, 0, 255,   0, 0, 0, 255,   0, 255, 0, 255,
  };
  g_autoptr (GArray) colors = g_array_new (FALSE, FALSE, sizeof (LoomColor));
  LoomColor known = { 0, 0, 0 };
  float labels[8];
  guint8 back[32];
  GError *error = NULL;

  g_assert_true (loom_labels_from_rgba8 (px, 4, 2, 16, colors, 16, labels, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (colors->len, ==, 4);              /* red, green, blue, black */
  g_assert_cmpfloat (labels[0], ==, 0);
  g_assert_cmpfloat (labels[1], ==, LOOM_UNLABELLED);
  g_assert_cmpfloat (labels[2], ==, 1);
  g_assert_cmpfloat (labels[3], ==, LOOM_UNLABELLED);   /* soft edge */
  g_assert_cmpfloat (labels[4], ==, 2);
  g_assert_cmpfloat (labels[5], ==, 0);
  g_assert_cmpfloat (labels[6], ==, 3);
  g_assert_cmpfloat (labels[7], ==, 1);
  loom_labels_to_rgba8 (labels, 4, 2, colors, back, 16);
  g_assert_cmpmem (back + 16, 16, px + 16, 16);
  g_assert_cmpuint (back[7], ==, 0);                  /* unlabelled: transparent */

  /* A given table keeps its order: black first. */
  g_array_set_size (colors, 0);
  g_array_append_val (colors, known);
  g_assert_true (loom_labels_from_rgba8 (px, 4, 2, 16, colors, 16, labels, &error));
  g_assert_cmpfloat (labels[6], ==, 0);
  g_assert_cmpfloat (labels[0], ==, 1);

  /* Too many colours: an error naming the limit, the table as it was. */
  g_array_set_size (colors, 1);
  g_assert_false (loom_labels_from_rgba8 (px, 4, 2, 16, colors, 2, labels, &error));
  g_assert_error (error, LOOM_ERROR, LOOM_ERROR_INVALID_ARGUMENT);
  g_assert_nonnull (strstr (error->message, "more than 2 colours"));
  g_assert_cmpuint (colors->len, ==, 1);
  g_clear_error (&error);
}

int
main (int argc, char **argv)
{
  test_init (&argc, &argv);
  g_test_add_func ("/image/rgba8-round-trip", test_rgba8_round_trip);
  g_test_add_func ("/image/to-rgba8", test_to_rgba8);
  g_test_add_func ("/image/rgbaf", test_rgbaf);
  g_test_add_func ("/image/labels", test_labels);
  return g_test_run ();
}
