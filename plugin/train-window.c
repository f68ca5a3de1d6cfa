/* train-window.c -- Loom's own training window: the device, step and
 * total, the losses, elapsed time and time left, a progress bar, the loss
 * curves (every step kept, one curve per named loss), a preview, and Stop
 * (finish now, keep the model) and Cancel (keep nothing).
 *
 * Why a window of its own: Cancel on GIMP's progress bar kills the
 * plug-in, so it cannot offer "stop and keep what you have".
 *
 * How it stays live: the training runs in a worker thread
 * (loom_train_window_run) while the main thread runs the GTK main loop.
 * Pumping GTK events from the per-step callback would freeze the window
 * for as long as one step takes (seconds for a large crop on the CPU),
 * Stop included.  libgimp is not thread-safe, so the worker makes no
 * libgimp call: it hands its numbers over through update () and
 * set_preview (), which only take a lock, and the main thread shows
 * them a few times a second. */

#include <math.h>
#include <string.h>

#include <glib/gstdio.h>

#include "loom-plugin.h"

#define REFRESH_MS     100   /* how often the main thread shows what came in */
#define CURVE_WIDTH    400
#define CURVE_HEIGHT   200
#define PREVIEW_SIDE   256
#define RESPONSE_STOP  1

struct _LoomTrainWindow
{
  gchar      *role;
  GtkWidget  *dialog;
  GtkWidget  *step_label, *loss_label, *time_label, *status_label;
  GtkWidget  *progress;
  GtkWidget  *curve;
  GtkWidget  *preview;
  GtkWidget  *preview_hint;
  GtkWidget  *preview_caption;
  guint       refresh_id;
  gint64      started;
  gboolean    previewed;      /* the screenshot hook has run */
  guint       shown;          /* previews shown so far */

  gint        state;          /* LoomTrainWindowState, atomic */

  /* What the training thread hands over, under LOCK. */
  GMutex      lock;
  guint       n_curves;
  gchar     **names;
  GArray     *steps;          /* guint: the step of each point */
  GArray    **losses;         /* per curve, float, one per point */
  guint       step, total;
  double      eta;
  GdkPixbuf  *pending;        /* a preview not yet shown … */
  guint       pending_step;   /* … made at this step */
  gchar      *status;         /* a line not yet shown */
  gboolean    dirty;

  /* The preview's maker (training thread, set before it starts). */
  guint       preview_every;
  gboolean    preview_first;  /* … and after step 1 */
  GFunc       preview_func;
  gpointer    preview_data;
};

/* Curve colours that read on light and dark themes. */
static const double curve_rgb[][3] =
{
  { 0.20, 0.55, 0.95 }, { 0.95, 0.50, 0.10 }, { 0.25, 0.75, 0.30 }, { 0.90, 0.25, 0.35 },
};

static void
set_state (LoomTrainWindow      *window,
           LoomTrainWindowState  state)
{
  /* The first answer wins: Cancel after Stop still cancels, Stop after
   * Cancel does not un-cancel. */
  if (state == LOOM_TRAIN_WINDOW_CANCEL)
    g_atomic_int_set (&window->state, state);
  else
    g_atomic_int_compare_and_exchange (&window->state, LOOM_TRAIN_WINDOW_RUNNING, state);
}

static void
on_response (GtkDialog       *dialog,
             gint             response,
             LoomTrainWindow *window)
{
  if (response == RESPONSE_STOP)
    {
      set_state (window, LOOM_TRAIN_WINDOW_STOP);
      gtk_label_set_text (GTK_LABEL (window->status_label),
                          "Stopping after this step; the model is kept…");
      gtk_dialog_set_response_sensitive (dialog, RESPONSE_STOP, FALSE);
    }
  else   /* Cancel, Escape, the window closed */
    {
      set_state (window, LOOM_TRAIN_WINDOW_CANCEL);
      gtk_label_set_text (GTK_LABEL (window->status_label), "Cancelling; nothing is kept…");
      gtk_dialog_set_response_sensitive (dialog, RESPONSE_STOP, FALSE);
      gtk_dialog_set_response_sensitive (dialog, GTK_RESPONSE_CANCEL, FALSE);
    }
}

