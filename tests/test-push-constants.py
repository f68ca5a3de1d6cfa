#!/usr/bin/env python3
"""The push-constant check, made to fail (TAP).

    tests/test-push-constants.py GLSLANG SPIRV_HEADER COMPUTE_DIR CC...

Each case is a small shader and a C struct for it, put through the build's
own steps: GLSLANG compiles the shader, tools/spirv-header.py (SPIRV_HEADER)
writes its header, and the C compiler CC builds a descriptor with
LOOM_OP_SHADER (compute/ops/push-constants.h under COMPUTE_DIR).  A pair
that agrees must build, and give the struct's size as params_size; each
kind of disagreement must stop the build with a message that names the op,
the field and what each side has.
"""
import os
import shutil
import subprocess
import sys
import tempfile

GLSLANG, SPIRV_HEADER, COMPUTE = (os.path.abspath(a) for a in sys.argv[1:4])
CC = sys.argv[4:]
TMP = tempfile.mkdtemp(prefix="loom-push-constants-")

SHADER = """#version 450
layout(local_size_x = 1) in;
%s
layout(std430, binding = 0) writeonly buffer Out { float o[]; };
void main () { o[0] = 1.0; }
"""

DESCRIPTOR = """#include <stdio.h>
#include "probe.spv.h"

typedef struct { size_t params_size; const uint32_t *spirv; size_t spirv_size; } Descriptor;
%s
static const Descriptor probe = { %s };

int main (void) { printf ("%%zu %%zu\\n", probe.params_size, probe.spirv_size); return 0; }
"""

BLOCK = "layout(push_constant) uniform Params { %s } p;"
STRUCT = "typedef struct { %s } ProbeParams;"
WITH_PARAMS = "LOOM_OP_SHADER (probe, ProbeParams)"
NO_PARAMS = "LOOM_OP_SHADER_NO_PARAMS (probe)"
WHERE = "in shaders/probe.comp"

# name, the shader's push constants, the C struct, the descriptor's fields,
# and what must happen: an int (the build works, params_size is that) or
# the phrases the build's error must hold.
CASES = [
    ("agreeing layouts build, params_size is the struct's size",
     BLOCK % "uvec4 dims; uint n; float alpha; int ignore; uint list[3]; vec2 xy;"
             " ivec2 grid[2][3];",
     STRUCT % "uint32_t dims[4]; uint32_t n; float alpha; int32_t ignore; uint32_t list[3];"
              " float xy[2]; int32_t grid[2][3][2];",
     WITH_PARAMS, 96),
    ("an array of vectors in the wrong shape",
     BLOCK % "ivec2 grid[3];", STRUCT % "int32_t grid[2][3];", WITH_PARAMS,
     ["probe: ProbeParams.grid must be int32_t[3][2] (ivec2[3] " + WHERE + ")"]),
    ("the shader's alignment: a uvec4 after a uint starts at byte 16",
     BLOCK % "uint n; uvec4 dims;", STRUCT % "uint32_t n; uint32_t dims[4];", WITH_PARAMS,
     ["probe: ProbeParams.dims is at byte 4 in C, at byte 16 " + WHERE,
      "probe: ProbeParams is 20 bytes, the push constants of shaders/probe.comp 32"]),
    ("a bool of the block is a uint32_t",
     BLOCK % "uint n; bool flag;", STRUCT % "uint32_t n, flag;", WITH_PARAMS, 8),
    ("two fields of one type swapped: both named, both offsets",
     BLOCK % "uint n, h, w;", STRUCT % "uint32_t n, w, h;", WITH_PARAMS,
     ["probe: ProbeParams.h is at byte 8 in C, at byte 4 " + WHERE,
      "probe: ProbeParams.w is at byte 4 in C, at byte 8 " + WHERE]),
    ("a float for a uint",
     BLOCK % "uint n; float alpha;", STRUCT % "float n, alpha;", WITH_PARAMS,
     ["probe: ProbeParams.n must be uint32_t (uint " + WHERE + ")"]),
    ("an unsigned field for an int",
     BLOCK % "uint n; int ignore;", STRUCT % "uint32_t n, ignore;", WITH_PARAMS,
     ["probe: ProbeParams.ignore must be int32_t (int " + WHERE + ")"]),
    ("a C array shorter than the vector",
     BLOCK % "uvec4 dims; uint mul;", STRUCT % "uint32_t dims[3], pad, mul;", WITH_PARAMS,
     ["probe: ProbeParams.dims must be uint32_t[4] (uvec4 " + WHERE + ")"]),
    ("a field past the block's end: the sizes",
     BLOCK % "uint n; float alpha;", STRUCT % "uint32_t n; float alpha; uint32_t extra;",
     WITH_PARAMS,
     ["probe: ProbeParams is 12 bytes, the push constants of shaders/probe.comp 8"]),
    ("a block member the struct lacks",
     BLOCK % "uint n; uint count;", STRUCT % "uint32_t n, total;", WITH_PARAMS,
     ["no member named", "count"]),
    ("an offset off the 4-byte grid, and a size",
     BLOCK % "uint a; uint n;",
     "typedef struct __attribute__ ((packed)) { uint32_t a; uint8_t gap; uint32_t n; }"
     " ProbeParams;", WITH_PARAMS,
     ["probe: ProbeParams.n is not at byte 4 as " + WHERE,
      "probe: ProbeParams is not 8 bytes, the size of the push constants of shaders/probe.comp"]),
    ("a struct for a shader without push constants",
     "", STRUCT % "uint32_t n;", WITH_PARAMS,
     ["probe: shaders/probe.comp has no push constants, yet its descriptor names ProbeParams"]),
    ("no struct for a shader with push constants",
     BLOCK % "uint n; float alpha;", "", NO_PARAMS,
     ["probe: shaders/probe.comp has push constants (8 bytes)"]),
    ("no push constants on either side build, params_size is 0",
     "", "", NO_PARAMS, 0),
]

