"""Reductions besides MEAN (tinygen/ops/pool.py): SUM, REDUCE_MAX, REDUCE_MIN over any set of axes;
ARG_MAX, ARG_MIN along one axis; CUMSUM along one axis (exclusive, reverse).

What TFLM runs, and so what tinygen accepts: SUM for int8 and int16 (rescaled by in_scale / out_scale);
REDUCE_MAX / REDUCE_MIN for int8 with the output quantized as the input; ARG_MAX / ARG_MIN for int8 input
with an int32 output; CUMSUM for int8. REDUCE_PROD has no TFLM kernel and is not supported.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from tinygen.ir import OpKind
from tinygen.ops.checks import CheckContext, checked_product
from tinygen.ops.common import INT32_MAX, input_range
from tinygen.ops.pool import check_mean_axes, check_mean_output, tflite_mean
from tinygen.ops.spec import Lowering, NotApplicable, OpSpec, TfliteOp, register
from tinygen.ops.tflite_context import OpContext


@dataclass(frozen=True)
class ArgAttrs:
    """ARG_MAX / ARG_MIN: the non-negative axis searched (dropped from the output shape)."""
    axis: int


@dataclass(frozen=True)
class CumsumAttrs:
    """CUMSUM: the non-negative axis summed along; exclusive starts from 0 (each output omits its own
    input); reverse sums from the end of the axis."""
    axis: int
    exclusive: bool = False
    reverse: bool = False


# ---- checks ------------------------------------------------------------------------------------


def check_same_quant(c: CheckContext) -> None:
    """the output has the input's scale and zero point (TFLM does not rescale a max or min)"""
    x, y = c.ins[0], c.out
    if x.quant is None or y.quant is None:
        return
    if x.quant.scale != y.quant.scale or x.quant.zero_point != y.quant.zero_point:
        raise c.unsupported(f"input quantization {x.quant.scale}/{x.quant.zero_point} differs from the "
                            f"output's {y.quant.scale}/{y.quant.zero_point}")


def check_axis(c: CheckContext) -> None:
    """the axis is one of the input's dimensions"""
    r = len(c.ins[0].shape)
    if not isinstance(c.a.axis, int) or not 0 <= c.a.axis < max(r, 1):
        raise c.bad(f"axis {c.a.axis} out of range for rank {r}")


def check_arg_output(c: CheckContext) -> None:
    """the output is the input without the searched axis, int32 (TFLM's only index type)"""
    x, y = c.ins[0], c.out
    want = tuple(n for d, n in enumerate(x.shape) if d != c.a.axis)
    if checked_product(want) != c.out.size:
        raise c.bad(f"output '{y.name}' {list(y.shape)} does not hold {list(want)}")
    if y.dtype != "int32" or x.dtype not in ("int8", "float32"):
        raise c.unsupported(f"input {x.dtype} -> output {y.dtype}: TFLM runs int8 (or float32) -> int32 only")


def check_cumsum_shape(c: CheckContext) -> None:
    """the output has the input's shape, and the input has rank >= 1"""
    if len(c.ins[0].shape) < 1:
        raise c.bad("the input is a scalar")
    c.out_is(c.ins[0].shape)


# ---- float references --------------------------------------------------------------------------


def float_reduce(op, ins, out_shape, graph):
    fn = {OpKind.SUM: np.sum, OpKind.REDUCE_MAX: np.max, OpKind.REDUCE_MIN: np.min}[op.kind]
    return fn(ins[0], axis=op.attrs.axes, keepdims=op.attrs.keep_dims)


def float_arg(op, ins, out_shape, graph):
    fn = np.argmax if op.kind == OpKind.ARG_MAX else np.argmin  # first index on ties, as TFLM
    return fn(ins[0], axis=op.attrs.axis).astype(np.int32)


def float_cumsum(op, ins, out_shape, graph):
    a = op.attrs
    x = np.flip(ins[0], a.axis) if a.reverse else ins[0]
    y = np.cumsum(x, axis=a.axis)
    if a.exclusive:
        y = y - x
    return np.flip(y, a.axis) if a.reverse else y


# ---- bounds ------------------------------------------------------------------------------------


def bounds_sum(graph, op, ranges):
    """SUM adds raw values in int32 like TFLM (which lets the sum wrap; tinygen wraps the same way)."""
    x = graph.tensors[op.inputs[0]]
    if x.dtype == "float32":
        return None
    lo, hi = input_range(graph, x.name, ranges)
    count = int(np.prod([x.shape[a] for a in op.attrs.axes], dtype=np.int64))
    return dict(max_abs_acc=count * max(abs(lo), abs(hi)), worst_channel=0, acc_len=count, input_range=[lo, hi],
                limit=INT32_MAX)


# ---- TFLite ------------------------------------------------------------------------------------


def tflite_reduce(kind: OpKind):
    def convert(c: OpContext):
        _, attrs, ins = tflite_mean(c)
        return kind, attrs, ins
    return convert


def _one_axis(c: OpContext, rank: int) -> int:
    axis = c.int_const(1, "axis").reshape(-1)
    if axis.size != 1 or not -rank <= int(axis[0]) < rank:
        raise c.bad(f"axis {axis.tolist()} must be one value in [-{rank}, {rank})")
    return int(axis[0]) % rank


def tflite_arg(kind: OpKind):
    def convert(c: OpContext):
        x = c.input(0)
        if c.input(1).dtype != "int32":
            raise c.unsupported(f"axis type {c.input(1).dtype}: TFLM takes an int32 axis only")
        return kind, ArgAttrs(_one_axis(c, len(x.shape))), [c.op.inputs[0]]
    return convert


