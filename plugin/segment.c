/* segment.c -- plug-in-loom-segment: label every pixel of a layer with a
 * trained model, as a colour layer, a confidence layer and/or a selection
 * of one class. */

#include <string.h>


#include "loom-plugin.h"

static GimpValueArray *segment_run    (GimpProcedure        *procedure,
                                       GimpRunMode           run_mode,
                                       GimpImage            *image,
                                       GimpDrawable        **drawables,
                                       GimpProcedureConfig  *config,
                                       gpointer              run_data);

GimpProcedure *
loom_segment_procedure_new (GimpPlugIn  *plug_in,
                            const gchar *name)
{
  GimpProcedure *procedure;

  procedure = gimp_image_procedure_new (plug_in, name, GIMP_PDB_PROC_TYPE_PLUGIN,
                                        segment_run, NULL, NULL);

  gimp_procedure_set_image_types (procedure, "RGB*");
  gimp_procedure_set_sensitivity_mask (procedure, GIMP_PROCEDURE_SENSITIVE_DRAWABLE);
  gimp_procedure_set_menu_label (procedure, "_Segment...");
  gimp_procedure_add_menu_path (procedure, LOOM_PLUGIN_MENU);
  gimp_procedure_set_documentation (procedure,
                                    "Label every pixel of a layer with a trained Loom model",
                                    "Runs a segmentation model (trained with Train "
                                    "Segmentation or `loom train-seg`) over the whole "
                                    "layer and adds, above it and at its offsets, a layer "
                                    "of the classes in their colours, a confidence layer "
                                    "(white: sure), a layer group of one masked or cut-out "
                                    "layer per class and/or a selection of chosen "
                                    "classes, probability masks, an uncertainty layer "
                                    "the squares to paint next and the evidence for the "
                                    "selection.  With "
                                    "an active selection only pixels inside it are "
                                    "written; the layer's transparent pixels stay "
                                    "unlabelled.  One undo step.  LOOM_DEVICE picks the "
                                    "device (default: the best GPU, else the CPU).",
                                    name);
  gimp_procedure_set_attribution (procedure, "Loom", "Loom authors", "2026");

  gimp_procedure_add_file_argument (procedure, "model-file",
                                    "_Model",
                                    "A Loom segmentation model (.safetensors); none: the "
                                    "newest in the models folder",
                                    GIMP_FILE_CHOOSER_ACTION_OPEN, TRUE, NULL,
                                    G_PARAM_READWRITE);
  gimp_procedure_add_boolean_argument (procedure, "label-layer",
                                       "Colour la_bel layer",
                                       "Add a layer of the classes in their colours",
                                       TRUE, G_PARAM_READWRITE);
  gimp_procedure_add_boolean_argument (procedure, "confidence-layer",
                                       "Con_fidence layer",
                                       "Add a grey layer: white where the model is sure",
                                       FALSE, G_PARAM_READWRITE);
  gimp_procedure_add_choice_argument (procedure, "class-layers",
                                      "One la_yer per class",
                                      "A layer group with one layer per class: copies of "
                                      "the layer masked by the class, or cut out by it",
                                      gimp_choice_new_with_values (
                                        "none",    LOOM_CLASS_LAYERS_NONE,    "None", NULL,
                                        "masks",   LOOM_CLASS_LAYERS_MASKS,   "Layers with masks", NULL,
                                        "cutouts", LOOM_CLASS_LAYERS_CUTOUTS, "Cut-out layers", NULL,
                                        NULL),
                                      "none", G_PARAM_READWRITE);
  gimp_procedure_add_string_argument (procedure, "select-classes",
                                      "Select cl_asses",
                                      "Make these classes the selection: numbers (0 = the "
                                      "first colour painted), names or #rrggbb colours, "
                                      "separated by commas; empty: none",
                                      "", G_PARAM_READWRITE);
  gimp_procedure_add_enum_argument (procedure, "channel-op",
                                    "Selection mo_de",
                                    "How the class combines with the current selection",
                                    GIMP_TYPE_CHANNEL_OPS, GIMP_CHANNEL_OP_REPLACE,
                                    G_PARAM_READWRITE);

  gimp_procedure_add_boolean_argument (procedure, "probability-masks",
                                       "_Probability masks",
                                       "A layer group with one copy of the layer per class, "
                                       "the class's probability as its layer mask (soft: "
                                       "grey where the model is unsure)",
                                       FALSE, G_PARAM_READWRITE);
  gimp_procedure_add_boolean_argument (procedure, "uncertainty-layer",
                                       "_Uncertainty layer",
                                       "Add a grey layer of the entropy: white where every "
                                       "class is alike, black where the model is sure",
                                       FALSE, G_PARAM_READWRITE);
  gimp_procedure_add_int_argument (procedure, "paint-next",
                                   "Paint _here next",
                                   "Mark this many squares where a stroke would help most "
                                   "(the most uncertain, none touching) on a transparent "
                                   "layer; 0: none",
                                   0, 50, 0, G_PARAM_READWRITE);
  gimp_procedure_add_boolean_argument (procedure, "evidence-layer",
                                       "_Evidence for the selection",
                                       "Add a grey layer of what pushed the selected pixels "
                                       "towards their most predicted class: white where "
                                       "greying the image out lowers that class most "
                                       "(occlusion; needs a selection, which here is the "
                                       "region explained, not a limit)",
                                       FALSE, G_PARAM_READWRITE);

  gimp_procedure_add_layer_return_value (procedure, "segmentation",
                                         "Segmentation", "The label layer made (or none)",
                                         TRUE, G_PARAM_READWRITE);
  gimp_procedure_add_layer_return_value (procedure, "class-group",
                                         "Class layers", "The group of class layers (or none)",
                                         TRUE, G_PARAM_READWRITE);

  return procedure;
}

