"""16x8 lowerings (int16 symmetric activations, int8 weights, int64 biases) of FULLY_CONNECTED,
DEPTHWISE_CONV_2D, AVERAGE_POOL_2D, MAX_POOL_2D, MEAN, SOFTMAX, LOGISTIC, TANH, CONCATENATION and MUL.

Constants are computed the way TFLM's Prepare computes them for int16 tensors; the references follow
TFLM's int16 reference kernels bit for bit. Every `supports` requires int16 activations, so the int8
lowerings registered earlier keep every int8 op. RESHAPE needs nothing here (shape.Reshape aliases
any dtype).
"""
from __future__ import annotations


import numpy as np

from tinygen.ir import Activation, Graph, Op, OpKind, Tensor
from tinygen.quant import qmath
from tinygen.lower.base import ConstArg, ConstArray, Kernel, Literal, LoweredOp, TensorArg, register
from tinygen.lower.conv import fc_requant, windows
from tinygen.lower.elementwise import BinaryOperands
from tinygen.lower.int16 import (MAX_SHIFT_64, Requant16, _fail, finish_16x8, is_16x8, requant_16x8, weighted_consts,
                    weighted_tensors)
from tinygen.lower.pool import extend4, mean_params, pool_reference

INT16_MIN, INT16_MAX = -(1 << 15), (1 << 15) - 1


def _names(op: Op) -> list:
    return [t for t in op.inputs if t is not None] + list(op.outputs)


def _activations_int16(op: Op, graph: Graph) -> bool:
    """True when every non-constant input and every output of the op is int16."""
    return all(graph.tensors[t].dtype == "int16" for t in _names(op) if not graph.tensors[t].is_const)


def _symmetric(op: Op, graph: Graph, names=None) -> None:
    """int16 activations must be per-tensor quantized with zero point 0 (the 16x8 spec)."""
    for name in names if names is not None else _names(op):
        t = graph.tensors[name]
        if t.dtype != "int16":
            continue
        if t.quant is None or t.quant.per_axis:
            raise _fail(op, f"int16 tensor '{t.name}' needs per-tensor quantization")
        if t.zero_point != 0:
            raise _fail(op, f"int16 tensor '{t.name}' has zero point {t.zero_point}; 16x8 needs 0")


def act_range16(op: Op, y: Tensor) -> tuple:
    """Quantized clamp bounds of the op's fused activation on its int16 output."""
    return qmath.activation_range(op.attrs.activation, y.scale, y.zero_point, INT16_MIN, INT16_MAX)


# ---- FULLY_CONNECTED and DEPTHWISE_CONV_2D: int64 accumulators, tails shared with int16.py ------------


def _weighted_supported(op: Op, graph: Graph) -> bool:
    bias = op.inputs[2] if len(op.inputs) > 2 else None
    return is_16x8(op, graph) and (bias is None or graph.tensors[bias].dtype == "int64")


def _fc_requant(op: Op, x: Tensor, w: Tensor, y: Tensor, channels: int) -> Requant16:
    """Per-channel filters as CONV (double math); a per-tensor filter forms s_in * s_w in float32 first
    (TFLM's FC Prepare), exactly as the int8 FULLY_CONNECTED."""
    if w.quant.per_axis:
        return requant_16x8(op, x, w, y, channels, 0)
    rq = fc_requant(op, x, w, y, channels)
    if int(rq.shift.max()) > MAX_SHIFT_64:
        raise _fail(op, f"rescale s_in * s_w / s_out reaches 2^{int(rq.shift.max())}; the int64 "
                        f"requantize supports shifts up to {MAX_SHIFT_64}")
    lo, hi = act_range16(op, y)
    return Requant16(rq.mult, rq.shift, int(lo), int(hi), False)


