/* dialogs.c -- the procedures' dialogs: GIMP's dialog of a procedure's
 * arguments, a default label layer, and the test suite's screenshot hook. */

#include <stdio.h>
#include <string.h>

#include <libgimp/gimpui.h>

#include "loom-plugin.h"

void
loom_plugin_default_label_layer (GimpProcedureConfig *config,
                                 GimpImage           *image,
                                 GimpDrawable        *drawable)
{
  GimpLayer  *label = NULL;
  GimpLayer **layers;

  g_object_get (config, "label-layer", &label, NULL);
  if (label != NULL)
    {
      g_object_unref (label);   /* g_object_get's reference */
      return;
    }
  /* the image's layers are libgimp's: not ours to unref */
  layers = gimp_image_get_layers (image);
  for (gint i = 0; layers != NULL && layers[i] != NULL; i++)
    if (GIMP_DRAWABLE (layers[i]) != drawable)
      {
        g_object_set (config, "label-layer", layers[i], NULL);
        break;
      }
  g_free (layers);
}

/* ---- the test suite's screenshots ---------------------------------------- */

typedef struct
{
  GtkDialog *dialog;
  gchar     *name;
  gint       response;
  gulong     handler;
} Shot;

static void
shot_free (Shot *shot)
{
  g_object_unref (shot->dialog);
  g_free (shot->name);
  g_free (shot);
}

static gboolean
shot_take (gpointer data)
{
  Shot      *shot   = data;
  GdkWindow *window = gtk_widget_get_window (GTK_WIDGET (shot->dialog));
  GtkWidget *button;

  /* gone meanwhile (the training ended first): nothing to take */
  if (window == NULL || ! gtk_widget_get_mapped (GTK_WIDGET (shot->dialog)))
    return G_SOURCE_REMOVE;

  {
    GdkPixbuf *pixbuf = gdk_pixbuf_get_from_window (window, 0, 0,
                                                    gdk_window_get_width (window),
                                                    gdk_window_get_height (window));
    gchar     *file   = g_strconcat (shot->name, ".png", NULL);
    gchar     *path   = g_build_filename (g_getenv ("LOOM_PLUGIN_SCREENSHOTS"), file, NULL);
    GError    *error  = NULL;

    if (pixbuf == NULL || ! gdk_pixbuf_save (pixbuf, path, "png", &error, NULL))
      g_printerr ("loom: screenshot %s not saved: %s\n", path,
                  error != NULL ? error->message : "no pixels");
    g_clear_error (&error);
    g_clear_object (&pixbuf);
    g_free (path);
    g_free (file);
  }

  /* the real button, as a click would */
  button = gtk_dialog_get_widget_for_response (shot->dialog, shot->response);
  if (button != NULL)
    gtk_button_clicked (GTK_BUTTON (button));
  else
    gtk_dialog_response (shot->dialog, shot->response);

  return G_SOURCE_REMOVE;
}

static gboolean
shot_drawn (GtkWidget *widget,
            cairo_t   *cr,
            gpointer   data)
{
  Shot *shot = data;

  /* Once drawn; a little later, so that what draws lazily has drawn. */
  g_signal_handler_disconnect (widget, shot->handler);
  g_timeout_add_full (G_PRIORITY_DEFAULT, 1000, shot_take, shot, (GDestroyNotify) shot_free);

  return FALSE;
}

void
loom_plugin_screenshot_then_press (GtkDialog   *dialog,
                                   const gchar *name,
                                   gint         response)
{
  const gchar *dir = g_getenv ("LOOM_PLUGIN_SCREENSHOTS");
  Shot        *shot;

  if (dir == NULL || dir[0] == '\0')
    return;

  shot = g_new0 (Shot, 1);
  shot->dialog   = g_object_ref (dialog);
  shot->name     = g_strdup (name);
  shot->response = response;
  if (gtk_widget_is_drawable (GTK_WIDGET (dialog)))
    {
      /* already on screen (the training window, at its first preview) */
      gtk_widget_queue_draw (GTK_WIDGET (dialog));
      g_timeout_add_full (G_PRIORITY_DEFAULT, 1000, shot_take, shot, (GDestroyNotify) shot_free);
    }
  else
    shot->handler = g_signal_connect_after (dialog, "draw", G_CALLBACK (shot_drawn), shot);
}

