"""Slices: STRIDED_SLICE, and the builtins that become one STRIDED_SLICE per output (SLICE, SPLIT, SPLIT_V,
UNPACK).

Every slice is resolved against the input shape at load time into `StridedSliceAttrs` (first index, stop,
stride per dimension, shrunk dimensions), exactly as TFLM resolves its operands. A builtin with several
outputs becomes several single-output IR ops (one slice per output): each output is an independent
strided copy, so the lowering, the planner's views and the export need nothing beyond one-output ops.
"""
from __future__ import annotations

import math

import numpy as np

from tinygen import ir
from tinygen.ir import OpKind
from tinygen.ops.checks import CheckContext, checked_product
from tinygen.ops.common import keras_fail
from tinygen.ops.spec import QAT_SHARED, KerasLayer, Lowering, NotApplicable, OpSpec, TfliteOp, register
from tinygen.ops.tflite_context import OpContext

NO_BOUNDS = NotApplicable("no arithmetic: values are copied")
MAX_SLICE_RANK = 4  # TFLM's STRIDED_SLICE takes inputs of rank 1 to 4
MAX_SLICE_V1_RANK = 5  # TFLM's SLICE takes inputs of rank 1 to 5

# ---- checks ------------------------------------------------------------------------------------


def check_slice_fields(c: CheckContext) -> None:
    """begin, end and strides hold one integer per input dimension; shrink axes are input dimensions"""
    a, r = c.a, len(c.ins[0].shape)
    fields = (a.begin, a.end, a.strides)
    if any(not isinstance(v, tuple) or len(v) != r or any(not isinstance(i, int) for i in v) for v in fields):
        raise c.bad(f"begin/end/strides {fields} must be {r} integers each")
    if any(not isinstance(d, int) or not 0 <= d < r for d in a.shrink_axes):
        raise c.bad(f"shrink axes {a.shrink_axes} out of range for rank {r}")


def _slice_shape(c: CheckContext) -> list:
    x, a = c.ins[0], c.a
    shape = []
    for d, (b, e, st) in enumerate(zip(a.begin, a.end, a.strides)):
        n = len(range(b, e, st)) if st != 0 else -1
        if st == 0 or n < 1 or not (0 <= b < x.shape[d] and 0 <= b + (n - 1) * st < x.shape[d]):
            raise c.bad(f"slice {b}:{e}:{st} of dimension {d} (size {x.shape[d]}) is empty or out of range")
        if d in a.shrink_axes and n != 1:
            raise c.bad(f"shrunk dimension {d} must keep exactly one element, keeps {n}")
        if d not in a.shrink_axes:
            shape.append(n)
    return shape


def check_slice_ranges(c: CheckContext) -> None:
    """each slice has a non-zero stride and reads at least one element inside its dimension; a shrunk
    dimension keeps one element"""
    _slice_shape(c)


def check_slice_output(c: CheckContext) -> None:
    """the output holds exactly the sliced elements"""
    shape = _slice_shape(c)
    if checked_product(shape) != c.out.size:
        raise c.bad(f"output '{c.out.name}' {list(c.out.shape)} does not hold the slice {shape}")


def check_same_dtype(c: CheckContext) -> None:
    """the output has the input's element type (values are copied, never converted)"""
    x = next(t for t in c.ins if t is not None)
    if c.out.dtype != x.dtype:
        raise c.bad(f"output '{c.out.name}' is {c.out.dtype}, input '{x.name}' is {x.dtype}")


# ---- float reference and export ------------------------------------------------------------------


def slice_index(attrs) -> tuple:
    """The per-dimension index arrays of a resolved slice (for np.ix_)."""
    return tuple(np.arange(b, e, s) for b, e, s in zip(attrs.begin, attrs.end, attrs.strides))


def float_strided_slice(op, ins, out_shape, graph):
    x = np.asarray(ins[0])
    return x[np.ix_(*slice_index(op.attrs))].reshape(out_shape)


