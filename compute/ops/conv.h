/* What the convolution ops share: one params block (the push constants of
 * shaders/conv.glsl), validation, padding, im2col, and the test shapes. */
#pragma once

#include "op.h"

G_BEGIN_DECLS

typedef struct
{
  guint32 n, c, h, w;           /* input N×C×H×W */
  guint32 k, r, s;              /* weights K×C×R×S */
  guint32 p, q;                 /* output N×K×P×Q */
  guint32 stride_h, stride_w;
  guint32 pad_h, pad_w;
  guint32 dil_h, dil_w;
  guint32 pad_mode;             /* LoomPadMode */
  guint32 has_bias;             /* forward: add binding 3 */
  guint32 splits;               /* backward weight: partial sums over this many slices of N·P·Q */
} LoomConvParams;

/* Checks CONV and fills P; on failure the message names OP and the shapes. */
gboolean loom_conv_params_init (LoomConvParams *p, const LoomConv2d *conv,
                                const char *op, GError **error);

/* Where padded coordinate I of an axis of SIZE reads from, or -1 (zeros). */
static inline gint64
loom_conv_pad_index (gint64 i, gint64 size, guint32 mode)
{
  if (i >= 0 && i < size)
    return i;
  switch (mode)
    {
    case LOOM_PAD_REFLECT:
      return i < 0 ? -i : 2 * (size - 1) - i;
    case LOOM_PAD_CIRCULAR:
      return i < 0 ? i + size : i - size;
    default:
      return -1;
    }
}

/* Rows [ROW_BEGIN, ROW_END) (one (c, r, s) each) of the (C·R·S) × (N·P·Q)
 * patch matrix of images X (from the one column FIRST lies in), columns
 * [FIRST, FIRST + COUNT), into COL (row stride COUNT); the columns may
 * cross images.  On the calling thread: callers split the work. */
void  loom_conv_im2col_rows     (const LoomConvParams *p, const float *x, gsize first,
                                 gsize count, gsize row_begin, gsize row_end, float *col);
/* The reverse for channels [C_BEGIN, C_END): adds COL (their R·S rows
 * each, stride COUNT) into images DX where they were read. */
void  loom_conv_col2im_channels (const LoomConvParams *p, const float *col, gsize first,
                                 gsize count, gsize c_begin, gsize c_end, float *dx);
/* Columns [FIRST, FIRST + COUNT) of N·P·Q of the N×K×P×Q tensor Y as a
 * K × COUNT matrix OUT, and back: GEMMs over columns that cross images. */
void  loom_conv_gather_columns  (const LoomConvParams *p, const float *y, gsize first,
                                 gsize count, float *out);
void  loom_conv_scatter_columns (const LoomConvParams *p, const float *in, gsize first,
                                 gsize count, float *y);

/* The kernel covers the whole unpadded input, so P = Q = 1 and the batch's
 * patch matrix is X itself (N × C·R·S): each pass is one GEMM. */
static inline gboolean
loom_conv_is_dense (const LoomConvParams *p)
{
  return p->r == p->h && p->s == p->w && p->pad_h == 0 && p->pad_w == 0
         && p->dil_h == 1 && p->dil_w == 1;
}
/* Channels per block so that IMAGES × blocks keeps every thread busy. */
guint loom_conv_channel_block   (const LoomConvParams *p, guint images, LoomThreads *threads);
/* Patch columns of one image past which it is not grouped with others:
 * the GEMM is wide enough, and grouping would only add copies. */
#define LOOM_CONV_WIDE_IMAGE 256

/* Patch-matrix columns per block when a thread holds ROWS rows of it: at
 * most one image's (chunk), or regardless of images (chunk_span). */
gsize loom_conv_chunk           (const LoomConvParams *p, gsize rows);
gsize loom_conv_chunk_span      (const LoomConvParams *p, gsize rows);

/* Test shapes shared by the conv ops: odd sizes, strides, dilations, every
 * padding mode, channel counts past a tile. */
gboolean loom_conv_test_case (guint index, GRand *rand, void *params);
/* 2·N·K·P·Q·C·R·S: the same for the forward pass and both gradients. */
double   loom_conv_flops     (const void *params);

guint32 loom_conv_splits (const LoomConvParams *p);
/* First item of slice I when COUNT items are cut into SLICES (as conv.glsl). */
gsize   loom_conv_slice_begin (gsize i, gsize count, gsize slices);

G_END_DECLS