/* Closing the window is Cancel; it stays until the training has stopped. */
static gboolean
on_delete (GtkWidget       *widget,
           GdkEvent        *event,
           LoomTrainWindow *window)
{
  on_response (GTK_DIALOG (widget), GTK_RESPONSE_CANCEL, window);

  return TRUE;
}

/* ---- the curve ----------------------------------------------------------- */

static gchar *
loss_text (double v)
{
  return fabs (v) >= 100 || (v != 0 && fabs (v) < 0.001) ? g_strdup_printf ("%.3g", v)
                                                           : g_strdup_printf ("%.4f", v);
}

static gboolean
on_curve_draw (GtkWidget       *widget,
               cairo_t         *cr,
               LoomTrainWindow *window)
{
  GtkStyleContext *style = gtk_widget_get_style_context (widget);
  GdkRGBA          fg;
  gint             w = gtk_widget_get_allocated_width (widget);
  gint             h = gtk_widget_get_allocated_height (widget);
  const double     left = 8, right = 8, top = 22, bottom = 20;
  double           pw = w - left - right, ph = h - top - bottom;
  double           lo = G_MAXDOUBLE, hi = -G_MAXDOUBLE;
  guint            n, first_step, last_step;

  gtk_style_context_get_color (style, gtk_style_context_get_state (style), &fg);
  gtk_render_background (style, cr, 0, 0, w, h);
  cairo_set_line_width (cr, 1.0);
  cairo_set_source_rgba (cr, fg.red, fg.green, fg.blue, 0.35);
  cairo_rectangle (cr, left + 0.5, top + 0.5, pw - 1, ph - 1);
  cairo_stroke (cr);
  cairo_select_font_face (cr, "sans-serif", CAIRO_FONT_SLANT_NORMAL, CAIRO_FONT_WEIGHT_NORMAL);
  cairo_set_font_size (cr, 11);

  g_mutex_lock (&window->lock);
  n = window->steps->len;

  /* the legend, above the plot */
  {
    double x = left;

    for (guint c = 0; c < window->n_curves; c++)
      {
        const double         *rgb = curve_rgb[c % G_N_ELEMENTS (curve_rgb)];
        cairo_text_extents_t  ext;

        cairo_set_source_rgb (cr, rgb[0], rgb[1], rgb[2]);
        cairo_rectangle (cr, x, 7, 14, 3);
        cairo_fill (cr);
        cairo_set_source_rgba (cr, fg.red, fg.green, fg.blue, fg.alpha);
        cairo_move_to (cr, x + 18, 13);
        cairo_show_text (cr, window->names[c]);
        cairo_text_extents (cr, window->names[c], &ext);
        x += 18 + ext.x_advance + 14;
      }
  }

  if (n == 0)
    {
      g_mutex_unlock (&window->lock);
      cairo_set_source_rgba (cr, fg.red, fg.green, fg.blue, 0.6);
      cairo_move_to (cr, left + 8, top + ph / 2);
      cairo_show_text (cr, "The loss appears after the first step");
      return FALSE;
    }

  for (guint c = 0; c < window->n_curves; c++)
    for (guint i = 0; i < n; i++)
      {
        float v = g_array_index (window->losses[c], float, i);

        if (isfinite (v))
          {
            lo = MIN (lo, v);
            hi = MAX (hi, v);
          }
      }
  if (lo > hi)
    lo = hi = 0;
  /* from 0 when the losses are positive: how far it fell reads at a glance */
  if (lo > 0)
    lo = 0;
  if (hi - lo < 1e-6)
    hi = lo + 1e-6;
  first_step = g_array_index (window->steps, guint, 0);
  last_step  = g_array_index (window->steps, guint, n - 1);

  for (guint c = 0; c < window->n_curves; c++)
    {
      const double *rgb = curve_rgb[c % G_N_ELEMENTS (curve_rgb)];

      cairo_set_source_rgb (cr, rgb[0], rgb[1], rgb[2]);
      cairo_set_line_width (cr, 1.5);
      for (guint i = 0; i < n; i++)
        {
          guint  s = g_array_index (window->steps, guint, i);
          float  v = g_array_index (window->losses[c], float, i);
          double x = left + (last_step > first_step
                             ? (double) (s - first_step) / (last_step - first_step) * pw : 0);
          double y = top + ph - (isfinite (v) ? (v - lo) / (hi - lo) : 0) * ph;

          if (i == 0)
            cairo_move_to (cr, x, y);
          else
            cairo_line_to (cr, x, y);
        }
      if (n == 1)
        cairo_rel_line_to (cr, 1, 0);
      cairo_stroke (cr);
    }
  g_mutex_unlock (&window->lock);

  /* the scale: the top value, the bottom one (0 for positive losses),
   * the steps along */
  {
    gchar                *top_text    = loss_text (hi);
    gchar                *bottom_text = loss_text (lo);
    gchar                *steps_text  = g_strdup_printf ("step %u", last_step);
    cairo_text_extents_t  ext;

    /* the top value top right: where a falling loss has left room */
    cairo_set_source_rgba (cr, fg.red, fg.green, fg.blue, 0.8);
    cairo_text_extents (cr, top_text, &ext);
    cairo_move_to (cr, left + pw - ext.x_advance - 4, top + 13);
    cairo_show_text (cr, top_text);
    cairo_move_to (cr, left + 4, top + ph - 4);
    cairo_show_text (cr, bottom_text);
    cairo_text_extents (cr, steps_text, &ext);
    cairo_move_to (cr, left + pw - ext.x_advance, h - 5);
    cairo_show_text (cr, steps_text);
    cairo_move_to (cr, left, h - 5);
    cairo_show_text (cr, "step 1");
    g_free (top_text);
    g_free (bottom_text);
    g_free (steps_text);
  }

  return FALSE;
}

