"""Lowering of the layout ops that are one strided copy: STRIDED_SLICE (with SLICE, SPLIT, SPLIT_V and
UNPACK, which the frontend turns into slices), for int8 and int16.

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


WALKS = {OpKind.STRIDED_SLICE: (walk_slice, reference_slice)}


class CopyStrided(Kernel):
    """int8 / int16 layout ops that copy a strided walk of their input (no rescaling: TFLM copies the
    bytes whatever the two tensors' quantization)."""

    kinds = tuple(WALKS)

    def supports(self, op: Op, graph: Graph) -> bool:
        x, y = graph.tensors[op.inputs[0]], graph.tensors[op.outputs[0]]
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
