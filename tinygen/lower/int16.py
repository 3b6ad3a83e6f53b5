"""16x8 lowering (TFLite "16x8" mode): int16 activations with zero point 0, int8 symmetric weights,
int64 bias. CONV_2D and TRANSPOSE_CONV accumulate in int64 and requantize with TFLM's int64
MultiplyByQuantizedMultiplier (multiplier rounded to Q0.15, one rounding shift); ADD, SUB,
LEAKY_RELU, PAD, STRIDED_SLICE, QUANTIZE and DEQUANTIZE follow TFLM's reference kernels for int16.

Helpers meant for reuse by other int16 families (kernels/int16_nn.py):
`requant_16x8` (per-channel multipliers + clamp range), `mbqm_int64` (the NumPy int64 requantize,
mirrored by runtime_c/include/tg_requant_s16.h) and `finish_16x8` (int64 accumulator -> int16 tail).
An int64 bias or none takes TFLM's int64-accumulator path; an int32 bias (TFLM's int32-accumulator
variant) is refused.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from tinygen.errors import UnsupportedError
from tinygen.ir import Graph, Op, OpKind, Tensor
from tinygen.quant import qmath
from tinygen.lower.base import ConstArg, ConstArray, Kernel, Literal, LoweredOp, TensorArg, register
from tinygen.lower.conv import windows
from tinygen.lower.elementwise import BinaryOperands, smaller_than_one

INT16_MIN, INT16_MAX = -(1 << 15), (1 << 15) - 1
ADDSUB_LEFT_SHIFT_S16 = 15  # int16 ADD/SUB: inputs are scaled up by 2^15 before rescaling (TFLM)
MAX_SHIFT_64 = 14  # the int64 requantize shifts right by 15 - shift, which must stay >= 1


def _fail(op: Op, why: str) -> UnsupportedError:
    return UnsupportedError(f"layer '{op.name}' ({op.kind.value}): {why}")


def _dtypes(op: Op, graph: Graph) -> tuple:
    """(input dtypes, output dtypes) of the op; absent optional inputs are skipped."""
    ins = tuple(graph.tensors[t].dtype for t in op.inputs if t is not None)
    return ins, tuple(graph.tensors[t].dtype for t in op.outputs)


def _symmetric_s16(op: Op, t: Tensor, role: str) -> None:
    if t.dtype != "int16" or t.quant is None or t.quant.per_axis:
        raise _fail(op, f"{role} '{t.name}' must be int16 with per-tensor quantization, got {t.dtype}")
    if t.zero_point != 0:
        raise _fail(op, f"{role} '{t.name}' has zero point {t.zero_point}; 16x8 activations are "
                        f"symmetric (zero point 0)")


# ---- int64 requantization (shared) ----------------------------------------------------------------


def mbqm_int64(x, mult, shift):
    """TFLM MultiplyByQuantizedMultiplier(int64 x, int32 mult, int shift), default double-rounding
    build: mult rounded to Q0.15 (saturating at 0x7FFF), then one round-half-up right shift by
    15 - shift. Returns int64 arrays holding the int32-wrapped result (as C's cast)."""
    x = np.asarray(x, dtype=np.int64)
    mult = np.asarray(mult, dtype=np.int64)
    shift = np.asarray(shift, dtype=np.int64)
    reduced = np.where(mult < 0x7FFF0000, (mult + (1 << 15)) >> 16, 0x7FFF)
    total = 15 - shift
    result = (x * reduced + (np.int64(1) << (total - 1))) >> total
    return qmath.wrap_int32(result)


@dataclass(frozen=True)
class Requant16:
    """The 16x8 kernel tail: out = clamp(mbqm_int64(acc + bias, mult[c], shift[c]), act_min, act_max)."""
    mult: np.ndarray  # int32, one per output channel (per-tensor filters repeat their one value)
    shift: np.ndarray  # int32, same length
    act_min: int
    act_max: int
    per_channel: bool


def requant_16x8(op: Op, x: Tensor, w: Tensor, y: Tensor, channels: int, axis: int,
                 wide: bool = True) -> Requant16:
    """Per-channel multipliers s_in * s_w[c] / s_out (double math, TFLM PopulateConvolutionQuantizationParams)
    and the fused activation's int16 clamp range. `axis` is the filter's output-channel axis; `wide`
    says the tail is the int64 requantize (shift <= 14) rather than the int32 one (shift <= 30)."""
    _symmetric_s16(op, x, "input")
    _symmetric_s16(op, y, "output")
    if w.dtype != "int8" or w.quant is None:
        raise _fail(op, f"filter '{w.name}' must be quantized int8, got {w.dtype}")
    if any(z != 0 for z in w.quant.zero_point):
        raise _fail(op, f"filter '{w.name}' must be symmetric (zero point 0)")
    scales = w.quant.scale
    if w.quant.per_axis and (w.quant.axis != axis or len(scales) != channels):
        raise _fail(op, f"filter '{w.name}' is quantized per axis {w.quant.axis} with {len(scales)} scales;"
                        f" expected axis {axis} with {channels}")
    per_channel = len(scales) > 1
    if not per_channel:
        scales = tuple(scales) * channels
    mult, shift = qmath.quantize_multiplier_array([float(x.scale) * float(s) / float(y.scale) for s in scales])
    if wide and np.any(shift > MAX_SHIFT_64):
        raise _fail(op, f"rescale s_in * s_w / s_out reaches 2^{int(shift.max())}; the int64 requantize "
                        f"supports shifts up to {MAX_SHIFT_64}")
    lo, hi = qmath.activation_range(op.attrs.activation, y.scale, y.zero_point, INT16_MIN, INT16_MAX)
    return Requant16(mult, shift, int(lo), int(hi), per_channel)


def finish_16x8(acc: np.ndarray, bias, rq: Requant16) -> np.ndarray:
    """int64 accumulators (channels last) -> int16 outputs, exactly as the C kernel tail."""
    acc = np.asarray(acc, dtype=np.int64)
    if bias is not None:
        acc = acc + np.asarray(bias, dtype=np.int64)
    out = mbqm_int64(acc, rq.mult.astype(np.int64), rq.shift.astype(np.int64))
    return np.clip(out, rq.act_min, rq.act_max).astype(np.int16)


def weighted_tensors(op: Op, graph: Graph, nhwc: bool = True) -> tuple:
    """(input, filter, bias or None, output) of a 16x8 conv / transpose conv / depthwise / FC op: the
    filter a constant quantized int8 tensor, the bias a constant int64 one, the activations symmetric
    int16; with `nhwc`, input and output 4-D with one batch size."""
    if len(op.inputs) not in (2, 3) or len(op.outputs) != 1:
        raise _fail(op, f"expects 2 or 3 inputs and 1 output, got {len(op.inputs)} and {len(op.outputs)}")
    x, w, y = graph.tensor(op.inputs[0]), graph.tensor(op.inputs[1]), graph.tensor(op.outputs[0])
    b = graph.tensor(op.inputs[2]) if len(op.inputs) == 3 and op.inputs[2] is not None else None
    if w.dtype != "int8" or w.quant is None or not w.is_const:
        raise _fail(op, f"filter '{w.name}' must be a constant quantized int8 tensor, got {w.dtype}")
    if b is not None and (b.dtype != "int64" or not b.is_const):
        # an int32 bias selects another TFLM 16x8 variant (int32 accumulator), not implemented here;
        # a missing bias takes the int64 path (checked against TFLM on a bias-less CONV_2D)
        raise _fail(op, f"16x8 bias '{b.name}' must be a constant int64 tensor, got {b.dtype}")
    _symmetric_s16(op, x, "input")
    _symmetric_s16(op, y, "output")
    if nhwc and (len(x.shape) != 4 or len(y.shape) != 4 or x.shape[0] != y.shape[0]):
        raise _fail(op, f"expects NHWC input and output, got {x.shape} -> {y.shape}")
    return x, w, b, y


def is_16x8(op: Op, graph: Graph) -> bool:
    ins = [graph.tensors[t] for t in op.inputs if t is not None]
    return (len(ins) >= 2 and ins[0].dtype == "int16" and ins[1].dtype == "int8"
            and graph.tensors[op.outputs[0]].dtype == "int16")


def weighted_consts(rq: Requant16, w: np.ndarray, b) -> tuple:
    """Const arrays mult, shift, w[, bias] of a 16x8 weighted op, the bias C argument and its values."""
    consts = [ConstArray("mult", rq.mult.astype(np.int32)), ConstArray("shift", rq.shift.astype(np.int32)),
              ConstArray("w", np.ascontiguousarray(w, dtype=np.int8))]
    if b is None:
        return consts, Literal("NULL"), None
    consts.append(ConstArray("bias", np.ascontiguousarray(b.data, dtype=np.int64).reshape(-1)))
    return consts, ConstArg(3), consts[-1].data


# ---- CONV_2D 16x8 ---------------------------------------------------------------------------------


def conv2d_16x8_reference(x, filt, bias, attrs, rq: Requant16, out_shape: tuple) -> np.ndarray:
    """TFLM ConvPerChannel (int16 input, int64 bias or none) on NHWC input, OHWI filter, groups allowed."""
    n, out_h, out_w, out_c = out_shape
    o, fh, fw, fi = filt.shape
    groups = x.shape[3] // fi
    win = windows(np.asarray(x, dtype=np.int64), fh, fw, attrs, out_h, out_w)
    win = win.reshape(n, out_h, out_w, fh, fw, groups, fi)
    w = filt.astype(np.int64).reshape(groups, o // groups, fh, fw, fi)
    acc = np.einsum("nyxhwgi,gohwi->nyxgo", win, w).reshape(n, out_h, out_w, o)
    return finish_16x8(acc, bias, rq)


class Conv2DS16(Kernel):
    """CONV_2D, int16 input x int8 filter (+ int64 bias) -> int16."""

    kinds = (OpKind.CONV_2D,)

    def supports(self, op: Op, graph: Graph) -> bool:
        return is_16x8(op, graph)

    def lower(self, op: Op, graph: Graph) -> LoweredOp:
        from tinygen.lower.int16_fast import conv2d_fast  # int16_fast builds on this module

        x, w, b, y = weighted_tensors(op, graph)
        a = op.attrs
        n, in_h, in_w, in_c = x.shape
        _, out_h, out_w, out_c = y.shape
        o, fh, fw, fi = w.shape
        if o != out_c or fi <= 0 or in_c % fi or out_c % (in_c // fi):
            raise _fail(op, f"filter {w.shape} does not fit input {x.shape} and output {y.shape}")
        rq = requant_16x8(op, x, w, y, out_c, 0)
        fast = conv2d_fast(op, graph)  # ungrouped, exact int32 sums and 32-bit output step (int16_fast.py)
        if fast is not None:
            return fast
        consts, bias_arg, bias = weighted_consts(rq, w.data, b)
        filt = consts[2].data
        args = [Literal(a.stride_h), Literal(a.stride_w), Literal(a.dilation_h), Literal(a.dilation_w),
                Literal(a.padding.top), Literal(a.padding.left),
                Literal(rq.act_min), Literal(rq.act_max), ConstArg(0), ConstArg(1),
                Literal(n), Literal(in_h), Literal(in_w), Literal(in_c), TensorArg(x.name),
                Literal(fh), Literal(fw), Literal(fi), ConstArg(2), bias_arg,
                Literal(out_h), Literal(out_w), Literal(out_c), TensorArg(y.name, const=False)]

        def reference(inputs):
            return [conv2d_16x8_reference(inputs[0], filt, bias, a, rq, y.shape)]

        return LoweredOp(op, "tg_conv2d_s16", ("tg_conv2d_s16.c",), args, consts, reference,
                         macs=n * out_h * out_w * out_c * fh * fw * fi,
                         notes={"path": "16x8", "per_channel": rq.per_channel})


# ---- TRANSPOSE_CONV 16x8 --------------------------------------------------------------------------


def transpose_conv_16x8_reference(x, filt, bias, attrs, rq: Requant16, out_shape: tuple) -> np.ndarray:
    """TFLM TransposeConv (int16 input, int64 bias): every input pixel scatters filter * value onto
    output (iy * sh - pad_top + fy, ix * sw - pad_left + fx); sums in int64, then the 16x8 tail."""
    n, out_h, out_w, out_c = out_shape
    _, in_h, in_w, _ = x.shape
    o, fh, fw, fi = filt.shape
    sh, sw, pt, pl = attrs.stride_h, attrs.stride_w, attrs.padding.top, attrs.padding.left
    # contributions[n, iy, ix, fy, fx, oc]
    contrib = np.einsum("nyxi,ohwi->nyxhwo", np.asarray(x, dtype=np.int64), filt.astype(np.int64))
    full_h = (in_h - 1) * sh + fh
    full_w = (in_w - 1) * sw + fw
    acc = np.zeros((n, full_h, full_w, o), dtype=np.int64)
    for fy in range(fh):
        for fx in range(fw):
            acc[:, fy:fy + (in_h - 1) * sh + 1:sh, fx:fx + (in_w - 1) * sw + 1:sw, :] += contrib[:, :, :, fy, fx, :]
    # crop the output window [pad, pad + out) of the full scatter (zeros where it runs past it)
    padded = np.zeros((n, pt + out_h, pl + out_w, o), dtype=np.int64)
    hh, ww = min(full_h, pt + out_h), min(full_w, pl + out_w)
    padded[:, :hh, :ww, :] = acc[:, :hh, :ww, :]
    return finish_16x8(padded[:, pt:pt + out_h, pl:pl + out_w, :], bias, rq)


class TransposeConvS16(Kernel):
    """TRANSPOSE_CONV, int16 input x int8 filter (+ int64 bias) -> int16."""

    kinds = (OpKind.TRANSPOSE_CONV,)

    def supports(self, op: Op, graph: Graph) -> bool:
        return is_16x8(op, graph)

    def lower(self, op: Op, graph: Graph) -> LoweredOp:
        x, w, b, y = weighted_tensors(op, graph)
        a = op.attrs
        n, in_h, in_w, in_c = x.shape
        _, out_h, out_w, out_c = y.shape
        o, fh, fw, fi = w.shape
        if o != out_c or fi != in_c:
            raise _fail(op, f"filter {w.shape} does not fit input {x.shape} and output {y.shape}")
        rq = requant_16x8(op, x, w, y, out_c, 0)
        consts, bias_arg, bias = weighted_consts(rq, w.data, b)
        filt = consts[2].data
        args = [Literal(a.stride_h), Literal(a.stride_w), Literal(a.padding.top), Literal(a.padding.left),
                Literal(rq.act_min), Literal(rq.act_max), ConstArg(0), ConstArg(1),
                Literal(n), Literal(in_h), Literal(in_w), Literal(in_c), TensorArg(x.name),
                Literal(fh), Literal(fw), ConstArg(2), bias_arg,
                Literal(out_h), Literal(out_w), Literal(out_c), TensorArg(y.name, const=False)]

        def reference(inputs):
            return [transpose_conv_16x8_reference(inputs[0], filt, bias, a, rq, y.shape)]

        return LoweredOp(op, "tg_transpose_conv_s16", ("tg_transpose_conv_s16.c",), args, consts, reference,
                         macs=n * in_h * in_w * in_c * fh * fw * out_c,
                         notes={"path": "16x8", "per_channel": rq.per_channel})


# ---- ADD / SUB --------------------------------------------------------------------------------------


def addsub_multipliers_s16(kind: OpKind, s1: float, s2: float, s_out: float) -> tuple:
    """Real multipliers (in1, in2, out) of int16 ADD and SUB, all in double as the TFLM this is proven
    against computes them (its SUB Prepare matched only with double math, not float32; checked on
    the shared sub models where the two differ). `kind` is kept for callers; both ops agree."""
    twice = 2.0 * max(float(s1), float(s2))
    return float(s1) / twice, float(s2) / twice, twice / ((1 << ADDSUB_LEFT_SHIFT_S16) * float(s_out))


class AddSubS16(Kernel):
    """int16 ADD / SUB (broadcasting up to 4-D). TFLM runs int16 ADD/SUB through the general-scale
    path (15-bit left shift, three multipliers) whatever pot_scale_int16 says, so this does too."""

    kinds = (OpKind.ADD, OpKind.SUB)

    def __init__(self, fast: bool = False):
        self.fast = fast  # the registered kernel; the GRU step programs (gru.py) record the general call

    def supports(self, op: Op, graph: Graph) -> bool:
        ins, outs = _dtypes(op, graph)
        return outs == ("int16",) and all(d == "int16" for d in ins)

    def lower(self, op: Op, graph: Graph) -> LoweredOp:
        from tinygen.lower.int16_fast import addsub_fast  # int16_fast builds on this module

        ops = BinaryOperands(op, graph)
        for i, t in enumerate(ops.tensors):  # BinaryOperands stores constant operands as int8
            if t.is_const:
                for ca in ops.const_arrays:
                    if ca.suffix == f"in{i + 1}":
                        ca.data = np.asarray(t.data, np.int16).reshape(-1)
        t1, t2 = ops.tensors
        out = graph.tensors[op.outputs[0]]
        for t, role in ((t1, "input 1"), (t2, "input 2"), (out, "output")):
            if t.quant is None or t.quant.per_axis:
                raise _fail(op, f"{role} '{t.name}' needs per-tensor quantization")
        reals = addsub_multipliers_s16(op.kind, t1.scale, t2.scale, out.scale)
        (m1, s1), (m2, s2), (mo, so) = (smaller_than_one(r, w, op)
                                        for r, w in zip(reals, ("input 1", "input 2", "output")))
        off1, off2, out_zp = -t1.zero_point, -t2.zero_point, out.zero_point
        lo, hi = qmath.activation_range(op.attrs.activation, out.scale, out_zp, INT16_MIN, INT16_MAX)
        sub = op.kind == OpKind.SUB
        ls = ADDSUB_LEFT_SHIFT_S16
        params = (off1, m1, s1, off2, m2, s2, ls, out_zp, mo, so, lo, hi)
        args = [Literal(v) for v in params] + ops.c_operands() + [TensorArg(op.outputs[0], const=False)]

        def reference(inputs: list) -> list:
            x1, x2 = ops.values(inputs)
            a = qmath.multiply_by_quantized_multiplier((x1 + off1) << ls, m1, s1)
            b = qmath.multiply_by_quantized_multiplier((x2 + off2) << ls, m2, s2)
            raw = qmath.wrap_int32(a - b if sub else a + b)
            return [qmath.requantize(raw, mo, so, out_zp, lo, hi).astype(np.int16)]

        fast = addsub_fast(op, graph, params, reference) if self.fast else None  # int16_fast.py
        if fast is not None:
            return fast
        return LoweredOp(op, "tg_sub_s16" if sub else "tg_add_s16", ("tg_sub_s16.c" if sub else "tg_add_s16.c",), args,
                         ops.const_arrays, reference,
                         notes={"pot_scale_int16": bool(getattr(op.attrs, "pot_scale_int16", True)),
                                "path": "general scale (as TFLM)"})


for _kernel in (Conv2DS16(), TransposeConvS16(), AddSubS16(fast=True)):
    register(_kernel)

__all__ = ["mbqm_int64", "Requant16", "requant_16x8", "finish_16x8", "conv2d_16x8_reference",
           "transpose_conv_16x8_reference", "addsub_multipliers_s16"]