/* ---- showing what came in (main thread) --------------------------------- */

/* The test suite's hook (off unless $LOOM_PLUGIN_SCREENSHOTS names a
 * folder): every preview kept as <folder>/<role>-preview-<n>.png, and the
 * previews to wait for before the window's picture and its button:
 * $LOOM_PLUGIN_SCREENSHOTS_PREVIEWS, "ROLE=N,…" (others: 1). */
static guint
previews_wanted (LoomTrainWindow *window)
{
  const gchar *spec  = g_getenv ("LOOM_PLUGIN_SCREENSHOTS_PREVIEWS");
  gchar      **parts = g_strsplit (spec != NULL ? spec : "", ",", -1);
  gsize        n     = strlen (window->role);
  guint        want  = 1;

  for (guint i = 0; parts[i] != NULL; i++)
    if (strncmp (parts[i], window->role, n) == 0 && parts[i][n] == '=')
      want = MAX (1, (guint) g_ascii_strtoull (parts[i] + n + 1, NULL, 10));
  g_strfreev (parts);

  return want;
}

static void
keep_preview (LoomTrainWindow *window,
              GdkPixbuf       *pixbuf)
{
  const gchar *dir = g_getenv ("LOOM_PLUGIN_SCREENSHOTS");
  gchar       *file, *path;

  if (dir == NULL || dir[0] == '\0')
    return;
  file = g_strdup_printf ("%s-preview-%u.png", window->role, window->shown);
  path = g_build_filename (dir, file, NULL);
  if (! gdk_pixbuf_save (pixbuf, path, "png", NULL, NULL))
    g_printerr ("loom: could not save the preview %s\n", path);
  g_free (path);
  g_free (file);
}

