/* Philox4x32-10 (Salmon et al., "Parallel random numbers: as easy as
 * 1, 2, 3"): a counter-based generator, so value i of a stream depends
 * only on (seed, stream, i) — the same on every backend, in any order.
 * shaders/philox.glsl is the same in GLSL. */
#pragma once

#include <glib.h>

static inline void
loom_philox (const guint32 counter[4], const guint32 key_in[2], guint32 out[4])
{
  guint32 c[4] = { counter[0], counter[1], counter[2], counter[3] };
  guint32 key[2] = { key_in[0], key_in[1] };

  for (int round = 0; round < 10; round++)
    {
      guint64 p0 = (guint64) 0xD2511F53u * c[0], p1 = (guint64) 0xCD9E8D57u * c[2];
      guint32 n[4] = {
        (guint32) (p1 >> 32) ^ c[1] ^ key[0], (guint32) p1,
        (guint32) (p0 >> 32) ^ c[3] ^ key[1], (guint32) p0,
      };

      c[0] = n[0], c[1] = n[1], c[2] = n[2], c[3] = n[3];
      key[0] += 0x9E3779B9u;
      key[1] += 0xBB67AE85u;
    }
  out[0] = c[0], out[1] = c[1], out[2] = c[2], out[3] = c[3];
}

/* Two 32-bit draws for element I of STREAM under SEED. */
static inline void
loom_philox_draw (guint32 seed, guint32 stream, guint64 i, guint32 *a, guint32 *b)
{
  guint32 counter[4] = { (guint32) i, (guint32) (i >> 32), stream, 0 };
  guint32 key[2] = { seed, 0x4C4F4F4Du };   /* "LOOM" */
  guint32 out[4];

  loom_philox (counter, key, out);
  *a = out[0];
  *b = out[1];
}

/* [0, 1) with 24 bits, exactly representable: identical on every backend. */
static inline float
loom_uniform_of (guint32 bits)
{
  return (float) (bits >> 8) * (1.0f / 16777216.0f);
}