def export_strided_slice(w, op, ins, outs) -> None:
    """STRIDED_SLICE with int32 begin / end / strides; a reversed slice that runs through index 0 sets
    its end-mask bit (its stop, -1, would otherwise count from the end)."""
    a = op.attrs
    end_mask = shrink_mask = 0
    ends = []
    for d, (b, e, s) in enumerate(zip(a.begin, a.end, a.strides)):
        if d in a.shrink_axes:
            shrink_mask |= 1 << d
            ends.append(b + 1)
        elif e < 0:
            end_mask |= 1 << d
            ends.append(0)
        else:
            ends.append(e)
    consts = [w.new_const(f"{op.name}/{k}", np.asarray(v, np.int32))
              for k, v in (("begin", a.begin), ("end", ends), ("strides", a.strides))]
    w.emit("STRIDED_SLICE", [ins[0]] + consts, outs, "StridedSliceOptions",
           (("BeginMask", 0), ("EndMask", end_mask), ("ShrinkAxisMask", shrink_mask)))


# ---- TFLite converters ------------------------------------------------------------------------


def _start_for_axis(b: int, s: int, n: int, masked: bool) -> int:
    """TFLM's first index of one dimension: negative counts from the end, clamped, begin mask wins."""
    if b < 0:
        b += n
    b = min(max(b, 0), n) if s > 0 else min(max(b, -1), n - 1)
    if masked:
        b = 0 if s > 0 else n - 1
    return b


def _stop_for_axis(e: int, s: int, n: int, masked: bool) -> int:
    if e < 0:
        e += n
    e = min(max(e, 0), n) if s > 0 else min(max(e, -1), n - 1)
    if masked:
        e = n if s > 0 else -1
    return e


def tflite_strided_slice(c: OpContext):
    """STRIDED_SLICE as TFLM runs it: begin, end and shrink-axis masks apply; TFLM ignores the ellipsis
    and new-axis masks and the offset flag, and so does tinygen (TFLM's output-shape check then decides)."""
    x, y = c.input(0), c.output()
    rank = len(x.shape)
    if not 1 <= rank <= MAX_SLICE_RANK:
        raise c.unsupported(f"input rank {rank} is not supported (TFLM takes 1 to {MAX_SLICE_RANK})")
    operands = [c.int_const(k, f) for k, f in ((1, "begin"), (2, "end"), (3, "strides"))]
    if any(v.dtype != np.int32 for v in operands):
        raise c.unsupported(f"begin/end/strides of types {[str(v.dtype) for v in operands]}: TFLM reads them "
                            f"as int32 only")
    begin, end, strides = (v.reshape(-1).astype(np.int64).tolist() for v in operands)
    if min(len(begin), len(end), len(strides)) < rank:
        raise c.bad(f"begin/end/strides of length {len(begin)}/{len(end)}/{len(strides)} "
                    f"for a rank {rank} input (need {rank})")
    o = c.op.options
    bs, es, ss, shrink, shape = [], [], [], [], []
    for d in range(rank):
        n, s = x.shape[d], int(strides[d])
        if s == 0:
            raise c.bad(f"stride of dimension {d} is 0")
        start = _start_for_axis(int(begin[d]), s, n, bool(o["BeginMask"] >> d & 1))
        if o["ShrinkAxisMask"] >> d & 1:
            if s < 0 or not 0 <= start < n:  # TFLM writes nothing for these: its output is undefined
                raise c.unsupported(f"shrinking dimension {d} at index {begin[d]} with stride {s}")
            stop, s = start + 1, 1
            shrink.append(d)
        else:
            stop = _stop_for_axis(int(end[d]), s, n, bool(o["EndMask"] >> d & 1))
            shape.append(max(math.ceil((stop - start) / s), 0))
        bs.append(int(start))
        es.append(int(stop))
        ss.append(s)
    if tuple(shape) != tuple(y.shape):
        raise c.bad(f"output '{y.name}' {list(y.shape)} is not the slice {shape} (TFLM refuses it too)")
    if 0 in shape:
        raise c.unsupported(f"the slice {shape} is empty")
    return OpKind.STRIDED_SLICE, ir.StridedSliceAttrs(tuple(bs), tuple(es), tuple(ss), tuple(shrink)), [c.op.inputs[0]]