static void
show_preview (LoomTrainWindow *window,
              GdkPixbuf       *pixbuf)
{
  gint       pw = gdk_pixbuf_get_width (pixbuf), ph = gdk_pixbuf_get_height (pixbuf);
  double     scale = MIN ((double) PREVIEW_SIDE / pw, (double) PREVIEW_SIDE / ph);
  GdkPixbuf *shown;

  /* Small layers are shown larger, pixels kept sharp; large ones fit. */
  shown = gdk_pixbuf_scale_simple (pixbuf, MAX (1, (gint) (pw * scale)),
                                   MAX (1, (gint) (ph * scale)),
                                   scale > 1 ? GDK_INTERP_NEAREST : GDK_INTERP_BILINEAR);
  gtk_image_set_from_pixbuf (GTK_IMAGE (window->preview), shown);
  gtk_widget_hide (window->preview_hint);
  gtk_widget_show (window->preview);
  g_object_unref (shown);
}

static gboolean
refresh (gpointer data)
{
  LoomTrainWindow *window = data;
  GdkPixbuf       *pending;
  gchar           *status;
  guint            step, total, n, preview_step;
  double           eta, elapsed;
  GString         *losses = g_string_new (NULL);
  gchar           *spent, *left, *text;

  g_mutex_lock (&window->lock);
  if (! window->dirty)
    {
      g_mutex_unlock (&window->lock);
      g_string_free (losses, TRUE);
      return G_SOURCE_CONTINUE;
    }
  window->dirty = FALSE;
  pending = g_steal_pointer (&window->pending);
  preview_step = window->pending_step;
  status  = g_steal_pointer (&window->status);
  step    = window->step;
  total   = window->total;
  eta     = window->eta;
  n       = window->steps->len;
  for (guint c = 0; n > 0 && c < window->n_curves; c++)
    {
      gchar *v = loss_text (g_array_index (window->losses[c], float, n - 1));

      /* one curve: its value alone; several: named ("D 0.69,  G 1.2") */
      if (window->n_curves == 1)
        g_string_append (losses, v);
      else
        g_string_append_printf (losses, "%s%s %s", c > 0 ? ",  " : "", window->names[c], v);
      g_free (v);
    }
  g_mutex_unlock (&window->lock);

  elapsed = (g_get_monotonic_time () - window->started) / 1e6;
  spent = loom_plugin_clock_text (elapsed);
  left  = loom_plugin_clock_text (eta);

  text = total > 0 ? g_strdup_printf ("%u of %u", step, total)
                   : g_strdup_printf ("%u (time limit)", step);
  gtk_label_set_text (GTK_LABEL (window->step_label), text);
  g_free (text);
  if (n > 0)
    gtk_label_set_text (GTK_LABEL (window->loss_label), losses->str);
  text = g_strdup_printf ("%s elapsed, %s left", spent, left);
  gtk_label_set_text (GTK_LABEL (window->time_label), text);
  g_free (text);
  gtk_progress_bar_set_fraction (GTK_PROGRESS_BAR (window->progress),
                                 CLAMP (total > 0 ? (double) step / total
                                                  : elapsed / MAX (elapsed + eta, 1e-9),
                                        0.0, 1.0));
  gtk_widget_queue_draw (window->curve);
  if (status != NULL)
    gtk_label_set_text (GTK_LABEL (window->status_label), status);

  if (pending != NULL)
    {
      show_preview (window, pending);
      window->shown++;
      keep_preview (window, pending);
      g_object_unref (pending);
      text = g_strdup_printf ("at step %u", preview_step);
      gtk_label_set_text (GTK_LABEL (window->preview_caption), text);
      g_free (text);
      /* The test suite's picture of the window: taken once a preview is
       * there, then it answers through the real buttons. */
      if (! window->previewed && window->shown >= previews_wanted (window))
        {
          const gchar *press = g_getenv ("LOOM_PLUGIN_SCREENSHOTS_PRESS");

          window->previewed = TRUE;
          loom_plugin_screenshot_then_press (GTK_DIALOG (window->dialog), window->role,
                                             g_strcmp0 (press, "cancel") == 0
                                             ? GTK_RESPONSE_CANCEL : RESPONSE_STOP);
        }
    }

  g_free (status);
  g_free (spent);
  g_free (left);
  g_string_free (losses, TRUE);

  return G_SOURCE_CONTINUE;
}

/* ---- the window ---------------------------------------------------------- */

