/* An op's params are one layout written twice: the C struct the host fills
 * (compute/ops/params.h and the ops' headers) and the push_constant block
 * its shader reads.  When the two drift apart nothing fails at run time,
 * the shader just reads wrong numbers; so the build compares them.
 * tools/spirv-header.py reads the block's layout out of the compiled SPIR-V
 * (the offsets the driver uses) into NAME.spv.h, and LOOM_OP_SHADER in the
 * op's descriptor holds the C struct against it with static assertions.
 *
 * Members match by name, so a GLSL member is spelled as its C field: then
 * two fields of one type swapped (h, w) are caught, which a match by order
 * and type would miss, and the message names the field.  Each member of the
 * block must be a field of the struct with the same type (uint: uint32_t,
 * int: int32_t, float, vectors and arrays as C arrays) at the same offset,
 * and the struct must be the block's size.  tests/test-push-constants.py
 * shows each check failing. */
#pragma once

#include <stddef.h>
#include <stdint.h>

/* The descriptor fields for op OP's shader, shaders/OP.comp, whose push
 * constants are a T.  The build stops here if T and the block disagree. */
#define LOOM_OP_SHADER(op, T)                                                  \
  .params_size = sizeof (T) + LOOM_PUSH_CHECKED (LOOM_PUSH_CONSTANTS_##op (T)), \
  .spirv = loom_spv_##op,                                                      \
  .spirv_size = sizeof (loom_spv_##op)

/* The same for a shader without push constants (the build checks it has
 * none). */
#define LOOM_OP_SHADER_NO_PARAMS(op)                                           \
  .params_size = LOOM_PUSH_CHECKED (LOOM_NO_PUSH_CONSTANTS_##op),              \
  .spirv = loom_spv_##op,                                                      \
  .spirv_size = sizeof (loom_spv_##op)

/* 0, once the static ASSERTIONS hold: a struct may hold assertions and
 * sizeof makes it an expression, which a descriptor's initialiser needs. */
#define LOOM_PUSH_CHECKED(assertions) (0 * sizeof (struct { assertions char checked; }))

/* What NAME.spv.h's LOOM_PUSH_CONSTANTS_NAME (T) is made of.  So that a
 * failure names both values, each check is one assertion per value the C
 * side may have (LOOM_PUSH_EACH_4), of which only the one for T's actual
 * value can fire, and a last one for a value off that list. */

/* T is SIZE bytes, the block's size. */
#define LOOM_PUSH_SIZE(op, T, size)                                            \
  LOOM_PUSH_EACH_4 (LOOM_PUSH_SIZE_IS, op, T, size)                            \
  _Static_assert (sizeof (T) == (size) || LOOM_PUSH_LISTED (sizeof (T)),       \
                  op ": " #T " is not " #size " bytes, the size of the push "  \
                  "constants of shaders/" op ".comp");

#define LOOM_PUSH_SIZE_IS(k, op, T, size)                                      \
  _Static_assert (sizeof (T) == (size) || sizeof (T) != (k),                   \
                  op ": " #T " is " #k " bytes, the push constants of "        \
                  "shaders/" op ".comp " #size);

/* T.FIELD has the block member's type (POINTER is a pointer to it, C_TYPE
 * and GLSL_TYPE its names for the message) and its offset, AT. */
#define LOOM_PUSH_MEMBER(op, T, field, at, pointer, c_type, glsl_type)         \
  _Static_assert (_Generic (&((T *) 0)->field, pointer : 1, default : 0),     \
                  op ": " #T "." #field " must be " c_type                     \
                  " (" glsl_type " in shaders/" op ".comp)");                  \
  LOOM_PUSH_EACH_4 (LOOM_PUSH_OFFSET_IS, op, T, field, at)                     \
  _Static_assert (offsetof (T, field) == (at)                                  \
                  || LOOM_PUSH_LISTED (offsetof (T, field)),                   \
                  op ": " #T "." #field " is not at byte " #at                 \
                  " as in shaders/" op ".comp");

#define LOOM_PUSH_OFFSET_IS(k, op, T, field, at)                               \
  _Static_assert (offsetof (T, field) == (at) || offsetof (T, field) != (k),   \
                  op ": " #T "." #field " is at byte " #k " in C, at byte " #at \
                  " in shaders/" op ".comp");

/* X (K, ...) for K = 0, 4, ... 128: the offsets and sizes of 4-byte fields
 * in the 128 bytes of push constants every device has (LOOM_OP_MAX_PARAMS);
 * LOOM_PUSH_LISTED (K) says whether K is one of them. */
#define LOOM_PUSH_LISTED(k) ((k) % 4 == 0 && (k) <= 128)
#define LOOM_PUSH_EACH_4(X, ...)                                               \
  X (0, __VA_ARGS__) X (4, __VA_ARGS__) X (8, __VA_ARGS__) X (12, __VA_ARGS__) \
  X (16, __VA_ARGS__) X (20, __VA_ARGS__) X (24, __VA_ARGS__)                  \
  X (28, __VA_ARGS__) X (32, __VA_ARGS__) X (36, __VA_ARGS__)                  \
  X (40, __VA_ARGS__) X (44, __VA_ARGS__) X (48, __VA_ARGS__)                  \
  X (52, __VA_ARGS__) X (56, __VA_ARGS__) X (60, __VA_ARGS__)                  \
  X (64, __VA_ARGS__) X (68, __VA_ARGS__) X (72, __VA_ARGS__)                  \
  X (76, __VA_ARGS__) X (80, __VA_ARGS__) X (84, __VA_ARGS__)                  \
  X (88, __VA_ARGS__) X (92, __VA_ARGS__) X (96, __VA_ARGS__)                  \
  X (100, __VA_ARGS__) X (104, __VA_ARGS__) X (108, __VA_ARGS__)               \
  X (112, __VA_ARGS__) X (116, __VA_ARGS__) X (120, __VA_ARGS__)               \
  X (124, __VA_ARGS__) X (128, __VA_ARGS__)