def _blocks(c: OpContext, k_in: int, axis: int, sizes: list, shrink: bool) -> list:
    """One STRIDED_SLICE of input `k_in` per output: consecutive blocks of `sizes` along `axis`."""
    x = c.input(k_in)
    rank = len(x.shape)
    if len(sizes) != len(c.op.outputs):
        raise c.bad(f"{len(sizes)} pieces for {len(c.op.outputs)} outputs")
    ops, at = [], 0
    for k, (n, out) in enumerate(zip(sizes, c.op.outputs)):
        begin = tuple(at if d == axis else 0 for d in range(rank))
        end = tuple(at + n if d == axis else x.shape[d] for d in range(rank))
        shape = tuple(e - b for d, (b, e) in enumerate(zip(begin, end)) if not (shrink and d == axis))
        y = c.tensors[out]
        if tuple(y.shape) != shape:
            raise c.bad(f"output {k} '{y.name}' has shape {list(y.shape)}, the op computes {list(shape)}")
        if n < 1:
            raise c.unsupported(f"output {k} '{y.name}' is empty")
        attrs = ir.StridedSliceAttrs(begin, end, (1,) * rank, (axis,) if shrink else ())
        ops.append((OpKind.STRIDED_SLICE, attrs, [c.op.inputs[k_in]], [out]))
        at += n
    return ops


def _axis(c: OpContext, axis: int, rank: int) -> int:
    if not -rank <= axis < rank:
        raise c.bad(f"axis {axis} is out of range for rank {rank}")
    return axis % rank


def _scalar(c: OpContext, k: int, field: str) -> int:
    v = c.int_const(k, field).reshape(-1)
    if v.size != 1:
        raise c.bad(f"{field} must hold one value, holds {v.size}")
    return int(v[0])


