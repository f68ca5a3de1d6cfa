/* loom: the command line over Loom's compute core — the same core as the
 * GIMP plug-in, for scripts, batch jobs and machines without a display.
 * The commands are in the files named after them (info.c, bench-command.c,
 * segment-commands.c, …); here the usage and the dispatch.
 *
 * Exit status: 0 on success, 2 for bad usage, 1 for a runtime error. */
#include <locale.h>
#include <stdio.h>
#include <string.h>

#include <gegl.h>

#include <loom/loom.h>
#include "common.h"

static const char usage[] =
         "usage: loom COMMAND [OPTIONS]\n"
         "\n"
         "commands:\n"
         "  info      [--json]                backends, devices, limits, and a GEMM on each\n"
         "  train-seg --image IMG --labels LBL [--image IMG --labels LBL …] -o MODEL\n"
         "            [--init MODEL] [--steps N | --time SECONDS] [--seed S] [--device D]\n"
         "                                    a segmentation model from painted labels\n"
         "  segment   --model MODEL -i IMG -o OUT.png [--format color|index|overlay]\n"
         "            [--confidence CONF.png] [--probabilities DIR] [--uncertainty U.png]\n"
         "            [--device D]            label every pixel of an image\n"
         "  explain   --model MODEL -i IMG [--region MASK.png|x,y,w,h -o EVIDENCE.png\n"
         "            [--class N|#rrggbb]] [--next NEXT.png [--count K]]\n"
         "                                    what a region's class rests on; where to paint next\n"
         "  train-gan --kind dcgan|texture|pix2pix (--images DIR_OR_FILES… | --image IMG\n"
         "            [--labels LBL]) -o MODEL [--steps N | --time SECONDS] [--size PX] [--seed S]\n"
         "                                    a texture or image generator\n"
         "  generate  --model MODEL -o OUT.png [--count N] [--size WxH] [--seed S] [--tileable]\n"
         "            [--labels LBL]          images from a generator (pix2pix: from labels)\n"
         "  augment   -i IMG [--labels LBL] -o OUTDIR --count N [--seed S] [transforms]\n"
         "                                    augmented copies of an image and its labels\n"
         "  bench     [--backend cpu|vulkan] [--json] [--only NAMES] [--sizes 1024,2048]\n"
         "            [--repeat N]            GEMM, convolution and model timings\n"
         "  demo      [-o DIR]                the main job on the bundled sample\n"
         "\n"
         "'loom COMMAND --help' lists a command's options.\n"
         "\n"
         "environment: LOOM_DEVICE (auto, cpu, vulkan, an index or part of a name),\n"
         "LOOM_PROFILE=1 (time per op), LOOM_VALIDATION=1 (Vulkan validation layer),\n"
         "LOOM_MAX_PIXELS (the largest image read; default: what memory holds)\n";

/* GEGL's, babl's and GLib's warnings and messages are theirs, not the
 * user's: they reach the terminal with --verbose.  Criticals are bugs and
 * always do. */
static void
on_log (const char *domain, GLogLevelFlags level, const char *message, gpointer data)
{
  if (loom_cli_verbose () || (level & (G_LOG_LEVEL_ERROR | G_LOG_LEVEL_CRITICAL)))
    g_log_default_handler (domain, level, message, data);
}

static void
on_print (const char *text)
{
  loom_cli_puts (stdout, text);
}

static void
on_printerr (const char *text)
{
  loom_cli_puts (stderr, text);
}

int
main (int argc, char **argv)
{
  /* The user's language for text, C's for numbers (--time 2.5 anywhere). */
  setlocale (LC_ALL, "");
  setlocale (LC_NUMERIC, "C");
  g_log_set_default_handler (on_log, NULL);
  /* --help comes through g_print: in ASCII where the charset is not UTF-8,
   * not with "?" for each "…" and "—". */
  g_set_print_handler (on_print);
  g_set_printerr_handler (on_printerr);
  if (argc < 2 || strcmp (argv[1], "--help") == 0 || strcmp (argv[1], "-h") == 0
      || strcmp (argv[1], "help") == 0)
    {
      loom_cli_puts (argc < 2 ? stderr : stdout, usage);
      return argc < 2 ? EXIT_USAGE : 0;
    }
  /* Images go through GEGL: a command that reads or writes them says so;
   * info and bench need none of it. */
  static const struct
  {
    const char *name;
    int       (*run) (int argc, char **argv);
    gboolean    needs_gegl;
  } commands[] = {
    { "info", loom_cmd_info, FALSE },
    { "bench", loom_cmd_bench, FALSE },
    { "train-seg", loom_cmd_train_seg, TRUE },
    { "segment", loom_cmd_segment, TRUE },
    { "train-gan", loom_cmd_train_gan, TRUE },
    { "generate", loom_cmd_generate, TRUE },
    { "augment", loom_cmd_augment, TRUE },
    { "demo", loom_cmd_demo, TRUE },
    { "explain", loom_cmd_explain, TRUE },
  };

  for (guint i = 0; i < G_N_ELEMENTS (commands); i++)
    if (strcmp (argv[1], commands[i].name) == 0)
      {
        g_autofree char *name = g_strdup_printf ("loom %s", commands[i].name);

        /* --help's usage line: "loom train-seg [OPTION…]". */
        g_set_prgname (name);
        /* No gegl_exit(): it unloads GEGL's modules, whose registrations
         * then show as leaks nobody can attribute. */
        if (commands[i].needs_gegl)
          gegl_init (NULL, NULL);
        return commands[i].run (argc - 1, argv + 1);
      }
  fprintf (stderr, "loom: unknown command '%s' (loom --help lists them)\n", argv[1]);
  return EXIT_USAGE;
}
