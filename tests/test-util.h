/* What every Loom test program shares. */
#pragma once

#include <loom/loom.h>
#include <loom/loom-weights.h>

/* g_test_init, plus: the Vulkan validation layer on for every device this
 * program opens, and pipeline caches kept in the build tree. */
void        test_init        (int *argc, char ***argv);
/* The best Vulkan device (lavapipe here), or NULL after g_test_skip when
 * there is none — a failure instead when LOOM_REQUIRE_VULKAN is set. */
LoomDevice *test_open_vulkan (void);
/* Frees DEVICE and fails the test if the validation layer said anything. */
void        test_close       (LoomDevice *device);

/* Fails unless A and B hold the same tensors, value for value. */
void        test_assert_same_weights (LoomWeights *a, LoomWeights *b);
/* Whether they do (for tests that want them to differ). */
gboolean    test_weights_equal       (LoomWeights *a, LoomWeights *b);
