/* What the PyTorch referees' runners share: MANIFEST OUTDIR DEVICE on the
 * command line, one JSON case after another, errors on stderr, and a
 * failure when the Vulkan validation layer said anything. */
#pragma once

#include <json-glib/json-glib.h>

#include <loom/loom.h>

/* Runs one case of the manifest; inputs are files in IN_DIR, outputs go
 * to OUT_DIR. */
typedef gboolean (*RunnerCase) (LoomDevice *device, const char *in_dir, const char *out_dir,
                                JsonObject *c, GError **error);

int runner_main (int argc, char **argv, const char *name, RunnerCase run_case);

/* Reads PATH, which must hold LENGTH floats, into a new buffer of DEVICE. */
LoomBuffer *runner_load (LoomDevice *device, const char *path, gsize length, GError **error);
