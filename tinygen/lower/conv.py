"""int8 CONV_2D, DEPTHWISE_CONV_2D and FULLY_CONNECTED: lowering to the tg_* C kernels plus a NumPy
reference built from the same precomputed multipliers, bit-exact with TFLM's reference integer kernels.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from tinygen.errors import UnsupportedError
from tinygen.ir import Graph, Op, OpKind, Tensor
from tinygen.quant import qmath
from tinygen.lower.base import ConstArg, ConstArray, Kernel, Literal, LoweredOp, TensorArg, register

INT8_MIN, INT8_MAX = -128, 127


@dataclass(frozen=True)
class Requant:
    """Everything the kernel tail needs: acc -> clamp(MBQM(acc + bias) + output_offset)."""
    mult: np.ndarray  # int32, one per output channel, or a single entry when per_channel is False
    shift: np.ndarray  # int32, same length as mult
    per_channel: bool
    input_offset: int  # -input zero point
    output_offset: int  # output zero point
    act_min: int
    act_max: int


# ---- checks shared by the three ops ----------------------------------------------------------


def _fail(op: Op, why: str) -> UnsupportedError:
    return UnsupportedError(f"layer '{op.name}' ({op.kind.value}): {why}")


def _tensors(op: Op, graph: Graph) -> tuple:
    """(input, filter, bias or None, output), checked to be the int8 x int8 -> int8 (+ int32 bias) form."""
    if len(op.inputs) not in (2, 3) or len(op.outputs) != 1:
        raise _fail(op, f"expects 2 or 3 inputs and 1 output, got {len(op.inputs)} and {len(op.outputs)}")
    x = graph.tensor(op.inputs[0])
    w = graph.tensor(op.inputs[1])
    b = graph.tensor(op.inputs[2]) if len(op.inputs) == 3 and op.inputs[2] is not None else None
    y = graph.tensor(op.outputs[0])
    for t, role in ((x, "input"), (w, "filter"), (y, "output")):
        if t.dtype != "int8" or t.quant is None:
            raise _fail(op, f"{role} '{t.name}' must be quantized int8, got {t.dtype}")
    if x.quant.per_axis or y.quant.per_axis:
        raise _fail(op, "per-axis quantized activations are not supported")
    if not w.is_const:
        raise _fail(op, f"filter '{w.name}' must be a constant tensor")
    if b is not None and (b.dtype != "int32" or not b.is_const):
        raise _fail(op, f"bias '{b.name}' must be a constant int32 tensor, got {b.dtype}")
    return x, w, b, y


def _supported(op: Op, graph: Graph) -> bool:
    ins = [graph.tensor(t) for t in op.inputs if t is not None]
    if len(ins) < 2 or graph.tensor(op.outputs[0]).dtype != "int8":
        return False
    ok = ins[0].dtype == "int8" and ins[1].dtype == "int8" and ins[1].encoding in (None, "int8c")  # low-bit: lowbit.py
    return ok and (len(ins) == 2 or ins[2].dtype == "int32")


def _filter_scales(op: Op, w: Tensor, channels: int, axis: int) -> tuple:
    q = w.quant
    if q.per_axis:
        if q.axis != axis or len(q.scale) != channels:
            raise _fail(op, f"filter '{w.name}' is quantized per axis {q.axis} with {len(q.scale)} scales;"
                            f" expected axis {axis} with {channels}")
    return q.scale


def _act_range(op: Op, y: Tensor) -> tuple:
    return qmath.activation_range(op.attrs.activation, y.scale, y.zero_point, INT8_MIN, INT8_MAX)


def conv_requant(op: Op, x: Tensor, w: Tensor, y: Tensor, channels: int, axis: int) -> Requant:
    """CONV_2D / DEPTHWISE_CONV_2D (and per-channel FC): s_in * s_w / s_out formed in double per channel."""
    if any(z != 0 for z in w.quant.zero_point):
        raise _fail(op, f"filter '{w.name}' must be symmetric (zero point 0)")
    scales = _filter_scales(op, w, channels, axis)
    reals = [float(x.scale) * float(s) / float(y.scale) for s in scales]
    mult, shift = qmath.quantize_multiplier_array(reals)
    lo, hi = _act_range(op, y)
    return Requant(mult, shift, len(scales) > 1, -x.zero_point, y.zero_point, lo, hi)


def fc_requant(op: Op, x: Tensor, w: Tensor, y: Tensor, channels: int) -> Requant:
    """FULLY_CONNECTED: per-tensor forms s_in * s_w in float32, then divides in double; per-channel as conv."""
    if w.quant.per_axis:
        return conv_requant(op, x, w, y, channels, 0)
    product = float(np.float32(x.scale) * np.float32(w.scale))
    mult, shift = qmath.quantize_multiplier_array([product / float(y.scale)])
    lo, hi = _act_range(op, y)
    return Requant(mult, shift, False, -x.zero_point, y.zero_point, lo, hi)


# ---- NumPy reference ----------------------------------------------------------------------------


def finish(acc: np.ndarray, bias, rq: Requant) -> np.ndarray:
    """int32 accumulators (channels last) -> int8 outputs, exactly as the C kernel tail."""
    acc = qmath.wrap_int32(acc)
    if bias is not None:
        acc = qmath.wrap_int32(acc + bias.astype(np.int64))
    out = qmath.requantize(acc, rq.mult.astype(np.int64), rq.shift.astype(np.int64), rq.output_offset,
                           rq.act_min, rq.act_max)
    return out.astype(np.int8)


def windows(x: np.ndarray, fh: int, fw: int, attrs, out_h: int, out_w: int) -> np.ndarray:
    """(N, H, W, C) -> (N, OH, OW, FH, FW, C); points outside the image read 0 (x is already offset)."""
    n, h, w, c = x.shape
    pt, pl = attrs.padding.top, attrs.padding.left
    need_h = (out_h - 1) * attrs.stride_h + (fh - 1) * attrs.dilation_h + 1
    need_w = (out_w - 1) * attrs.stride_w + (fw - 1) * attrs.dilation_w + 1
    xp = np.pad(x, ((0, 0), (pt, max(need_h - pt - h, 0)), (pl, max(need_w - pl - w, 0)), (0, 0)))
    iy = (np.arange(out_h) * attrs.stride_h)[:, None] + (np.arange(fh) * attrs.dilation_h)[None, :]
    ix = (np.arange(out_w) * attrs.stride_w)[:, None] + (np.arange(fw) * attrs.dilation_w)[None, :]
    return xp[:, iy[:, None, :, None], ix[None, :, None, :], :]


def conv2d_reference(x, filt, bias, attrs, rq: Requant, out_shape: tuple) -> np.ndarray:
    """TFLM ConvPerChannel (with groups = in_c / filter_in_c) on int8 NHWC input, OHWI filter."""
    n, out_h, out_w, out_c = out_shape
    o, fh, fw, fi = filt.shape
    groups = x.shape[3] // fi
    win = windows(x.astype(np.int64) + rq.input_offset, fh, fw, attrs, out_h, out_w)
    win = win.reshape(n, out_h, out_w, fh, fw, groups, fi)
    w = filt.astype(np.int64).reshape(groups, o // groups, fh, fw, fi)
    acc = np.einsum("nyxhwgi,gohwi->nyxgo", win, w).reshape(n, out_h, out_w, o)
    return finish(acc, bias, rq)


def depthwise_reference(x, filt, bias, attrs, rq: Requant, out_shape: tuple) -> np.ndarray:
    """TFLM DepthwiseConvPerChannel: output channel ic * M + m reads input channel ic, filter 1HW(C*M)."""
    n, out_h, out_w, out_c = out_shape
    _, fh, fw, _ = filt.shape
    win = windows(x.astype(np.int64) + rq.input_offset, fh, fw, attrs, out_h, out_w)
    win = np.repeat(win, attrs.depth_multiplier, axis=-1)
    acc = np.einsum("nyxhwc,hwc->nyxc", win, filt[0].astype(np.int64))
    return finish(acc, bias, rq)


def fc_reference(x, filt, bias, filter_offset: int, rq: Requant) -> np.ndarray:
    """TFLM FullyConnected: (batches, accum) x (out, accum)^T with input and filter offsets."""
    out_depth, accum = filt.shape
    xs = x.astype(np.int64).reshape(-1, accum) + rq.input_offset
    acc = xs @ (filt.astype(np.int64) + filter_offset).T
    return finish(acc, bias, rq)


# ---- lowering -----------------------------------------------------------------------------------


def _quant_consts(rq: Requant) -> list:
    return [ConstArray("mult", rq.mult.astype(np.int32)), ConstArray("shift", rq.shift.astype(np.int32))]


def _bias_arg(b, consts: list):
    if b is None:
        return Literal("NULL")
    consts.append(ConstArray("bias", np.ascontiguousarray(b.data, dtype=np.int32).reshape(-1)))
    return ConstArg(len(consts) - 1)


def _requant_args(rq: Requant, filter_offset=None) -> list:
    """C quant params: input_offset, [filter_offset], output_offset, act_min, act_max, mult, shift, per_channel."""
    mid = [] if filter_offset is None else [Literal(filter_offset)]
    return [Literal(rq.input_offset), *mid, Literal(rq.output_offset), Literal(rq.act_min), Literal(rq.act_max),
            ConstArg(0), ConstArg(1), Literal(int(rq.per_channel))]


def _check_4d(op: Op, x: Tensor, y: Tensor) -> None:
    if len(x.shape) != 4 or len(y.shape) != 4 or x.shape[0] != y.shape[0]:
        raise _fail(op, f"expects NHWC input and output, got {x.shape} -> {y.shape}")


class Conv2DKernel(Kernel):
    kinds = (OpKind.CONV_2D,)

    def supports(self, op: Op, graph: Graph) -> bool:
        return _supported(op, graph)

    def lower(self, op: Op, graph: Graph) -> LoweredOp:
        x, w, b, y = _tensors(op, graph)
        _check_4d(op, x, y)
        a = op.attrs
        n, in_h, in_w, in_c = x.shape
        _, out_h, out_w, out_c = y.shape
        o, fh, fw, fi = w.shape
        if o != out_c or fi <= 0 or in_c % fi or out_c % (in_c // fi):
            raise _fail(op, f"filter {w.shape} does not fit input {x.shape} and output {y.shape}")
        rq = conv_requant(op, x, w, y, out_c, 0)
        consts = _quant_consts(rq)
        consts.append(ConstArray("w", np.ascontiguousarray(w.data, dtype=np.int8)))
        filt = consts[-1].data
        bias = _bias_arg(b, consts)
        bias_data = None if b is None else consts[-1].data
        args = [Literal("NULL"),
                Literal(a.stride_h), Literal(a.stride_w), Literal(a.dilation_h), Literal(a.dilation_w),
                Literal(a.padding.top), Literal(a.padding.left),
                *_requant_args(rq),
                Literal(n), Literal(in_h), Literal(in_w), Literal(in_c), TensorArg(x.name),
                Literal(fh), Literal(fw), Literal(fi), ConstArg(2),
                bias,
                Literal(out_h), Literal(out_w), Literal(out_c), TensorArg(y.name, const=False)]

        def reference(inputs):
            return [conv2d_reference(inputs[0], filt, bias_data, a, rq, y.shape)]

        fast = fh == fw == 1 and a.stride_h == a.stride_w == 1 and a.padding.top == a.padding.left == 0 \
            and fi == in_c and (out_h, out_w) == (in_h, in_w)
        return LoweredOp(op, "tg_conv2d_s8", ("tg_conv2d_s8.c",), args, consts, reference,
                         macs=n * out_h * out_w * out_c * fh * fw * fi,
                         pointwise=fast, notes={"path": "1x1 gemm" if fast else "generic", "per_channel": rq.per_channel})


class DepthwiseConv2DKernel(Kernel):
    kinds = (OpKind.DEPTHWISE_CONV_2D,)

    def supports(self, op: Op, graph: Graph) -> bool:
        return _supported(op, graph)

    def lower(self, op: Op, graph: Graph) -> LoweredOp:
        x, w, b, y = _tensors(op, graph)
        _check_4d(op, x, y)
        a = op.attrs
        n, in_h, in_w, in_c = x.shape
        _, out_h, out_w, out_c = y.shape
        one, fh, fw, wc = w.shape
        m = a.depth_multiplier
        if one != 1 or wc != out_c or out_c != in_c * m:
            raise _fail(op, f"filter {w.shape} with depth multiplier {m} does not fit input {x.shape}"
                            f" and output {y.shape}")
        rq = conv_requant(op, x, w, y, out_c, 3)
        consts = _quant_consts(rq)
        consts.append(ConstArray("w", np.ascontiguousarray(w.data, dtype=np.int8)))
        filt = consts[-1].data
        bias = _bias_arg(b, consts)
        bias_data = None if b is None else consts[-1].data
        args = [Literal("NULL"),
                Literal(a.stride_h), Literal(a.stride_w), Literal(a.dilation_h), Literal(a.dilation_w),
                Literal(a.padding.top), Literal(a.padding.left), Literal(m),
                *_requant_args(rq),
                Literal(n), Literal(in_h), Literal(in_w), Literal(in_c), TensorArg(x.name),
                Literal(fh), Literal(fw), ConstArg(2),
                bias,
                Literal(out_h), Literal(out_w), TensorArg(y.name, const=False)]

        def reference(inputs):
            return [depthwise_reference(inputs[0], filt, bias_data, a, rq, y.shape)]

        return LoweredOp(op, "tg_depthwise_conv2d_s8", ("tg_depthwise_conv2d_s8.c",), args, consts,
                         reference, macs=n * out_h * out_w * out_c * fh * fw,
                         notes={"per_channel": rq.per_channel})


class FullyConnectedKernel(Kernel):
    kinds = (OpKind.FULLY_CONNECTED,)

    def supports(self, op: Op, graph: Graph) -> bool:
        return _supported(op, graph)

    def lower(self, op: Op, graph: Graph) -> LoweredOp:
        x, w, b, y = _tensors(op, graph)
        if len(w.shape) != 2:
            raise _fail(op, f"weights must be 2-D (out, in), got {w.shape}")
        out_depth, accum = w.shape
        if x.size % accum or y.size != (x.size // accum) * out_depth:
            raise _fail(op, f"input {x.shape} and output {y.shape} do not fit weights {w.shape}")
        batches = x.size // accum
        if w.quant.per_axis and any(z != 0 for z in w.quant.zero_point):
            raise _fail(op, f"per-channel weights '{w.name}' must be symmetric (zero point 0)")
        filter_offset = 0 if w.quant.per_axis else -w.zero_point
        rq = fc_requant(op, x, w, y, out_depth)
        consts = _quant_consts(rq)
        consts.append(ConstArray("w", np.ascontiguousarray(w.data, dtype=np.int8)))
        filt = consts[-1].data
        bias = _bias_arg(b, consts)
        bias_data = None if b is None else consts[-1].data
        args = [Literal("NULL"),
                *_requant_args(rq, filter_offset),
                Literal(batches), Literal(accum), TensorArg(x.name),
                Literal(out_depth), ConstArg(2),
                bias,
                TensorArg(y.name, const=False)]

        def reference(inputs):
            return [fc_reference(inputs[0], filt, bias_data, filter_offset, rq).reshape(y.shape)]

        return LoweredOp(op, "tg_fully_connected_s8", ("tg_fully_connected_s8.c",), args, consts, reference,
                         macs=batches * out_depth * accum, notes={"per_channel": rq.per_channel})


register(Conv2DKernel())
register(DepthwiseConv2DKernel())
register(FullyConnectedKernel())