/* ---- the procedure: check -> collect -> run -> output ----------------------- */

/* One run of the procedure: its arguments, then what each step adds.  Its
 * steps fill it in order; job_clear frees what any of them made. */
typedef struct
{
  /* the arguments, as the dialog or the caller left them */
  GimpDrawable      *drawable;
  GFile             *file;
  gchar             *select;
  LoomPluginOutputs  outputs;

  /* collect: the model, its name (for the layers) and classes */
  gchar             *path;
  gchar             *name;
  LoomWeights       *weights;
  GArray            *colors;
  char             **names;

  /* run and output: the device, the layers made */
  LoomDevice        *device;
  GimpLayer         *layer;
  GimpLayer         *group;
} Job;

static void
job_get_arguments (Job                 *job,
                   GimpProcedureConfig *config)
{
  g_object_get (config,
                "model-file",       &job->file,
                "label-layer",      &job->outputs.label_layer,
                "confidence-layer", &job->outputs.confidence,
                "select-classes",   &job->select,
                "channel-op",       &job->outputs.channel_op,
                "probability-masks", &job->outputs.probabilities,
                "uncertainty-layer", &job->outputs.uncertainty,
                "paint-next",       &job->outputs.paint_next,
                "evidence-layer",   &job->outputs.evidence,
                NULL);
  job->outputs.class_layers =
    gimp_procedure_config_get_choice_id (config, "class-layers");
  if (job->select == NULL)
    job->select = g_strdup ("");
}

/* The model file (else the newest in the models folder) and something to
 * make. */
static gboolean
job_check (Job     *job,
           GError **error)
{
  /* Script-Fu hands "" over as a file with an empty path: none. */
  if (job->file != NULL && (job->path = g_file_get_path (job->file)) == NULL)
    g_clear_object (&job->file);
  g_clear_pointer (&job->path, g_free);
  if (job->file == NULL && (job->file = loom_plugin_newest_model (error)) == NULL)
    return FALSE;

  if (! job->outputs.label_layer && ! job->outputs.confidence
      && g_strstrip (job->select)[0] == '\0'
      && job->outputs.class_layers == LOOM_CLASS_LAYERS_NONE
      && ! job->outputs.probabilities && ! job->outputs.uncertainty
      && job->outputs.paint_next == 0 && ! job->outputs.evidence)
    {
      g_set_error (error, GIMP_PLUG_IN_ERROR, 0,
                   "Nothing to make: ask for the label layer, the confidence layer, "
                   "class layers, classes to select, probability masks, the uncertainty "
                   "squares to paint next or the evidence");
      return FALSE;
    }

  return TRUE;
}