static GtkWidget *
row (GtkGrid     *grid,
     gint         y,
     const gchar *name)
{
  GtkWidget *key   = gtk_label_new (name);
  GtkWidget *value = gtk_label_new ("–");

  gtk_label_set_xalign (GTK_LABEL (key), 0.0);
  gtk_label_set_xalign (GTK_LABEL (value), 0.0);
  gtk_label_set_ellipsize (GTK_LABEL (value), PANGO_ELLIPSIZE_END);
  gtk_label_set_width_chars (GTK_LABEL (value), 30);
  gtk_widget_set_hexpand (value, TRUE);
  gimp_label_set_attributes (GTK_LABEL (key), PANGO_ATTR_WEIGHT, PANGO_WEIGHT_BOLD, -1);
  gtk_grid_attach (grid, key, 0, y, 1, 1);
  gtk_grid_attach (grid, value, 1, y, 1, 1);

  return value;
}

LoomTrainWindow *
loom_train_window_new (const gchar        *role,
                       const gchar        *title,
                       const gchar        *device,
                       const gchar *const *curves)
{
  LoomTrainWindow *window;
  GtkWidget       *content, *hbox, *vbox, *grid, *frame, *box, *device_label;

  g_return_val_if_fail (role != NULL && title != NULL && device != NULL, NULL);
  g_return_val_if_fail (curves != NULL && curves[0] != NULL, NULL);

  gimp_ui_init (LOOM_PLUGIN_BINARY);

  window = g_new0 (LoomTrainWindow, 1);
  window->role     = g_strdup (role);
  window->started  = g_get_monotonic_time ();
  window->state    = LOOM_TRAIN_WINDOW_RUNNING;
  window->names    = g_strdupv ((gchar **) curves);
  window->n_curves = g_strv_length (window->names);
  window->steps    = g_array_new (FALSE, FALSE, sizeof (guint));
  window->losses   = g_new (GArray *, window->n_curves);
  for (guint c = 0; c < window->n_curves; c++)
    window->losses[c] = g_array_new (FALSE, FALSE, sizeof (float));
  g_mutex_init (&window->lock);

  window->dialog = gimp_dialog_new (title, role, NULL, 0, NULL, NULL,
                                    "_Cancel", GTK_RESPONSE_CANCEL,
                                    "_Stop",   RESPONSE_STOP,
                                    NULL);
  gimp_dialog_set_alternative_button_order (GTK_DIALOG (window->dialog),
                                            RESPONSE_STOP, GTK_RESPONSE_CANCEL, -1);
  gimp_help_set_help_data (gtk_dialog_get_widget_for_response (GTK_DIALOG (window->dialog),
                                                               RESPONSE_STOP),
                           "Finish now: save the model trained so far and carry on "
                           "(segment after, …)", NULL);
  gimp_help_set_help_data (gtk_dialog_get_widget_for_response (GTK_DIALOG (window->dialog),
                                                               GTK_RESPONSE_CANCEL),
                           "Stop and keep nothing: no model, the image as it was", NULL);
  gtk_window_set_resizable (GTK_WINDOW (window->dialog), FALSE);
  g_signal_connect (window->dialog, "response", G_CALLBACK (on_response), window);
  g_signal_connect (window->dialog, "delete-event", G_CALLBACK (on_delete), window);

  content = gtk_dialog_get_content_area (GTK_DIALOG (window->dialog));
  hbox = gtk_box_new (GTK_ORIENTATION_HORIZONTAL, 12);
  gtk_container_set_border_width (GTK_CONTAINER (hbox), 12);
  gtk_box_pack_start (GTK_BOX (content), hbox, TRUE, TRUE, 0);

  /* the preview, left */
  frame = gimp_frame_new ("Preview");
  gtk_box_pack_start (GTK_BOX (hbox), frame, FALSE, FALSE, 0);
  box = gtk_box_new (GTK_ORIENTATION_VERTICAL, 0);
  gtk_widget_set_size_request (box, PREVIEW_SIDE, PREVIEW_SIDE);
  gtk_container_add (GTK_CONTAINER (frame), box);
  window->preview = gtk_image_new ();
  gtk_box_pack_start (GTK_BOX (box), window->preview, TRUE, TRUE, 0);
  window->preview_hint = gtk_label_new ("The preview comes\nwith the first checkpoint");
  gtk_label_set_justify (GTK_LABEL (window->preview_hint), GTK_JUSTIFY_CENTER);
  gtk_widget_set_sensitive (window->preview_hint, FALSE);
  gtk_box_pack_start (GTK_BOX (box), window->preview_hint, TRUE, TRUE, 0);
  window->preview_caption = gtk_label_new (NULL);
  gtk_widget_set_sensitive (window->preview_caption, FALSE);
  gtk_box_pack_end (GTK_BOX (box), window->preview_caption, FALSE, FALSE, 0);

  /* the numbers and the curve, right */
  vbox = gtk_box_new (GTK_ORIENTATION_VERTICAL, 8);
  gtk_box_pack_start (GTK_BOX (hbox), vbox, TRUE, TRUE, 0);
  grid = gtk_grid_new ();
  gtk_grid_set_row_spacing (GTK_GRID (grid), 4);
  gtk_grid_set_column_spacing (GTK_GRID (grid), 12);
  gtk_box_pack_start (GTK_BOX (vbox), grid, FALSE, FALSE, 0);
  device_label = row (GTK_GRID (grid), 0, "Device");
  gtk_label_set_text (GTK_LABEL (device_label), device);
  gtk_widget_set_tooltip_text (device_label, device);
  window->step_label = row (GTK_GRID (grid), 1, "Step");
  window->loss_label = row (GTK_GRID (grid), 2, "Loss");
  window->time_label = row (GTK_GRID (grid), 3, "Time");

  window->progress = gtk_progress_bar_new ();
  gtk_box_pack_start (GTK_BOX (vbox), window->progress, FALSE, FALSE, 0);

  window->curve = gtk_drawing_area_new ();
  gtk_widget_set_size_request (window->curve, CURVE_WIDTH, CURVE_HEIGHT);
  g_signal_connect (window->curve, "draw", G_CALLBACK (on_curve_draw), window);
  gtk_box_pack_start (GTK_BOX (vbox), window->curve, TRUE, TRUE, 0);

  window->status_label = gtk_label_new ("Stop keeps the model trained so far; "
                                        "Cancel keeps nothing.");
  gtk_label_set_xalign (GTK_LABEL (window->status_label), 0.0);
  gtk_label_set_line_wrap (GTK_LABEL (window->status_label), TRUE);
  gtk_label_set_max_width_chars (GTK_LABEL (window->status_label), 50);
  gimp_label_set_attributes (GTK_LABEL (window->status_label),
                             PANGO_ATTR_STYLE, PANGO_STYLE_ITALIC, -1);
  gtk_box_pack_start (GTK_BOX (vbox), window->status_label, FALSE, FALSE, 0);

  gtk_widget_show_all (window->dialog);
  gtk_widget_hide (window->preview);
  window->refresh_id = g_timeout_add (REFRESH_MS, refresh, window);

  return window;
}

