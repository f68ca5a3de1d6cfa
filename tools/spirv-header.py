#!/usr/bin/env python3
"""Writes an op's compiled shader as a C header, with its push constants.

    tools/spirv-header.py OP OP.spv OP.spv.h

OP.spv.h holds the SPIR-V words as `loom_spv_OP` and the layout of the
shader's push-constant block, read from the SPIR-V itself (the offsets the
driver will use, not the GLSL source), as two macros for
compute/ops/push-constants.h:

    LOOM_PUSH_CONSTANTS_OP(T)  checks C struct T against the block, member
                               by member (by name: type, offset) and size;
    LOOM_NO_PUSH_CONSTANTS_OP  checks that the shader has no block.

The one that does not apply is a failing assertion that says why.  A
member with no plain C counterpart (a matrix, a struct, a 16- or 64-bit
number, an array with padding) stops here, named; a bool is a uint32_t, as
glslang lays it out.
"""
import struct
import sys

MAGIC = 0x07230203
OP_NAME, OP_MEMBER_NAME = 5, 6
OP_TYPE_VOID, OP_TYPE_BOOL, OP_TYPE_INT, OP_TYPE_FLOAT, OP_TYPE_VECTOR = 19, 20, 21, 22, 23
OP_TYPE_MATRIX, OP_TYPE_ARRAY, OP_TYPE_RUNTIME_ARRAY, OP_TYPE_STRUCT = 24, 28, 29, 30
OP_TYPE_POINTER, OP_CONSTANT, OP_VARIABLE = 32, 43, 59
OP_DECORATE, OP_MEMBER_DECORATE = 71, 72
DECORATION_ARRAY_STRIDE, DECORATION_OFFSET = 6, 35
STORAGE_PUSH_CONSTANT = 9


# What a member with no plain C counterpart is, by its SPIR-V type (bools
# of a block are integers in SPIR-V).
UNSUPPORTED = {
    OP_TYPE_BOOL: "a bool", OP_TYPE_INT: "a 16- or 64-bit integer",
    OP_TYPE_FLOAT: "a 16- or 64-bit float", OP_TYPE_MATRIX: "a matrix",
    OP_TYPE_ARRAY: "an array sized by a specialization constant",
    OP_TYPE_RUNTIME_ARRAY: "an array of no size", OP_TYPE_STRUCT: "a struct",
}


class Unsupported(Exception):
    pass


