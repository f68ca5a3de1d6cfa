/* Segmentation's augmentation, for training (segment/train.c) and on its
 * own (loom_segment_augment): each crop's random geometry and colours. */
#pragma once

#include <loom/loom-segment.h>

G_BEGIN_DECLS

typedef struct
{
  const LoomSegmentConfig *config;
  const LoomSegmentImage  *images;      /* masks applied (loom_segment_apply_masks) */
  guint                    crop, channels, batch;
  GRand                   *rand;
  float                   *grey;        /* each image's mean grey, for contrast */
  guint                   *crop_image;  /* the image each crop of the batch came from */
} LoomSegmentAugment;

/* Ready to augment BATCH crops of CROP from IMAGES (SEED: the config's). */
void       loom_segment_augment_init  (LoomSegmentAugment *a, const LoomSegmentConfig *config,
                                       const LoomSegmentImage *images, guint n_images,
                                       guint crop, guint batch);
void       loom_segment_augment_clear (LoomSegmentAugment *a);
/* A random map (affine_sample's geometry, no source yet) for a crop at
 * (X0, Y0): the config's flips, turns, rotation, scale, shear and elastic
 * deformation. */
void       loom_segment_random_map    (LoomSegmentAugment *a, guint x0, guint y0, float *map);
/* Photometric settings for each crop of a batch (LOOM_PHOTO_*). */
void       loom_segment_random_colors (LoomSegmentAugment *a, float *settings);
/* IMAGES into OWN with their masks applied: labels outside a mask become
 * unlabelled (in copies, returned to be freed). */
GPtrArray *loom_segment_apply_masks   (const LoomSegmentImage *images, guint n_images,
                                       LoomSegmentImage *own);

G_END_DECLS