/* GIMP 3.0's drawable chooser fetches its thumbnail when its drawable is
 * set, before it has a size: a blank square.  Set it again once sized. */
static void
chooser_allocated (GtkWidget     *chooser,
                   GtkAllocation *allocation,
                   gpointer       data)
{
  GimpDrawableChooser *c = GIMP_DRAWABLE_CHOOSER (chooser);

  g_signal_handlers_disconnect_by_func (chooser, chooser_allocated, data);
  gimp_drawable_chooser_set_drawable (c, gimp_drawable_chooser_get_drawable (c));
}

gboolean
loom_plugin_dialog_run (GimpProcedure       *procedure,
                        GimpProcedureConfig *config,
                        const gchar         *title)
{
  return loom_plugin_dialog_run_full (procedure, config, title, NULL);
}

GtkWidget *
loom_plugin_dialog_new (GimpProcedure       *procedure,
                        GimpProcedureConfig *config,
                        const gchar         *title,
                        const gchar         *note)
{
  GtkWidget *dialog;

  gimp_ui_init (LOOM_PLUGIN_BINARY);
  dialog = gimp_procedure_dialog_new (procedure, config, title);
  if (GIMP_IS_IMAGE_PROCEDURE (procedure))
    gimp_procedure_dialog_fill (GIMP_PROCEDURE_DIALOG (dialog), NULL);
  else
    {
      /* A plain procedure's run mode is one of its arguments, which the
       * dialog would show as a choice: every argument but that one. */
      gint         n;
      GParamSpec **args  = gimp_procedure_get_arguments (procedure, &n);
      GList       *names = NULL;

      for (gint i = n - 1; i >= 0; i--)
        if (g_strcmp0 (args[i]->name, "run-mode") != 0)
          names = g_list_prepend (names, (gpointer) args[i]->name);
      gimp_procedure_dialog_fill_list (GIMP_PROCEDURE_DIALOG (dialog), names);
      g_list_free (names);
    }
  if (note != NULL)
    {
      GtkWidget *label = gimp_procedure_dialog_get_label (GIMP_PROCEDURE_DIALOG (dialog),
                                                          "loom-note", note, FALSE, FALSE);

      gtk_label_set_xalign (GTK_LABEL (label), 0.0);
      gimp_procedure_dialog_fill (GIMP_PROCEDURE_DIALOG (dialog), "loom-note", NULL);
    }
  {
    gint         n;
    GParamSpec **args = gimp_procedure_get_arguments (procedure, &n);

    for (gint i = 0; i < n; i++)
      {
        GtkWidget *widget;

        if (! g_type_is_a (G_PARAM_SPEC_VALUE_TYPE (args[i]), GIMP_TYPE_DRAWABLE))
          continue;
        widget = gimp_procedure_dialog_get_widget (GIMP_PROCEDURE_DIALOG (dialog),
                                                   args[i]->name, G_TYPE_NONE);
        if (GIMP_IS_DRAWABLE_CHOOSER (widget))
          g_signal_connect_after (widget, "size-allocate", G_CALLBACK (chooser_allocated), NULL);
      }
  }

  return dialog;
}

gboolean
loom_plugin_dialog_wait (GimpProcedure *procedure,
                         GtkWidget     *dialog)
{
  gboolean run;

  loom_plugin_screenshot_then_press (GTK_DIALOG (dialog), gimp_procedure_get_name (procedure),
                                     GTK_RESPONSE_OK);
  run = gimp_procedure_dialog_run (GIMP_PROCEDURE_DIALOG (dialog));
  gtk_widget_destroy (dialog);

  return run;
}

gboolean
loom_plugin_dialog_run_full (GimpProcedure       *procedure,
                             GimpProcedureConfig *config,
                             const gchar         *title,
                             const gchar         *note)
{
  return loom_plugin_dialog_wait (procedure,
                                  loom_plugin_dialog_new (procedure, config, title, note));
}