/* The model and its classes, the classes to select among them. */
static gboolean
job_collect (Job     *job,
             GError **error)
{
  job->path = g_file_get_path (job->file);
  job->name = loom_plugin_model_name (job->file);
  if (! g_file_test (job->path, G_FILE_TEST_IS_REGULAR))
    {
      g_set_error (error, GIMP_PLUG_IN_ERROR, 0, "Model file %s: no such file", job->path);
      return FALSE;
    }
  job->weights = loom_weights_load (job->path, error);
  if (job->weights == NULL)
    {
      g_prefix_error (error, "Model file ");         /* the error names it */
      return FALSE;
    }
  job->colors = loom_segment_get_classes (job->weights, &job->names, error);
  if (job->colors == NULL ||
      ! loom_plugin_parse_classes (job->select, job->colors, job->names, job->name,
                                   &job->outputs.select_classes, error))
    {
      g_prefix_error (error, "Model file %s: ", job->path);
      return FALSE;
    }

  return TRUE;
}

/* The segmentation and its outputs (segment-output.c: nothing touches the
 * image before every result is computed). */
static gboolean
job_run (Job        *job,
         GimpImage  *image,
         GError    **error)
{
  job->device = loom_plugin_open_device (error);
  if (job->device == NULL)
    return FALSE;

  return loom_plugin_segment (image, job->drawable, job->device, job->weights, job->name,
                              &job->outputs, &job->layer, &job->group, error);
}

static void
job_clear (Job *job)
{
  if (job->device != NULL)
    loom_device_free (job->device);
  if (job->weights != NULL)
    loom_weights_free (job->weights);
  if (job->colors != NULL)
    g_array_unref (job->colors);
  g_strfreev (job->names);
  g_clear_object (&job->file);
  g_free (job->path);
  g_free (job->name);
  g_free (job->select);
}

static GimpValueArray *
segment_run (GimpProcedure        *procedure,
             GimpRunMode           run_mode,
             GimpImage            *image,
             GimpDrawable        **drawables,
             GimpProcedureConfig  *config,
             gpointer              run_data)
{
  Job             job = { 0 };
  GimpValueArray *ret;
  GError         *error = NULL;

  gegl_init (NULL, NULL);

  job.drawable = loom_plugin_check_drawable (procedure, image, drawables, &error);
  if (job.drawable == NULL)
    return gimp_procedure_new_return_values (procedure, GIMP_PDB_CALLING_ERROR, error);

  if (run_mode == GIMP_RUN_INTERACTIVE)
    {
      gchar *text = NULL;

      /* GIMP hands an empty string argument over as NULL, which its text
       * entry refuses (a critical): give the entry "" */
      g_object_get (config, "select-classes", &text, NULL);
      if (text == NULL)
        g_object_set (config, "select-classes", "", NULL);
      g_free (text);
      if (! loom_plugin_dialog_run (procedure, config, "Loom: Segment"))
        return gimp_procedure_new_return_values (procedure, GIMP_PDB_CANCEL, NULL);
    }

  job_get_arguments (&job, config);
  if (job_check (&job, &error) && job_collect (&job, &error) && job_run (&job, image, &error))
    {
      gimp_progress_end ();
      ret = gimp_procedure_new_return_values (procedure, GIMP_PDB_SUCCESS, NULL);
      GIMP_VALUES_SET_LAYER (ret, 1, job.layer);
      GIMP_VALUES_SET_LAYER (ret, 2, job.group);
    }
  else
    ret = gimp_procedure_new_return_values (procedure, GIMP_PDB_EXECUTION_ERROR, error);
  job_clear (&job);

  return ret;
}
