"""Index-remapping copies: MIRROR_PAD, REVERSE_V2, BROADCAST_TO.

Each output element is one input element, chosen axis by axis: output index k along axis d reads input
index table_d[k] (`source_indices`). The kernels (lower/pad_extra.py) run all three as one gather.
MIRROR_PAD: REFLECT mirrors without repeating the edge element, SYMMETRIC repeats it; as in TF, a
padding is at most size - 1 (REFLECT) or size (SYMMETRIC): beyond that TFLM's index rule reads outside
the input.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from tinygen import ir
from tinygen.ir import OpKind
from tinygen.ops.checks import MAX_PAD, CheckContext
from tinygen.ops.space_batch import check_same_quant
from tinygen.ops.spec import Lowering, NotApplicable, OpSpec, TfliteOp, register
from tinygen.ops.tflite_context import OpContext

MODES = ("REFLECT", "SYMMETRIC")  # TFLite MirrorPadMode codes 0 and 1
MAX_RANK = 5  # TFLM's BROADCAST_TO limit; the gather kernel runs up to 4 axes after merging


@dataclass(frozen=True)
class MirrorPadAttrs:
    """MIRROR_PAD: one (before, after) pair per input dimension, and the mode (REFLECT or SYMMETRIC)."""
    paddings: tuple
    mode: str


@dataclass(frozen=True)
class ReverseAttrs:
    """REVERSE_V2: the reversed axes, non-negative and sorted."""
    axes: tuple


# ---- index tables (shared by the float reference and the lowering) -----------------------------


def mirror_indices(size: int, before: int, after: int, mode: str) -> np.ndarray:
    """Input index of each output index along one axis (paddings within the limits above)."""
    off = 1 if mode == "REFLECT" else 0
    out = []
    for p in range(before + size + after):
        if p < before:
            edge = before + off - 1
            out.append(edge - min(p, edge - off))
        elif p - before < size:
            out.append(p - before)
        else:
            q, edge = p - before - size, size - 1 - off
            out.append(edge - min(q, edge))
    return np.asarray(out, np.int64)


def source_indices(op: ir.Op, in_shape: tuple, out_shape: tuple) -> list:
    """Per output axis, the input index each output index reads (axes of BROADCAST_TO's missing leading
    input dimensions read index 0 of an implied size-1 axis)."""
    if op.kind == OpKind.MIRROR_PAD:
        return [mirror_indices(n, b, e, op.attrs.mode) for n, (b, e) in zip(in_shape, op.attrs.paddings)]
    if op.kind == OpKind.REVERSE_V2:
        return [np.arange(n)[::-1] if d in op.attrs.axes else np.arange(n) for d, n in enumerate(in_shape)]
    shape = (1,) * (len(out_shape) - len(in_shape)) + tuple(in_shape)
    return [np.zeros(m, np.int64) if n == 1 else np.arange(m) for n, m in zip(shape, out_shape)]


def gather(x: np.ndarray, tables: list, out_shape: tuple) -> np.ndarray:
    x = x.reshape((1,) * (len(out_shape) - x.ndim) + x.shape)
    return x[np.ix_(*tables)].reshape(out_shape)


def _float_ref(op, ins, out_shape, graph):
    return gather(ins[0], source_indices(op, ins[0].shape, tuple(out_shape)), tuple(out_shape))


# ---- checks --------------------------------------------------------------------------------------


def check_rank(c: CheckContext) -> None:
    """input and output have rank 1..5"""
    for t in (c.ins[0], c.out):
        if not 1 <= len(t.shape) <= MAX_RANK:
            raise c.unsupported(f"tensor '{t.name}' {list(t.shape)} must have rank 1..{MAX_RANK}")


def check_mirror_pads(c: CheckContext) -> None:
    """one (before, after) pair of integers per input dimension, each at most the dimension's size - 1
    (REFLECT) or its size (SYMMETRIC); mode REFLECT or SYMMETRIC"""
    pads, shape = c.a.paddings, c.ins[0].shape
    if c.a.mode not in MODES:
        raise c.bad(f"mode {c.a.mode!r} must be one of {MODES}")
    if len(pads) != len(shape) or any(len(p) != 2 or any(not isinstance(v, int) or not 0 <= v <= MAX_PAD
                                                          for v in p) for p in pads):
        raise c.bad(f"paddings {pads} must be {len(shape)} pairs of integers in [0, {MAX_PAD}]")
    limit_off = 1 if c.a.mode == "REFLECT" else 0
    for d, (n, p) in enumerate(zip(shape, pads)):
        if max(p) > n - limit_off:
            raise c.bad(f"padding {list(p)} of dimension {d} (size {n}) exceeds {n - limit_off}, the most "
                        f"{c.a.mode} padding can mirror")


def check_mirror_output(c: CheckContext) -> None:
    """the output is the input grown by the paddings"""
    c.out_is(tuple(n + b + e for n, (b, e) in zip(c.ins[0].shape, c.a.paddings)))


def check_reverse_axes(c: CheckContext) -> None:
    """the axes are distinct dimensions of the input, sorted"""
    r = len(c.ins[0].shape)
    axes = c.a.axes
    if any(not isinstance(a, int) or not 0 <= a < r for a in axes) or list(axes) != sorted(set(axes)):
        raise c.bad(f"axes {list(axes)} must be distinct sorted dimensions of a rank {r} input")


def check_broadcast(c: CheckContext) -> None:
    """every input dimension, right-aligned with the output's, is 1 or the output's size"""
    x, y = c.ins[0].shape, c.out.shape
    if len(x) > len(y) or any(n not in (1, m) for n, m in zip(x, y[len(y) - len(x):])):
        raise c.bad(f"input {list(x)} does not broadcast to {list(y)}")


# ---- TFLite converters and export ----------------------------------------------------------------


def tflite_mirror_pad(c: OpContext):
    rank = len(c.input(0).shape)
    p = c.int_const(1, "paddings").astype(np.int64)
    if p.shape != (rank, 2) or np.any(p < 0):
        raise c.bad(f"paddings {p.tolist()} must be {rank} non-negative (before, after) pairs")
    mode = int(c.op.options.get("Mode", 0))
    if mode not in (0, 1):
        raise c.bad(f"mode {mode} is neither REFLECT (0) nor SYMMETRIC (1)")
    return OpKind.MIRROR_PAD, MirrorPadAttrs(tuple((int(a), int(b)) for a, b in p), MODES[mode]), [c.op.inputs[0]]


def tflite_reverse(c: OpContext):
    rank = len(c.input(0).shape)
    axes = c.int_const(1, "axis").astype(np.int64).reshape(-1).tolist()
    if any(not -rank <= a < rank for a in axes):
        raise c.bad(f"axis {axes} out of range for rank {rank}")
    norm = sorted({int(a) % rank for a in axes})
    if len(norm) != len(axes):
        raise c.bad(f"axis {axes} names a dimension twice")
    return OpKind.REVERSE_V2, ReverseAttrs(tuple(norm)), [c.op.inputs[0]]


def tflite_broadcast_to(c: OpContext):
    x, y = c.input(0), c.output()
    shape = tuple(int(v) for v in c.int_const(1, "shape").reshape(-1))
    if shape != tuple(y.shape):
        raise c.bad(f"shape {list(shape)} differs from the output '{y.name}' {list(y.shape)}")
    return OpKind.BROADCAST_TO, ir.NoAttrs(), [c.op.inputs[0]]


def export_mirror_pad(w, op, ins, outs) -> None:
    pads = w.new_const(f"{op.name}/paddings", np.asarray(op.attrs.paddings, np.int32).reshape(-1, 2))
    w.emit("MIRROR_PAD", [ins[0], pads], outs, "MirrorPadOptions", (("Mode", MODES.index(op.attrs.mode)),))


def export_reverse(w, op, ins, outs) -> None:
    w.emit("REVERSE_V2", [ins[0], w.new_const(f"{op.name}/axis", np.asarray(op.attrs.axes, np.int32))], outs)


def export_broadcast_to(w, op, ins, outs) -> None:
    shape = np.asarray(w.graph.tensors[op.outputs[0]].shape, np.int32)
    w.emit("BROADCAST_TO", [ins[0], w.new_const(f"{op.name}/shape", shape)], outs)


_NO_KERAS = NotApplicable("no Keras layer maps to it; it comes from .tflite files")
_NO_BOUNDS = NotApplicable("no arithmetic: values are copied")
_KERNELS = Lowering(("int8", "int16"))

register(
    OpSpec(OpKind.MIRROR_PAD, "pad each dimension with a mirror image of the input (REFLECT or SYMMETRIC)",
           tflite=(TfliteOp("MIRROR_PAD", tflite_mirror_pad, ("MirrorPadOptions", ("Mode",))),), keras=_NO_KERAS,
           checks=(check_rank, check_mirror_pads, check_mirror_output, check_same_quant), float_ref=_float_ref,
           bounds=_NO_BOUNDS, export=export_mirror_pad, kernels=_KERNELS,
           float_batchable=lambda op: tuple(op.attrs.paddings[0]) == (0, 0), attrs=MirrorPadAttrs),
    OpSpec(OpKind.REVERSE_V2, "reverse the order of elements along some axes",
           tflite=(TfliteOp("REVERSE_V2", tflite_reverse),), keras=_NO_KERAS,
           checks=(check_rank, check_reverse_axes, check_same_quant), float_ref=_float_ref, bounds=_NO_BOUNDS,
           export=export_reverse, kernels=_KERNELS, float_batchable=lambda op: 0 not in op.attrs.axes,
           attrs=ReverseAttrs),
    OpSpec(OpKind.BROADCAST_TO, "repeat size-1 (and missing leading) dimensions up to a given shape",
           tflite=(TfliteOp("BROADCAST_TO", tflite_broadcast_to),), keras=_NO_KERAS,
           checks=(check_rank, check_broadcast, check_same_quant), float_ref=_float_ref, bounds=_NO_BOUNDS,
           export=export_broadcast_to, kernels=_KERNELS, float_batchable=lambda op: False),
)