def words_of(data, path):
    if len(data) % 4:
        raise Unsupported("%s: not SPIR-V (%d bytes, not whole words)" % (path, len(data)))
    words = list(struct.unpack("<%dI" % (len(data) // 4), data))
    if not words or words[0] != MAGIC:
        raise Unsupported("%s: not little-endian SPIR-V" % path)
    return words


def string_at(operands):
    raw = struct.pack("<%dI" % len(operands), *operands)
    return raw.split(b"\0", 1)[0].decode()


def instructions(words):
    at = 5                      # past the header
    while at < len(words):
        count, opcode = words[at] >> 16, words[at] & 0xFFFF
        if count == 0:
            raise Unsupported("malformed SPIR-V: an instruction of no words")
        yield opcode, words[at + 1:at + count]
        at += count


class Module:
    """The parts of a SPIR-V module that describe its types."""

    def __init__(self, words):
        self.names, self.member_names = {}, {}
        self.types, self.constants = {}, {}
        self.offsets, self.strides = {}, {}
        self.push_blocks = []
        for opcode, ops in instructions(words):
            if opcode == OP_NAME:
                self.names[ops[0]] = string_at(ops[1:])
            elif opcode == OP_MEMBER_NAME:
                self.member_names[(ops[0], ops[1])] = string_at(ops[2:])
            elif opcode == OP_MEMBER_DECORATE and ops[2] == DECORATION_OFFSET:
                self.offsets[(ops[0], ops[1])] = ops[3]
            elif opcode == OP_DECORATE and ops[1] == DECORATION_ARRAY_STRIDE:
                self.strides[ops[0]] = ops[2]
            elif OP_TYPE_VOID <= opcode <= OP_TYPE_POINTER:
                self.types[ops[0]] = (opcode, ops[1:])
            elif opcode == OP_CONSTANT:
                self.constants[ops[1]] = ops[2]
            elif opcode == OP_VARIABLE and ops[2] == STORAGE_PUSH_CONSTANT:
                self.push_blocks.append(self.types[ops[0]][1][1])  # the pointer's pointee

    def c_type(self, type_id):
        """(C element type, array lengths, GLSL spelling, bytes) of a type."""
        opcode, ops = self.types.get(type_id, (None, ()))
        if opcode == OP_TYPE_INT and ops[0] == 32 and ops[1]:
            return ("int32_t", []), "int", 4
        if opcode == OP_TYPE_INT and ops[0] == 32:
            return ("uint32_t", []), "uint", 4
        if opcode == OP_TYPE_FLOAT and ops[0] == 32:
            return ("float", []), "float", 4
        if opcode == OP_TYPE_VECTOR:
            (element, _), glsl, size = self.c_type(ops[0])
            prefix = {"uint": "u", "int": "i", "float": ""}[glsl]
            return (element, [ops[1]]), "%svec%d" % (prefix, ops[1]), size * ops[1]
        if opcode == OP_TYPE_ARRAY and ops[1] in self.constants:
            (element, dims), glsl, size = self.c_type(ops[0])
            length = self.constants[ops[1]]
            if self.strides.get(type_id, size) != size:
                raise Unsupported("an array with padding (stride %d, elements of %d bytes)"
                                  % (self.strides[type_id], size))
            base, bracket, lengths = glsl.partition("[")
            return ((element, [length] + dims), "%s[%d]%s%s" % (base, length, bracket, lengths),
                    size * length)
        raise Unsupported(UNSUPPORTED.get(opcode, "of SPIR-V type %s" % opcode))

    def block(self, block_id):
        """The block's members, in order: (name, C type, GLSL type, offset, bytes)."""
        members = []
        for index, member_type in enumerate(self.types[block_id][1]):
            name = self.member_names.get((block_id, index))
            if not name:
                raise Unsupported("member %d has no name (was the SPIR-V stripped?)" % index)
            try:
                c_type, glsl, size = self.c_type(member_type)
            except Unsupported as e:
                raise Unsupported("push-constant member '%s' is %s, which has no plain C "
                                  "counterpart" % (name, e))
            members.append((name, c_type, glsl, self.offsets[(block_id, index)], size))
        return members


def c_spelling(c_type):
    element, dims = c_type
    lengths = "".join("[%d]" % n for n in dims)
    pointer = "%s *" % element if not dims else "%s (*)%s" % (element, lengths)
    return pointer, element + lengths


def checks(op, members):
    """The body of LOOM_PUSH_CONSTANTS_OP(T), one line a member."""
    size = max(offset + size for _, _, _, offset, size in members)
    lines = ['LOOM_PUSH_SIZE ("%s", T, %d)' % (op, size)]
    for name, c_type, glsl, offset, _ in members:
        pointer, spelled = c_spelling(c_type)
        lines.append('LOOM_PUSH_MEMBER ("%s", T, %s, %d, %s, "%s", "%s")'
                     % (op, name, offset, pointer, spelled, glsl))
    return lines, size


def macro(name, lines):
    return " \\\n  ".join(["#define " + name] + lines) + "\n"


def header(op, words, module):
    shader = "shaders/%s.comp" % op
    out = ["/* Generated by tools/spirv-header.py from %s.spv: do not edit. */" % op,
           "#pragma once", "", "#include <stdint.h>", "", '#include "ops/push-constants.h"', "",
           "const uint32_t loom_spv_%s[] = {" % op]
    for at in range(0, len(words), 8):
        out.append("  " + ", ".join("0x%08x" % w for w in words[at:at + 8]) + ",")
    out += ["};", ""]
    if len(module.push_blocks) > 1:
        raise Unsupported("%d push-constant blocks" % len(module.push_blocks))
    if module.push_blocks:
        lines, size = checks(op, module.block(module.push_blocks[0]))
        out.append("/* %s's push constants as compiled: %d bytes. */" % (shader, size))
        out.append(macro("LOOM_PUSH_CONSTANTS_%s(T)" % op, lines))
        out.append(macro("LOOM_NO_PUSH_CONSTANTS_%s" % op, [
            '_Static_assert (0, "%s: %s has push constants (%d bytes): '
            'name their C struct in LOOM_OP_SHADER");' % (op, shader, size)]))
    else:
        out.append("/* %s has no push constants. */" % shader)
        out.append(macro("LOOM_PUSH_CONSTANTS_%s(T)" % op, [
            '_Static_assert (0, "%s: %s has no push constants, yet its descriptor names " #T '
            '": use LOOM_OP_SHADER_NO_PARAMS");' % (op, shader)]))
        out.append(macro("LOOM_NO_PUSH_CONSTANTS_%s" % op, []))
    return "\n".join(out)


def main():
    if len(sys.argv) != 4:
        sys.exit(__doc__.split("\n\n")[1])
    op, spv, output = sys.argv[1:]
    try:
        with open(spv, "rb") as f:
            words = words_of(f.read(), spv)
        text = header(op, words, Module(words))
    except Unsupported as e:
        sys.exit("tools/spirv-header.py: shaders/%s.comp: %s" % (op, e))
    with open(output, "w") as f:
        f.write(text)


if __name__ == "__main__":
    main()
