/* plugin.c -- Loom's GIMP 3 plug-in: the GimpPlugIn type and the list of
 * its procedures (each family in a file of its own). */

#include "loom-plugin.h"

typedef struct _LoomPlugIn      LoomPlugIn;
typedef struct _LoomPlugInClass LoomPlugInClass;

struct _LoomPlugIn
{
  GimpPlugIn parent_instance;
};

struct _LoomPlugInClass
{
  GimpPlugInClass parent_class;
};

#define LOOM_TYPE_PLUG_IN (loom_plug_in_get_type ())

GType loom_plug_in_get_type (void) G_GNUC_CONST;

G_DEFINE_TYPE (LoomPlugIn, loom_plug_in, GIMP_TYPE_PLUG_IN)

GIMP_MAIN (LOOM_TYPE_PLUG_IN)

static const struct
{
  const gchar    *name;
  GimpProcedure *(*create) (GimpPlugIn *plug_in, const gchar *name);
} procedures[] =
{
  { LOOM_PROC_TRAIN_SEG, loom_train_segmentation_procedure_new },
  { LOOM_PROC_SEGMENT,   loom_segment_procedure_new },
  { LOOM_PROC_GENERATE,  loom_generate_procedure_new },
  { LOOM_PROC_TRAIN_GEN, loom_train_generator_procedure_new },
  { LOOM_PROC_AUGMENT,   loom_augment_procedure_new },
  { LOOM_PROC_PREFERENCES, loom_preferences_procedure_new },
};

static GList *
loom_plug_in_query_procedures (GimpPlugIn *plug_in)
{
  GList *list = NULL;

  for (guint i = 0; i < G_N_ELEMENTS (procedures); i++)
    list = g_list_append (list, g_strdup (procedures[i].name));

  return list;
}

static GimpProcedure *
loom_plug_in_create_procedure (GimpPlugIn  *plug_in,
                               const gchar *name)
{
  for (guint i = 0; i < G_N_ELEMENTS (procedures); i++)
    if (g_strcmp0 (name, procedures[i].name) == 0)
      return procedures[i].create (plug_in, name);

  return NULL;
}

/* No translations yet: without this libgimp looks for a locale folder
 * beside the binary and warns that there is none. */
static gboolean
loom_plug_in_set_i18n (GimpPlugIn   *plug_in,
                       const gchar  *procedure_name,
                       gchar       **gettext_domain,
                       gchar       **catalog_dir)
{
  return FALSE;
}

static void
loom_plug_in_class_init (LoomPlugInClass *klass)
{
  GimpPlugInClass *plug_in_class = GIMP_PLUG_IN_CLASS (klass);

  plug_in_class->query_procedures = loom_plug_in_query_procedures;
  plug_in_class->create_procedure = loom_plug_in_create_procedure;
  plug_in_class->set_i18n         = loom_plug_in_set_i18n;
}

static void
loom_plug_in_init (LoomPlugIn *plug_in)
{
}
