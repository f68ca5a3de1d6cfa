/* The params blocks of the ops that other code (the graph) builds steps
 * for; each matches its shader's push constants. */
#pragma once

#include <glib.h>

typedef struct
{
  guint32 m, n, k;
  guint32 trans_a, trans_b;     /* A stored K×M, B stored N×K */
  float   alpha, beta;
} LoomGemmParams;

typedef struct
{
  guint32 n, c, hw;
} LoomChannelParams;            /* channel_sum, bias_add: an N×C×HW tensor */

typedef struct
{
  guint32 n, slices;
} LoomSumSlicesParams;