class FullyConnectedS16(Kernel):
    """16x8 FULLY_CONNECTED: int64 accumulation, per-tensor or per-channel multipliers."""

    kinds = (OpKind.FULLY_CONNECTED,)

    def __init__(self, fast: bool = False):
        self.fast = fast  # the registered kernel; the GRU step programs (gru.py) record the general call

    def supports(self, op: Op, graph: Graph) -> bool:
        return _weighted_supported(op, graph)

    def lower(self, op: Op, graph: Graph) -> LoweredOp:
        from tinygen.lower.int16_fast import fc_fast  # int16_fast builds on int16.py

        x, w, b, y = weighted_tensors(op, graph, nhwc=False)
        if len(w.shape) != 2:
            raise _fail(op, f"weights must be 2-D (out, in), got {w.shape}")
        out_depth, accum = w.shape
        if x.size % accum or y.size != (x.size // accum) * out_depth:
            raise _fail(op, f"input {x.shape} and output {y.shape} do not fit weights {w.shape}")
        batches = x.size // accum
        if w.quant.per_axis and any(z != 0 for z in w.quant.zero_point):
            raise _fail(op, f"per-channel weights '{w.name}' must be symmetric (zero point 0)")
        filter_offset = 0 if w.quant.per_axis else -w.zero_point
        rq = _fc_requant(op, x, w, y, out_depth)
        consts, bias_arg, bias = weighted_consts(rq, w.data, b)
        filt = consts[2].data
        args = [Literal(filter_offset), Literal(rq.act_min), Literal(rq.act_max),
                ConstArg(0), ConstArg(1), Literal(int(rq.per_channel)),
                Literal(batches), Literal(accum), TensorArg(x.name),
                Literal(out_depth), ConstArg(2), bias_arg, TensorArg(y.name, const=False)]

        def reference(inputs):
            xs = np.asarray(inputs[0], dtype=np.int64).reshape(-1, accum)
            acc = xs @ (filt.astype(np.int64) + filter_offset).T
            return [finish_16x8(acc, bias, rq).reshape(y.shape)]

        fast = None  # symmetric weights: a 1x1 conv with exact int32 sums where the bounds hold (int16_fast.py)
        if self.fast and not filter_offset:
            fast = fc_fast(op, x.name, y.name, filt.reshape(out_depth, accum), bias, rq, batches, reference)
        if fast is not None:
            return fast
        return LoweredOp(op, "tg_fully_connected_s16", ("tg_fully_connected_s16.c",), args, consts, reference,
                         macs=batches * out_depth * accum, notes={"per_channel": rq.per_channel})


class DepthwiseConv2DS16(Kernel):
    """16x8 DEPTHWISE_CONV_2D: int64 accumulation, per-channel multipliers."""

    kinds = (OpKind.DEPTHWISE_CONV_2D,)

    def supports(self, op: Op, graph: Graph) -> bool:
        return _weighted_supported(op, graph)

    def lower(self, op: Op, graph: Graph) -> LoweredOp:
        from tinygen.lower.int16_fast import depthwise_fast  # int16_fast builds on int16.py

        x, w, b, y = weighted_tensors(op, graph)
        a = op.attrs
        n, in_h, in_w, in_c = x.shape
        _, out_h, out_w, out_c = y.shape
        one, fh, fw, wc = w.shape
        m = a.depth_multiplier
        if one != 1 or wc != out_c or out_c != in_c * m:
            raise _fail(op, f"filter {w.shape} with depth multiplier {m} does not fit input {x.shape}"
                            f" and output {y.shape}")
        rq = requant_16x8(op, x, w, y, out_c, 3)
        fast = depthwise_fast(op, graph)  # multiplier 1, exact int32 sums and 32-bit output step (int16_fast.py)
        if fast is not None:
            return fast
        consts, bias_arg, bias = weighted_consts(rq, w.data, b)
        filt = consts[2].data
        args = [Literal(a.stride_h), Literal(a.stride_w), Literal(a.dilation_h), Literal(a.dilation_w),
                Literal(a.padding.top), Literal(a.padding.left), Literal(m),
                Literal(rq.act_min), Literal(rq.act_max), ConstArg(0), ConstArg(1), Literal(int(rq.per_channel)),
                Literal(n), Literal(in_h), Literal(in_w), Literal(in_c), TensorArg(x.name),
                Literal(fh), Literal(fw), ConstArg(2), bias_arg,
                Literal(out_h), Literal(out_w), TensorArg(y.name, const=False)]

        def reference(inputs):
            win = windows(np.asarray(inputs[0], dtype=np.int64), fh, fw, a, out_h, out_w)
            win = np.repeat(win, m, axis=-1)
            acc = np.einsum("nyxhwc,hwc->nyxc", win, filt[0].astype(np.int64))
            return [finish_16x8(acc, bias, rq)]

        return LoweredOp(op, "tg_depthwise_conv2d_s16", ("tg_depthwise_conv2d_s16.c",), args, consts,
                         reference, macs=n * out_h * out_w * out_c * fh * fw,
                         notes={"per_channel": rq.per_channel})


# ---- pooling and MEAN ----------------------------------------------------------------------------


class Pool2DS16(Kernel):
    """int16 AVERAGE_POOL_2D / MAX_POOL_2D (NHWC, explicit padding)."""

    kinds = (OpKind.AVERAGE_POOL_2D, OpKind.MAX_POOL_2D)

    def supports(self, op: Op, graph: Graph) -> bool:
        return _activations_int16(op, graph) and len(graph.tensors[op.inputs[0]].shape) == 4

    def lower(self, op: Op, graph: Graph) -> LoweredOp:
        a = op.attrs
        x, y = graph.tensors[op.inputs[0]], graph.tensors[op.outputs[0]]
        _symmetric(op, graph)
        n, in_h, in_w, c = x.shape
        out_h, out_w = y.shape[1], y.shape[2]
        if y.shape[0] != n or y.shape[3] != c:
            raise _fail(op, f"output shape {y.shape} does not match input {x.shape} in batch or channels")
        for oy, ox in ((0, 0), (out_h - 1, out_w - 1)):
            y0, x0 = oy * a.stride_h - a.padding.top, ox * a.stride_w - a.padding.left
            if min(y0 + a.filter_h, in_h) <= max(y0, 0) or min(x0 + a.filter_w, in_w) <= max(x0, 0):
                raise _fail(op, "a pooling window lies entirely in the padding")
        act = act_range16(op, y)
        fn = "tg_avgpool_s16" if op.kind == OpKind.AVERAGE_POOL_2D else "tg_maxpool_s16"
        args = [Literal(v) for v in (a.stride_h, a.stride_w, a.padding.top, a.padding.left,
                                     a.filter_h, a.filter_w, act[0], act[1], n, in_h, in_w, c)]
        args += [TensorArg(x.name), Literal(out_h), Literal(out_w), TensorArg(y.name, const=False)]

        def reference(inputs):
            return [pool_reference(op.kind, np.asarray(inputs[0]), (out_h, out_w), a, act, np.int16)]

        return LoweredOp(op, fn, (fn + ".c",), args, [], reference)


class MeanS16(Kernel):
    """int16 MEAN over any axes of a tensor of rank <= 4 (TFLM's integer mean, int16 clamp)."""

    kinds = (OpKind.MEAN,)

    def supports(self, op: Op, graph: Graph) -> bool:
        """Up to 2^16 - 1 values per mean (the int32 sum cannot wrap); longer means and rank 5 go to
        tinygen/lower/reduce.py, whose sum wraps like TFLM's."""
        x = graph.tensors[op.inputs[0]]
        count = int(np.prod([x.shape[a] for a in op.attrs.axes], dtype=np.int64)) if x.shape else 1
        return _activations_int16(op, graph) and len(x.shape) <= 4 and count < 1 << 16

    def lower(self, op: Op, graph: Graph) -> LoweredOp:
        x, y = graph.tensors[op.inputs[0]], graph.tensors[op.outputs[0]]
        _symmetric(op, graph, [x.name, y.name])
        rank = len(x.shape)
        dims = extend4(x.shape)
        reduced = [0] * 4
        for ax in {int(ax) % rank for ax in op.attrs.axes} if rank else ():
            reduced[ax + 4 - rank] = 1
        count = int(np.prod([d for d, r in zip(dims, reduced) if r], dtype=np.int64))
        if int(np.prod([d for d, r in zip(dims, reduced) if not r], dtype=np.int64)) != y.size:
            raise _fail(op, f"output shape {y.shape} does not match input {x.shape} reduced over "
                            f"axes {tuple(op.attrs.axes)}")
        if count >= 1 << 16:
            raise _fail(op, f"averaging {count} int16 values could overflow the int32 sum")
        requant, mult, shift = mean_params(x.scale, 0, y.scale, 0, count)
        args = [Literal(r) for r in reduced] + [Literal(v) for v in (requant, 0, 0, mult, shift)]
        args += [Literal(d) for d in dims] + [TensorArg(x.name), TensorArg(y.name, const=False)]
        axes = tuple(k for k in range(4) if reduced[k])

        def reference(inputs):
            s = np.asarray(inputs[0], dtype=np.int64).reshape(dims).sum(axis=axes)
            if requant:
                out = qmath.requantize(s, mult, shift, 0, INT16_MIN, INT16_MAX)
            else:
                out = np.where(s >= 0, s // count, -((-s) // count))
            return [np.asarray(out).astype(np.int16).reshape(y.shape)]

        return LoweredOp(op, "tg_mean_s16", ("tg_mean_s16.c",), args, [], reference,
                         notes={"requantize": bool(requant)})


# ---- CONCATENATION and MUL -----------------------------------------------------------------------


class ConcatS16(Kernel):
    """int16 CONCATENATION along one axis (a copy; like TFLM, inputs are not requantized)."""

    kinds = (OpKind.CONCATENATION,)

    def supports(self, op: Op, graph: Graph) -> bool:
        return all(graph.tensors[t].dtype == "int16" for t in _names(op))

    def lower(self, op: Op, graph: Graph) -> LoweredOp:
        a = op.attrs
        if a.activation != Activation.NONE:
            raise _fail(op, f"fused activation {a.activation.value} is not supported")
        y = graph.tensors[op.outputs[0]]
        rank = len(y.shape)
        if rank > 4 or not 0 <= a.axis < rank:
            raise _fail(op, f"axis {a.axis} of a rank {rank} tensor is not supported")
        tensors = [graph.tensors[t] for t in op.inputs]
        for t in tensors:
            if len(t.shape) != rank or any(t.shape[k] != y.shape[k] for k in range(rank) if k != a.axis):
                raise _fail(op, f"input '{t.name}' {list(t.shape)} does not fit output {list(y.shape)}")
        if sum(t.shape[a.axis] for t in tensors) != y.shape[a.axis]:
            raise _fail(op, f"input sizes along axis {a.axis} do not add up to {y.shape[a.axis]}")
        outer = int(np.prod(y.shape[:a.axis], dtype=np.int64))
        inner = np.array([int(np.prod(t.shape[a.axis:], dtype=np.int64)) for t in tensors], np.int32)
        consts = [ConstArray("inner", inner)]
        pointers = []
        for i, t in enumerate(tensors):
            if t.is_const:
                pointers.append(ConstArg(len(consts)))
                consts.append(ConstArray(f"in{i}", np.asarray(t.data, np.int16).reshape(-1)))
            else:
                pointers.append(TensorArg(op.inputs[i]))
        args = [Literal(outer), Literal(int(inner.sum())), Literal(len(tensors)), ConstArg(0),
                TensorArg(y.name, const=False)] + pointers
        axis = a.axis

        def reference(arrays):
            it = iter(arrays)
            parts = [np.asarray(t.data if t.is_const else next(it), np.int16).reshape(t.shape) for t in tensors]
            return [np.concatenate(parts, axis=axis)]

        return LoweredOp(op, "tg_concat_s16", ("tg_concat_s16.c",), args, consts, reference)


class MulS16(Kernel):
    """int16 MUL with broadcasting: one multiplier scale1 * scale2 / scale_out (double), no offsets."""

    kinds = (OpKind.MUL,)

    def supports(self, op: Op, graph: Graph) -> bool:
        return all(graph.tensors[t].dtype == "int16" for t in _names(op))

    def lower(self, op: Op, graph: Graph) -> LoweredOp:
        _symmetric(op, graph)
        ops = BinaryOperands(op, graph)  # constant operands are stored as int16
        t1, t2 = ops.tensors
        y = graph.tensors[op.outputs[0]]
        mult, shift = qmath.quantize_multiplier(t1.scale * t2.scale / y.scale)
        act = act_range16(op, y)
        args = [Literal(v) for v in (mult, shift, act[0], act[1])] + ops.c_operands()
        args.append(TensorArg(y.name, const=False))

        def reference(inputs):
            x1, x2 = ops.values(inputs)
            return [qmath.requantize(x1 * x2, mult, shift, 0, act[0], act[1]).astype(np.int16)]

        return LoweredOp(op, "tg_mul_s16", ("tg_mul_s16.c",), args, ops.const_arrays, reference)


for _kernel in (FullyConnectedS16(fast=True), DepthwiseConv2DS16(), Pool2DS16(), MeanS16(), ConcatS16(), MulS16()):
    register(_kernel)