void
loom_train_window_update (LoomTrainWindow *window,
                          guint            step,
                          guint            total,
                          const float     *losses,
                          double           eta)
{
  g_mutex_lock (&window->lock);
  g_array_append_val (window->steps, step);
  for (guint c = 0; c < window->n_curves; c++)
    g_array_append_val (window->losses[c], losses[c]);
  window->step  = step;
  window->total = total;
  window->eta   = eta;
  window->dirty = TRUE;
  g_mutex_unlock (&window->lock);
}

void
loom_train_window_set_preview (LoomTrainWindow *window,
                               GdkPixbuf       *preview)
{
  g_mutex_lock (&window->lock);
  g_clear_object (&window->pending);
  window->pending = g_object_ref (preview);
  window->pending_step = window->step;
  window->dirty = TRUE;
  g_mutex_unlock (&window->lock);
}

static void
free_pixels (guchar   *pixels,
             gpointer  data)
{
  g_free (pixels);
}

void
loom_train_window_set_preview_rgba8 (LoomTrainWindow *window,
                                     const guint8    *rgba,
                                     guint            w,
                                     guint            h)
{
  GdkPixbuf *pixbuf = gdk_pixbuf_new_from_data (g_memdup2 (rgba, 4 * (gsize) w * h),
                                                GDK_COLORSPACE_RGB, TRUE, 8, w, h, 4 * w,
                                                free_pixels, NULL);

  loom_train_window_set_preview (window, pixbuf);
  g_object_unref (pixbuf);
}

