/* progress.c -- progress on GIMP's bar, and a time as a clock. */

#include <libgimp/gimp.h>

#include "loom-plugin.h"

gchar *
loom_plugin_clock_text (double seconds)
{
  guint s = seconds > 0 ? (guint) (seconds + 0.5) : 0;

  return s >= 3600 ? g_strdup_printf ("%u:%02u:%02u", s / 3600, s / 60 % 60, s % 60)
                   : g_strdup_printf ("%u:%02u", s / 60, s % 60);
}

void
loom_plugin_progress_init (LoomPluginProgress *p,
                           const gchar        *what,
                           LoomDevice         *device)
{
  p->what   = what;
  p->device = loom_device_get_info (device)->name;
  p->start  = g_get_monotonic_time ();
  p->last   = 0;
  gimp_progress_init_printf ("%s on %s", what, p->device);
}

void
loom_plugin_progress_show (LoomPluginProgress *p,
                           guint               step,
                           guint               total,
                           const gchar        *detail,
                           double              eta)
{
  gint64  now  = g_get_monotonic_time ();
  gdouble done;
  gchar  *left;

  /* Each call is a round trip to GIMP: five a second are plenty. */
  if (p->last != 0 && now - p->last < G_USEC_PER_SEC / 5 && ! (total > 0 && step >= total))
    return;
  p->last = now;

  if (total > 0)
    done = (gdouble) step / total;
  else
    {
      gdouble spent = (now - p->start) / 1e6;

      done = spent + eta > 0 ? spent / (spent + eta) : 0;
    }

  left = loom_plugin_clock_text (eta);
  if (total > 0)
    gimp_progress_set_text_printf ("%s on %s: %u/%u%s%s, %s left", p->what, p->device,
                                   step, total, detail ? ", " : "", detail ? detail : "",
                                   left);
  else
    gimp_progress_set_text_printf ("%s on %s: step %u%s%s, %s left", p->what, p->device,
                                   step, detail ? ", " : "", detail ? detail : "", left);
  gimp_progress_update (CLAMP (done, 0.0, 1.0));
  g_free (left);
}
