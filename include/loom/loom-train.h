/* What the trainers (loom-segment.h, loom-generative.h) share with their
 * callers: the progress of a run, with its losses by name, and the rule a
 * run's budget keeps. */
#pragma once

#include <loom/loom.h>

G_BEGIN_DECLS

/* One of a step's losses: segmentation reports "loss", a GAN "D" and "G". */
typedef struct
{
  const char *name;
  float       value;
} LoomTrainLoss;

typedef struct
{
  guint                step, total;  /* STEP done of TOTAL (0: a time budget only) */
  double               eta;          /* seconds left */
  const LoomTrainLoss *losses;       /* N_LOSSES of them (none for a prediction's tiles) */
  guint                n_losses;
} LoomTrainProgress;

/* Called after every step; FALSE stops early (the weights so far are kept). */
typedef gboolean (*LoomTrainProgressFunc) (const LoomTrainProgress *progress, gpointer data);

/* Whether STEPS (0: none) and SECONDS (0: none) end a run: steps 0 needs a
 * time limit.  The faces word the error in their own terms. */
gboolean loom_train_check_budget (guint steps, double seconds, GError **error);

G_END_DECLS
