"""Lowering of SUM, REDUCE_MAX, REDUCE_MIN (and MEAN of rank 5, which tinygen/lower/pool.py and int16_nn.py
leave), ARG_MAX / ARG_MIN and CUMSUM to runtime_c/reduce/.

The arithmetic is TFLM's reference kernels': SUM adds raw values in wrapping int32 and rescales
sum - in_zp * n by in_scale / out_scale; MEAN folds 1 / n into that multiplier (or divides when the output
is quantized as the input); max / min compare raw values; ARG_* keep the first index on ties; CUMSUM runs
TFLM's 2^20-scaled int32 accumulator, which starts at the scaled negated zero point and wraps.
"""
from __future__ import annotations

import numpy as np

from tinygen.errors import UnsupportedError
from tinygen.ir import Graph, Op, OpKind
from tinygen.lower.base import Kernel, Literal, LoweredOp, TensorArg, register
from tinygen.lower.pool import mean_params
from tinygen.quant import qmath

MODES = {"div": 0, "scale": 1, OpKind.REDUCE_MAX: 2, OpKind.REDUCE_MIN: 3}
_RANGE = {"int8": (-128, 127), "int16": (-(1 << 15), (1 << 15) - 1)}


def _fail(op: Op, why: str) -> UnsupportedError:
    return UnsupportedError(f"layer '{op.name}' ({op.kind.value}): {why}")


def merged_dims(shape: tuple, axes) -> tuple:
    """(dims, reduced flags) of `shape` with neighbouring dimensions of the same kind merged, padded to 5
    with leading kept 1s. Raises ValueError beyond 5 groups."""
    rank = len(shape)
    red = {int(a) % rank for a in axes} if rank else set()
    dims, flags = [], []
    for d, n in enumerate(shape):
        f = d in red
        if flags and flags[-1] == f:
            dims[-1] *= int(n)
        else:
            dims.append(int(n))
            flags.append(f)
    if len(dims) > 5:
        raise ValueError(len(dims))
    pad = 5 - len(dims)
    return tuple([1] * pad + dims), tuple([False] * pad + flags)