void
loom_train_window_set_previewer (LoomTrainWindow *window,
                                 guint            every,
                                 GFunc            func,
                                 gpointer         data)
{
  window->preview_every = every;
  window->preview_func  = func;
  window->preview_data  = data;
}

gboolean
loom_train_window_step (LoomTrainWindow *window,
                        guint            step,
                        guint            total,
                        const float     *losses,
                        double           eta)
{
  loom_train_window_update (window, step, total, losses, eta);
  /* The training wrote its checkpoint just before calling this step's
   * callback: the previewer reads it. */
  if (window->preview_func != NULL && window->preview_every > 0 &&
      (step % window->preview_every == 0 || (step == 1 && window->preview_first)) &&
      loom_train_window_get_state (window) == LOOM_TRAIN_WINDOW_RUNNING)
    window->preview_func (window->preview_data, NULL);

  return loom_train_window_get_state (window) == LOOM_TRAIN_WINDOW_RUNNING;
}

void
loom_train_window_set_status (LoomTrainWindow *window,
                              const gchar     *text)
{
  g_mutex_lock (&window->lock);
  g_free (window->status);
  window->status = g_strdup (text);
  window->dirty = TRUE;
  g_mutex_unlock (&window->lock);
}

LoomTrainWindowState
loom_train_window_get_state (LoomTrainWindow *window)
{
  return g_atomic_int_get (&window->state);
}

typedef struct
{
  GThreadFunc  func;
  gpointer     data;
  gpointer     result;
  GMainLoop   *loop;
} Job;

static gboolean
job_done (gpointer data)
{
  g_main_loop_quit (((Job *) data)->loop);

  return G_SOURCE_REMOVE;
}

static gpointer
job_thread (gpointer data)
{
  Job *job = data;

  job->result = job->func (job->data);
  g_idle_add (job_done, job);

  return NULL;
}

gpointer
loom_train_window_run (LoomTrainWindow *window,
                       GThreadFunc      func,
                       gpointer         data)
{
  Job      job = { func, data, NULL, g_main_loop_new (NULL, FALSE) };
  GThread *thread;

  thread = g_thread_new ("loom-train", job_thread, &job);
  g_main_loop_run (job.loop);
  g_thread_join (thread);
  g_main_loop_unref (job.loop);

  /* what came in last, shown before the window goes */
  refresh (window);
  gtk_dialog_set_response_sensitive (GTK_DIALOG (window->dialog), RESPONSE_STOP, FALSE);
  gtk_dialog_set_response_sensitive (GTK_DIALOG (window->dialog), GTK_RESPONSE_CANCEL, FALSE);
  while (gtk_events_pending ())
    gtk_main_iteration ();

  return job.result;
}

void
loom_train_window_free (LoomTrainWindow *window)
{
  if (window == NULL)
    return;

  g_source_remove (window->refresh_id);
  gtk_widget_destroy (window->dialog);
  while (gtk_events_pending ())
    gtk_main_iteration ();
  for (guint c = 0; c < window->n_curves; c++)
    g_array_unref (window->losses[c]);
  g_free (window->losses);
  g_array_unref (window->steps);
  g_strfreev (window->names);
  g_clear_object (&window->pending);
  g_free (window->status);
  g_free (window->role);
  g_mutex_clear (&window->lock);
  g_free (window);
}

/* ---- one training, window or progress bar -------------------------------- */

