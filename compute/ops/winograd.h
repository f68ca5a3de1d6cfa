/* Winograd F(2×2, 3×3): the CPU backend's path for 3×3, stride-1,
 * undilated convolutions (compute/ops/winograd.c). */
#pragma once

#include "ops/conv.h"

G_BEGIN_DECLS

/* LOOM_NO_WINOGRAD=1 turns the path off (to compare, or to rule it out). */
gboolean loom_winograd_disabled (void);
/* 3×3, stride 1, dilation 1, any padding mode. */
gboolean loom_winograd_fits               (const LoomConvParams *p);
/* The input gradient needs zero padding of at most 2 too. */
gboolean loom_winograd_fits_backward_data (const LoomConvParams *p);

/* y = conv(x, w), no bias; every output written. */
void loom_winograd_forward         (const LoomConvParams *p, const float *x, const float *w,
                                    float *y, LoomThreads *threads);
/* dx = the input gradient; every value written. */
void loom_winograd_backward_data   (const LoomConvParams *p, const float *dy, const float *w,
                                    float *dx, LoomThreads *threads);
/* ws = the weight gradient's P->SPLITS partial sums, as conv2d_backward_weight. */
void loom_winograd_backward_weight (const LoomConvParams *p, const float *x, const float *dy,
                                    float *ws, LoomThreads *threads);

G_END_DECLS