def tflite_cumsum(c: OpContext):
    x = c.input(0)
    if c.input(1).dtype != "int32":
        raise c.unsupported(f"axis type {c.input(1).dtype}: TFLM takes an int32 axis only")
    o = c.op.options
    attrs = CumsumAttrs(_one_axis(c, len(x.shape)), bool(o.get("Exclusive", False)), bool(o.get("Reverse", False)))
    return OpKind.CUMSUM, attrs, [c.op.inputs[0]]


def export_reduce(w, op, ins, outs) -> None:
    axes = w.new_const(f"{op.name}/axes", np.asarray(op.attrs.axes, dtype=np.int32))
    w.emit(op.kind.value, [ins[0], axes], outs, "ReducerOptions", (("KeepDims", bool(op.attrs.keep_dims)),))


def export_arg(w, op, ins, outs) -> None:
    axis = w.new_const(f"{op.name}/axis", np.asarray([op.attrs.axis], dtype=np.int32))
    table = "ArgMaxOptions" if op.kind == OpKind.ARG_MAX else "ArgMinOptions"
    w.emit(op.kind.value, [ins[0], axis], outs, table, (("OutputType", 2),))  # TensorType INT32


def export_cumsum(w, op, ins, outs) -> None:
    axis = w.new_const(f"{op.name}/axis", np.asarray(op.attrs.axis, dtype=np.int32))
    w.emit("CUMSUM", [ins[0], axis], outs, "CumsumOptions",
           (("Exclusive", bool(op.attrs.exclusive)), ("Reverse", bool(op.attrs.reverse))))


# ---- specs -------------------------------------------------------------------------------------

_REDUCER = ("ReducerOptions", ("KeepDims",))
_NO_KERAS = NotApplicable("Keras has no layer for it; .tflite models (keras.ops.* through TF's converter) only")
_NO_ACC = NotApplicable("compares values; nothing accumulates")
_REDUCE_CHECKS = (check_mean_axes, check_mean_output)


def _batchable(op) -> bool:
    return 0 not in op.attrs.axes


register(
    OpSpec(OpKind.SUM, "sum over a set of axes, rescaled to the output (int8, int16)",
           tflite=(TfliteOp("SUM", tflite_reduce(OpKind.SUM), _REDUCER),), keras=_NO_KERAS,
           checks=_REDUCE_CHECKS, float_ref=float_reduce, bounds=bounds_sum, export=export_reduce,
           kernels=Lowering(("int8", "int16")), inputs=(1, 1), float_batchable=_batchable),
    OpSpec(OpKind.REDUCE_MAX, "maximum over a set of axes (int8; output quantized as the input)",
           tflite=(TfliteOp("REDUCE_MAX", tflite_reduce(OpKind.REDUCE_MAX), _REDUCER),), keras=_NO_KERAS,
           checks=_REDUCE_CHECKS + (check_same_quant,), float_ref=float_reduce, bounds=_NO_ACC,
           export=export_reduce, kernels=Lowering(("int8",)), float_batchable=_batchable),
    OpSpec(OpKind.REDUCE_MIN, "minimum over a set of axes (int8; output quantized as the input)",
           tflite=(TfliteOp("REDUCE_MIN", tflite_reduce(OpKind.REDUCE_MIN), _REDUCER),), keras=_NO_KERAS,
           checks=_REDUCE_CHECKS + (check_same_quant,), float_ref=float_reduce, bounds=_NO_ACC,
           export=export_reduce, kernels=Lowering(("int8",)), float_batchable=_batchable),
    OpSpec(OpKind.ARG_MAX, "index of the largest value along one axis (int8 -> int32, first index on ties)",
           tflite=(TfliteOp("ARG_MAX", tflite_arg(OpKind.ARG_MAX), ("ArgMaxOptions", ("OutputType",))),),
           keras=_NO_KERAS, checks=(check_axis, check_arg_output), float_ref=float_arg, bounds=_NO_ACC,
           export=export_arg, kernels=Lowering(("int8",)), attrs=ArgAttrs,
           float_batchable=lambda op: op.attrs.axis != 0),
    OpSpec(OpKind.ARG_MIN, "index of the smallest value along one axis (int8 -> int32, first index on ties)",
           tflite=(TfliteOp("ARG_MIN", tflite_arg(OpKind.ARG_MIN), ("ArgMinOptions", ("OutputType",))),),
           keras=_NO_KERAS, checks=(check_axis, check_arg_output), float_ref=float_arg, bounds=_NO_ACC,
           export=export_arg, kernels=Lowering(("int8",)), float_batchable=lambda op: op.attrs.axis != 0),
    OpSpec(OpKind.CUMSUM, "running sum along one axis, optionally exclusive and / or reversed (int8)",
           tflite=(TfliteOp("CUMSUM", tflite_cumsum, ("CumsumOptions", ("Exclusive", "Reverse"))),),
           keras=_NO_KERAS, checks=(check_axis, check_cumsum_shape), float_ref=float_cumsum,
           bounds=NotApplicable("TFLM's int8 running sum is a 2^19-scaled int32 that wraps past 4096 summed "
                                "values of input units; tinygen wraps identically"),
           export=export_cumsum, kernels=Lowering(("int8",)), attrs=CumsumAttrs,
           float_batchable=lambda op: op.attrs.axis != 0),
)
