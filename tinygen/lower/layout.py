"""Lowering of the layout ops that are one strided copy: STRIDED_SLICE (with SLICE, SPLIT, SPLIT_V and
UNPACK, which the frontend turns into slices) and TRANSPOSE for int8 and int16, DEPTH_TO_SPACE and
SPACE_TO_DEPTH for int8.

Each op is resolved at compile time into a walk over the input: per output dimension an element count
and an input element step, plus the offset of the first element. Dimensions that walk the input
contiguously are merged, so the C kernel (`tg_copy_strided_s8/s16`) loops over as few dimensions as the
op really has and copies contiguous rows with memcpy. The NumPy references compute each op from its
attrs (slicing, transposing), independently of the walk the C kernel is given.
"""
from __future__ import annotations

import numpy as np

from tinygen.errors import UnsupportedError
from tinygen.ir import Graph, Op, OpKind
from tinygen.lower.base import ConstArray, ConstArg, Kernel, Literal, LoweredOp, TensorArg, register

MAX_WALK_RANK = 8  # TG_COPY_MAX_RANK in runtime_c/shape/tg_copy_strided.h
_FUNCTIONS = {"int8": "tg_copy_strided_s8", "int16": "tg_copy_strided_s16"}


def _fail(op: Op, msg: str) -> UnsupportedError:
    return UnsupportedError(f"layer '{op.name}' ({op.kind.value}): {msg}")


def row_strides(shape) -> list:
    """Row-major element strides of `shape`."""
    out = [1] * len(shape)
    for d in range(len(shape) - 2, -1, -1):
        out[d] = out[d + 1] * int(shape[d + 1])
    return out


def merge_walk(counts: list, steps: list) -> tuple:
    """(counts, steps) with single-element dimensions dropped and neighbours that walk the input
    contiguously (step[d] == count[d + 1] * step[d + 1]) merged; at least one dimension remains."""
    pairs = [(int(n), int(s)) for n, s in zip(counts, steps) if int(n) != 1]
    merged: list = []
    for n, s in pairs:
        if merged and merged[-1][1] == n * s:
            merged[-1] = (merged[-1][0] * n, s)
        else:
            merged.append((n, s))
    if not merged:
        merged = [(1, 1)]
    return [n for n, _ in merged], [s for _, s in merged]


# ---- walks: (input shape, attrs, output shape) -> (counts, steps, base) ----------------------------


def walk_slice(in_shape, a, out_shape) -> tuple:
    row = row_strides(in_shape)
    counts = [len(range(b, e, s)) for b, e, s in zip(a.begin, a.end, a.strides)]
    base = sum(int(b) * r for b, r in zip(a.begin, row))
    return counts, [int(s) * r for s, r in zip(a.strides, row)], base


def reference_slice(x, a, out_shape):
    index = tuple(np.arange(b, e, s) for b, e, s in zip(a.begin, a.end, a.strides))
    return x[np.ix_(*index)].reshape(out_shape)


def walk_transpose(in_shape, a, out_shape) -> tuple:
    row = row_strides(in_shape)
    return [int(in_shape[p]) for p in a.perm], [row[p] for p in a.perm], 0


def reference_transpose(x, a, out_shape):
    return np.transpose(x, a.perm)


def walk_depth_to_space(in_shape, a, out_shape) -> tuple:
    """Output (n, h, i, w, j, c) reads input (n, h, w, (i * block + j) * C + c)."""
    n, h, w, ch = (int(v) for v in in_shape)
    bs = int(a.block_size)
    c = ch // (bs * bs)
    return [n, h, bs, w, bs, c], [h * w * ch, w * ch, bs * c, ch, c, 1], 0


def reference_depth_to_space(x, a, out_shape):
    n, h, w, ch = x.shape
    bs = a.block_size
    return x.reshape(n, h, w, bs, bs, ch // (bs * bs)).transpose(0, 1, 3, 2, 4, 5).reshape(out_shape)


def walk_space_to_depth(in_shape, a, out_shape) -> tuple:
    """Output (n, h, w, i, j, c) reads input (n, h * block + i, w * block + j, c)."""
    n, h, w, ch = (int(v) for v in in_shape)
    bs = int(a.block_size)
    return [n, h // bs, w // bs, bs, bs, ch], [h * w * ch, bs * w * ch, bs * ch, w * ch, ch, 1], 0


def reference_space_to_depth(x, a, out_shape):
    n, h, w, ch = x.shape
    bs = a.block_size
    return x.reshape(n, h // bs, bs, w // bs, bs, ch).transpose(0, 1, 3, 2, 4, 5).reshape(out_shape)


WALKS = {OpKind.STRIDED_SLICE: (walk_slice, reference_slice),
         OpKind.TRANSPOSE: (walk_transpose, reference_transpose),
         OpKind.DEPTH_TO_SPACE: (walk_depth_to_space, reference_depth_to_space),
         OpKind.SPACE_TO_DEPTH: (walk_space_to_depth, reference_space_to_depth)}
INT8_ONLY = (OpKind.DEPTH_TO_SPACE, OpKind.SPACE_TO_DEPTH)  # TFLM has no int16 kernel for them


class CopyStrided(Kernel):
    """int8 / int16 layout ops that copy a strided walk of their input (no rescaling: TFLM copies the
    bytes whatever the two tensors' quantization)."""

    kinds = tuple(WALKS)

    def supports(self, op: Op, graph: Graph) -> bool:
        x, y = graph.tensors[op.inputs[0]], graph.tensors[op.outputs[0]]
        if op.kind in INT8_ONLY and x.dtype != "int8":
            return False
        return x.dtype == y.dtype and x.dtype in _FUNCTIONS

    def lower(self, op: Op, graph: Graph) -> LoweredOp:
        x_t, y_t = graph.tensors[op.inputs[0]], graph.tensors[op.outputs[0]]
        if x_t.is_const:
            raise _fail(op, f"input '{x_t.name}' is a constant; it should have been folded before lowering")
        walk, ref = WALKS[op.kind]
        counts, steps, base = walk(x_t.shape, op.attrs, y_t.shape)
        if int(np.prod(counts, dtype=np.int64)) != y_t.size:
            raise _fail(op, f"the walk {counts} does not fill output {list(y_t.shape)}")
        counts, steps = merge_walk(counts, steps)
        if len(counts) > MAX_WALK_RANK:
            raise _fail(op, f"the copy needs {len(counts)} nested dimensions (at most {MAX_WALK_RANK})")
        consts = [ConstArray("counts", np.asarray(counts, np.int32)), ConstArray("steps", np.asarray(steps, np.int32))]
        args = [Literal(len(counts)), ConstArg(0), ConstArg(1), Literal(base),
                TensorArg(x_t.name), TensorArg(y_t.name, const=False)]
        attrs, dtype, in_shape, out_shape = op.attrs, np.dtype(x_t.dtype), x_t.shape, y_t.shape

        def reference(inputs: list) -> list:
            return [np.ascontiguousarray(ref(np.asarray(inputs[0], dtype).reshape(in_shape), attrs, out_shape))]

        fn = _FUNCTIONS[x_t.dtype]
        contiguous = len(counts) == 1 and steps[0] == 1  # one block of the input: a view where the planner can
        return LoweredOp(op, fn, (fn + ".c",), args, consts, reference,
                         view_of=(x_t.name, base * dtype.itemsize) if contiguous else None,
                         notes={"walk": list(zip(counts, steps)), "base": base})


register(CopyStrided())