# Blocks with a member C has no plain type for: tools/spirv-header.py stops.
UNSUPPORTED = [
    ("a matrix member stops the header", BLOCK % "uint n; mat2 m;", "member 'm' is a matrix"),
    ("an array with padding (std140) stops the header",
     "layout(std140, push_constant) uniform Params { float w[3]; } p;",
     "member 'w' is an array with padding"),
]


def run(command):
    return subprocess.run(command, capture_output=True, text=True, cwd=TMP)


def header(block):
    """Compiles BLOCK's shader and writes its header; the failure's text or None."""
    with open(os.path.join(TMP, "probe.comp"), "w") as f:
        f.write(SHADER % block)
    r = run([GLSLANG, "-V", "--quiet", "-o", "probe.spv", "probe.comp"])
    if r.returncode:
        raise AssertionError("glslang: " + r.stdout + r.stderr)
    r = run([sys.executable, SPIRV_HEADER, "probe", "probe.spv", "probe.spv.h"])
    return (r.stdout + r.stderr) if r.returncode else None


def case(block, c_struct, fields, expect):
    failure = header(block)
    if failure:
        raise AssertionError("tools/spirv-header.py: " + failure)
    with open(os.path.join(TMP, "probe.c"), "w") as f:
        f.write(DESCRIPTOR % (c_struct, fields))
    r = run(CC + ["-std=c17", "-Wall", "-Wextra", "-Werror", "-I" + COMPUTE, "-I.",
                  "-o", "probe", "probe.c"])
    if isinstance(expect, int):
        if r.returncode:
            raise AssertionError("did not build:\n" + r.stderr)
        out = run(["./probe"]).stdout.split()
        if int(out[0]) != expect or int(out[1]) != os.path.getsize(os.path.join(TMP, "probe.spv")):
            raise AssertionError("params_size, spirv_size: %s, expected %d" % (out, expect))
        return
    if r.returncode == 0:
        raise AssertionError("built, yet the layouts disagree")
    missing = [phrase for phrase in expect if phrase not in r.stderr]
    if missing:
        raise AssertionError("the error does not say %s:\n%s" % (missing, r.stderr))


def unsupported(block, expect):
    failure = header(block)
    if not failure or expect not in failure:
        raise AssertionError("tools/spirv-header.py: %r, expected %r" % (failure, expect))


def main():
    tests = [(c[0], lambda c=c: case(*c[1:])) for c in CASES]
    tests += [(u[0], lambda u=u: unsupported(*u[1:])) for u in UNSUPPORTED]
    print("1..%d" % len(tests))
    failed = 0
    for i, (name, test) in enumerate(tests, 1):
        try:
            test()
            print("ok %d - %s" % (i, name))
        except AssertionError as e:
            failed += 1
            print("not ok %d - %s" % (i, name))
            for line in str(e).splitlines()[:40]:
                print("# " + line)
    shutil.rmtree(TMP, ignore_errors=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