def tflite_split(c: OpContext):
    """SPLIT (inputs: axis, input): equal pieces along a constant axis."""
    x = c.input(1)
    axis = _axis(c, _scalar(c, 0, "axis"), len(x.shape))
    n = int(c.op.options["NumSplits"]) or len(c.op.outputs)
    if n < 1 or n != len(c.op.outputs) or x.shape[axis] % n:
        raise c.bad(f"{x.shape[axis]} elements along axis {axis} do not split into {len(c.op.outputs)} "
                    f"equal outputs (num_splits {n})")
    return _blocks(c, 1, axis, [x.shape[axis] // n] * n, False)


def tflite_split_v(c: OpContext):
    """SPLIT_V (inputs: input, size_splits, axis): pieces of the given sizes; one size may be -1 (the rest)."""
    x = c.input(0)
    axis = _axis(c, _scalar(c, 2, "axis"), len(x.shape))
    sizes = [int(v) for v in c.int_const(1, "size_splits").reshape(-1)]
    if not sizes or sizes.count(-1) > 1 or any(v < -1 for v in sizes):
        raise c.bad(f"size_splits {sizes} may hold one -1 and otherwise sizes >= 0")
    if -1 in sizes:
        sizes[sizes.index(-1)] = x.shape[axis] - (sum(sizes) + 1)
    if sum(sizes) != x.shape[axis] or min(sizes) < 0:
        raise c.bad(f"size_splits {sizes} do not add up to {x.shape[axis]} (axis {axis})")
    return _blocks(c, 0, axis, sizes, False)


def tflite_unpack(c: OpContext):
    """UNPACK: one output per index along the axis, that dimension dropped."""
    x = c.input(0)
    axis = _axis(c, int(c.op.options["Axis"]), len(x.shape))
    num = int(c.op.options["Num"]) or len(c.op.outputs)
    if num != x.shape[axis] or num != len(c.op.outputs):
        raise c.bad(f"num {num} and {len(c.op.outputs)} outputs for {x.shape[axis]} elements on axis {axis}")
    return _blocks(c, 0, axis, [1] * num, True)


def tflite_slice(c: OpContext):
    """SLICE (inputs: input, begin, size): size -1 runs to the end of the dimension."""
    x, y = c.input(0), c.output()
    rank = len(x.shape)
    if not 1 <= rank <= MAX_SLICE_V1_RANK:
        raise c.unsupported(f"input rank {rank} is not supported (TFLM takes 1 to {MAX_SLICE_V1_RANK})")
    begin = [int(v) for v in c.int_const(1, "begin").reshape(-1)]
    size = [int(v) for v in c.int_const(2, "size").reshape(-1)]
    if len(begin) != rank or len(size) != rank:
        raise c.bad(f"begin {begin} and size {size} must hold {rank} values")
    end = [x.shape[d] if size[d] == -1 else begin[d] + size[d] for d in range(rank)]
    for d in range(rank):
        if not 0 <= begin[d] < end[d] <= x.shape[d]:
            raise c.bad(f"begin {begin[d]} size {size[d]} of dimension {d} (size {x.shape[d]}) is empty or "
                        f"out of range")
    shape = [e - b for b, e in zip(begin, end)]
    if tuple(shape) != tuple(y.shape):
        raise c.bad(f"output '{y.name}' {list(y.shape)} is not the slice {shape}")
    return OpKind.STRIDED_SLICE, ir.StridedSliceAttrs(tuple(begin), tuple(end), (1,) * rank), [c.op.inputs[0]]


def keras_cropping(b, layer, cfg, ins, out_shape) -> str:
    """Cropping1D / Cropping2D (channels last): a unit-stride slice of the spatial dimensions."""
    if cfg.get("data_format", "channels_last") != "channels_last":
        raise keras_fail(layer, "only data_format='channels_last' is supported")
    shape = b.shape(ins[0])
    crop = cfg["cropping"]
    pairs = [tuple(crop)] if len(shape) == 3 else [tuple(p) for p in crop]
    if len(pairs) != len(shape) - 2:
        raise keras_fail(layer, f"cropping {crop} does not match input rank {len(shape)}")
    begin = (0,) + tuple(int(a) for a, _ in pairs) + (0,)
    end = (shape[0],) + tuple(n - int(e) for n, (_, e) in zip(shape[1:-1], pairs)) + (shape[-1],)
    attrs = ir.StridedSliceAttrs(begin, end, (1,) * len(shape))
    return b.op(OpKind.STRIDED_SLICE, layer.name, ins, out_shape, attrs)


# ---- spec --------------------------------------------------------------------------------------

register(
    OpSpec(OpKind.STRIDED_SLICE, "a strided sub-block, optionally dropping shrunk dimensions "
                                 "(STRIDED_SLICE, SLICE; SPLIT, SPLIT_V and UNPACK: one per output)",
           tflite=(TfliteOp("STRIDED_SLICE", tflite_strided_slice,
                            ("StridedSliceOptions", ("BeginMask", "EndMask", "EllipsisMask", "NewAxisMask",
                                                     "ShrinkAxisMask", "Offset"))),
                   TfliteOp("SLICE", tflite_slice),
                   TfliteOp("SPLIT", tflite_split, ("SplitOptions", ("NumSplits",))),
                   TfliteOp("SPLIT_V", tflite_split_v, ("SplitVOptions", ("NumSplits",))),
                   TfliteOp("UNPACK", tflite_unpack, ("UnpackOptions", ("Num", "Axis")))),
           keras=(KerasLayer("Cropping1D", keras_cropping, QAT_SHARED), KerasLayer("Cropping2D", keras_cropping, QAT_SHARED)),
           checks=(check_slice_fields, check_slice_ranges, check_slice_output, check_same_dtype),
           float_ref=float_strided_slice, bounds=NO_BOUNDS, export=export_strided_slice,
           kernels=Lowering(("int8", "int16")), float_batchable=lambda op: False),
)
