/* Inside the core: the noise a generator's images come from, so that a
 * latent walk (interpolate.c) shares generate.c's generation. */
#pragma once

#include <loom/loom-generative.h>

G_BEGIN_DECLS

/* Image I's noise: LATENT × H × W values into Z (a DCGAN's H = W = 1). */
typedef void (*LoomNoiseFunc) (guint i, guint latent, guint h, guint w, float *z,
                               gpointer data);

/* LATENT × H × W normal values from SEED alone: what generate gives image
 * SEED's noise. */
void     loom_generative_draw_noise    (guint32 seed, guint latent, guint h, guint w, float *z);

/* loom_generative_generate with image I's noise from NOISE_OF (I, DATA). */
gboolean loom_generative_generate_from (LoomDevice *device, LoomWeights *weights, guint count,
                                        LoomNoiseFunc noise_of, gpointer data, guint width,
                                        guint height, guint tile, float *out,
                                        GCancellable *cancellable, GError **error);

/* loom_generative_render with the map's noise from NOISE_OF (0, DATA). */
gboolean loom_generative_render_from   (LoomDevice *device, LoomWeights *weights,
                                        const float *labels, guint width, guint height,
                                        LoomNoiseFunc noise_of, gpointer data, guint tile,
                                        float *out, GError **error);

G_END_DECLS