LoomWeights *
loom_train_run (LoomTrainRun        *run,
                GimpRunMode          run_mode,
                const gchar         *role,
                const gchar         *model_name,
                LoomDevice          *device,
                const gchar *const  *curves,
                guint                every,
                GFunc                preview,
                GThreadFunc          train,
                gpointer             data,
                gboolean            *cancelled,
                GError             **error)
{
  *cancelled = FALSE;
  if (run_mode == GIMP_RUN_INTERACTIVE)
    {
      gchar *title = g_strdup_printf ("Loom: Training '%s'", model_name);

      /* previews on a CPU device of their own: cheap at their size, no GPU
       * memory taken from the training, no second graph run on the
       * training device from inside its own step callback */
      run->preview_device = loom_device_open ("cpu", error);
      if (run->preview_device == NULL)
        {
          g_free (title);
          return NULL;
        }
      run->window = loom_train_window_new (role, title, loom_device_get_info (device)->name,
                                           curves);
      loom_train_window_set_previewer (run->window, every, preview, data);
      run->window->preview_first = run->preview_first;
      g_free (title);
      loom_train_window_run (run->window, train, data);
      *cancelled = loom_train_window_get_state (run->window) == LOOM_TRAIN_WINDOW_CANCEL;
      g_clear_pointer (&run->window, loom_train_window_free);
      g_clear_pointer (&run->preview_device, loom_device_free);
    }
  else
    {
      loom_plugin_progress_init (&run->bar, "Training", device);
      train (data);
    }

  if (run->result == NULL)
    g_propagate_error (error, g_steal_pointer (&run->error));
  g_clear_error (&run->error);

  return g_steal_pointer (&run->result);
}

gboolean
loom_train_run_step (const LoomTrainProgress *progress,
                     gpointer                 data)
{
  LoomTrainRun *run = data;
  float         values[LOOM_TRAIN_MAX_LOSSES] = { 0 };
  GString      *detail;

  if (run->window != NULL)
    {
      for (guint i = 0; i < progress->n_losses && i < G_N_ELEMENTS (values); i++)
        values[i] = progress->losses[i].value;

      return loom_train_window_step (run->window, progress->step, progress->total, values,
                                     progress->eta);
    }

  /* GIMP's bar: "loss 0.1234", several with fewer digits, "D 0.693, G 0.693" */
  detail = g_string_new (NULL);
  for (guint i = 0; i < progress->n_losses; i++)
    g_string_append_printf (detail, "%s%s %.*f", i > 0 ? ", " : "", progress->losses[i].name,
                            progress->n_losses > 1 ? 3 : 4, progress->losses[i].value);
  loom_plugin_progress_show (&run->bar, progress->step, progress->total, detail->str,
                             progress->eta);
  g_string_free (detail, TRUE);

  return TRUE;
}

gboolean
loom_train_save (LoomWeights  *result,
                 const gchar  *path,
                 const gchar  *checkpoint,
                 GError      **error)
{
  if (! loom_weights_save (result, path, error))
    return FALSE;
  g_remove (checkpoint);   /* the model has it all now */

  return TRUE;
}

GimpValueArray *
loom_train_return_values (GimpProcedure *procedure,
                          gboolean       ok,
                          gboolean       cancelled,
                          GError        *error,
                          const gchar   *path,
                          GimpLayer     *layer)
{
  GimpValueArray *ret;
  GFile          *file;

  if (! ok && cancelled)
    {
      g_clear_error (&error);

      return gimp_procedure_new_return_values (procedure, GIMP_PDB_CANCEL, NULL);
    }
  if (! ok)
    return gimp_procedure_new_return_values (procedure, GIMP_PDB_EXECUTION_ERROR, error);

  gimp_progress_end ();
  ret  = gimp_procedure_new_return_values (procedure, GIMP_PDB_SUCCESS, NULL);
  file = g_file_new_for_path (path);
  GIMP_VALUES_SET_FILE (ret, 1, file);
  GIMP_VALUES_SET_LAYER (ret, 2, layer);
  g_object_unref (file);

  return ret;
}
