/* The trainers' stopping rule: a step count, a time budget, or both. */
#pragma once

#include <glib.h>

/* Seconds left after DONE steps in ELAPSED seconds, towards STEPS steps (0:
 * none) or SECONDS (0: none), whichever ends first. */
static inline double
loom_budget_eta (guint done, guint steps, double seconds, double elapsed)
{
  double by_steps = steps > 0 ? elapsed / MAX (done, 1u) * (steps - MIN (done, steps)) : 0.0;
  double by_time = MAX (seconds - elapsed, 0.0);

  if (seconds <= 0)
    return by_steps;
  return steps > 0 ? MIN (by_steps, by_time) : by_time;
}