def reduce_reference(x: np.ndarray, dims: tuple, flags: tuple, mode: int, params: tuple, dtype: str) -> np.ndarray:
    """NumPy twin of tg_reduce_s8 / s16: flat output of the kept dimensions."""
    in_zp, out_zp, mult, shift = params
    axes = tuple(k for k in range(5) if flags[k])
    v = np.asarray(x, dtype=np.int64).reshape(dims)
    count = int(np.prod([dims[k] for k in axes], dtype=np.int64))
    lo, hi = _RANGE[dtype]
    if mode == MODES[OpKind.REDUCE_MAX]:
        out = v.max(axis=axes)
    elif mode == MODES[OpKind.REDUCE_MIN]:
        out = v.min(axis=axes)
    else:
        s = qmath.wrap_int32(v.sum(axis=axes))
        if mode == MODES["div"]:
            out = np.where(s >= 0, s // count, -((-s) // count))  # C truncating division
        else:
            out = qmath.requantize(qmath.wrap_int32(s - in_zp * count), mult, shift, out_zp, lo, hi)
    return np.asarray(out).astype(dtype).reshape(-1)


class Reduce(Kernel):
    """SUM (int8, int16), REDUCE_MAX / REDUCE_MIN (int8), MEAN (int8, int16; rank 5 reaches it) over any axes
    of a tensor of rank <= 5 whose kept / reduced dimensions form at most 5 groups."""

    kinds = (OpKind.SUM, OpKind.REDUCE_MAX, OpKind.REDUCE_MIN, OpKind.MEAN)

    def supports(self, op: Op, graph: Graph) -> bool:
        x, y = graph.tensors[op.inputs[0]], graph.tensors[op.outputs[0]]
        dtypes = ("int8",) if op.kind in (OpKind.REDUCE_MAX, OpKind.REDUCE_MIN) else ("int8", "int16")
        return x.dtype == y.dtype and x.dtype in dtypes

    def lower(self, op: Op, graph: Graph) -> LoweredOp:
        x, y = graph.tensors[op.inputs[0]], graph.tensors[op.outputs[0]]
        if len(x.shape) > 5:
            raise _fail(op, f"rank {len(x.shape)} > 5 (TFLM reduces tensors of rank <= 5)")
        dims, flags = merged_dims(x.shape, op.attrs.axes)
        count = int(np.prod([d for d, f in zip(dims, flags) if f], dtype=np.int64))
        if int(np.prod([d for d, f in zip(dims, flags) if not f], dtype=np.int64)) != y.size:
            raise _fail(op, f"output {list(y.shape)} does not match input {list(x.shape)} reduced over "
                            f"axes {tuple(op.attrs.axes)}")
        in_zp, out_zp, mult, shift = x.zero_point, y.zero_point, 0, 0
        if op.kind in (OpKind.REDUCE_MAX, OpKind.REDUCE_MIN):
            if (x.scale, x.zero_point) != (y.scale, y.zero_point):
                raise _fail(op, "the output must be quantized as the input (TFLM does not rescale a max or min)")
            mode = MODES[op.kind]
        elif op.kind == OpKind.SUM:
            mode = MODES["scale"]
            mult, shift = qmath.quantize_multiplier(x.scale / y.scale)
        else:
            requant, mult, shift = mean_params(x.scale, in_zp, y.scale, out_zp, count)
            mode = MODES["scale" if requant else "div"]
        params = (in_zp, out_zp, mult, shift)
        mask = sum(1 << k for k in range(5) if flags[k])
        suffix = "s8" if x.dtype == "int8" else "s16"
        args = [Literal(v) for v in (mode, in_zp, out_zp, mult, shift) + dims + (mask,)]
        args += [TensorArg(x.name), TensorArg(y.name, const=False)]

        def reference(inputs: list) -> list:
            return [reduce_reference(inputs[0], dims, flags, mode, params, x.dtype).reshape(y.shape)]

        # in place: output o is written after its reads, at byte o * size <= the first input byte of any later
        # output (the input stride of a kept dimension is at least its output stride)
        return LoweredOp(op, f"tg_reduce_{suffix}", (f"tg_reduce_{suffix}.c",), args, [], reference,
                         inplace_of=x.name, notes={"mode": mode, "count": count})


def _outer_inner(shape: tuple, axis: int) -> tuple:
    outer = int(np.prod(shape[:axis], dtype=np.int64))
    inner = int(np.prod(shape[axis + 1:], dtype=np.int64))
    return outer, int(shape[axis]), inner


class ArgMinMaxS8(Kernel):
    """ARG_MAX / ARG_MIN, int8 input, int32 output (what TFLM runs)."""

    kinds = (OpKind.ARG_MAX, OpKind.ARG_MIN)

    def supports(self, op: Op, graph: Graph) -> bool:
        return graph.tensors[op.inputs[0]].dtype == "int8" and graph.tensors[op.outputs[0]].dtype == "int32"

    def lower(self, op: Op, graph: Graph) -> LoweredOp:
        x, y = graph.tensors[op.inputs[0]], graph.tensors[op.outputs[0]]
        outer, size, inner = _outer_inner(x.shape, op.attrs.axis)
        is_max = int(op.kind == OpKind.ARG_MAX)
        args = [Literal(v) for v in (is_max, outer, size, inner)] + [TensorArg(x.name), TensorArg(y.name, const=False)]

        def reference(inputs: list) -> list:
            v = np.asarray(inputs[0]).reshape(outer, size, inner)
            idx = v.argmax(axis=1) if is_max else v.argmin(axis=1)  # first index on ties
            return [idx.astype(np.int32).reshape(y.shape)]

        return LoweredOp(op, "tg_arg_minmax_s8", ("tg_arg_minmax_s8.c",), args, [], reference)


def cumsum_params(x, y) -> tuple:
    """(in_mult, in_shift, out_mult, out_shift, acc0) of TFLM's int8 CUMSUM: inputs scaled by
    in_scale / (2 in_scale) after a 2^20 left shift, the sum by 2 in_scale / (2^20 out_scale)."""
    twice = 2.0 * x.scale
    in_mult, in_shift = qmath.quantize_multiplier(x.scale / twice)
    out_mult, out_shift = qmath.quantize_multiplier(twice / ((1 << 20) * y.scale))
    acc0 = int(qmath.multiply_by_quantized_multiplier(-x.zero_point * (1 << 20), in_mult, in_shift))
    return in_mult, in_shift, out_mult, out_shift, acc0


class CumsumS8(Kernel):
    """int8 CUMSUM along one axis (exclusive, reverse), TFLM's quantized running sum."""

    kinds = (OpKind.CUMSUM,)

    def supports(self, op: Op, graph: Graph) -> bool:
        return graph.tensors[op.inputs[0]].dtype == "int8" and graph.tensors[op.outputs[0]].dtype == "int8"

    def lower(self, op: Op, graph: Graph) -> LoweredOp:
        x, y = graph.tensors[op.inputs[0]], graph.tensors[op.outputs[0]]
        a = op.attrs
        outer, depth, inner = _outer_inner(x.shape, a.axis)
        in_mult, in_shift, out_mult, out_shift, acc0 = cumsum_params(x, y)
        if in_shift > 0 or out_shift > 0:
            raise _fail(op, f"output scale {y.scale:g} below 2 * input scale / 2^20: TFLM's rescale must be < 1")
        vals = (int(a.exclusive), int(a.reverse), outer, depth, inner, x.zero_point, acc0, in_mult, in_shift,
                out_mult, out_shift, y.zero_point)
        args = [Literal(v) for v in vals] + [TensorArg(x.name), TensorArg(y.name, const=False)]

        def reference(inputs: list) -> list:
            v = np.asarray(inputs[0], dtype=np.int64).reshape(outer, depth, inner)
            if a.reverse:
                v = v[:, ::-1]
            s = qmath.multiply_by_quantized_multiplier((v - x.zero_point) << 20, in_mult, in_shift)
            acc = qmath.wrap_int32(acc0 + np.cumsum(s, axis=1))
            if a.exclusive:
                acc = qmath.wrap_int32(acc - s)
            out = qmath.requantize(acc, out_mult, out_shift, y.zero_point, -128, 127)
            if a.reverse:
                out = out[:, ::-1]
            return [np.ascontiguousarray(out).astype(np.int8).reshape(y.shape)]

        # in place: each element is read once, then its output written at the same index
        return LoweredOp(op, "tg_cumsum_s8", ("tg_cumsum_s8.c",), args, [], reference, inplace_of=x.name)


register(Reduce())
register(ArgMinMaxS8())
register(CumsumS8())
