"""16x8 lowering (TFLite "16x8" mode): int16 activations with zero point 0, int8 symmetric weights,
int64 bias. CONV_2D and TRANSPOSE_CONV accumulate in int64 and requantize with TFLM's int64
MultiplyByQuantizedMultiplier (multiplier rounded to Q0.15, one rounding shift); ADD, SUB,
LEAKY_RELU, PAD, STRIDED_SLICE, QUANTIZE and DEQUANTIZE follow TFLM's reference kernels for int16.

Helpers meant for reuse by other int16 families (kernels/int16_nn.py):
`requant_16x8` (per-channel multipliers + clamp range), `mbqm_int64` (the NumPy int64 requantize,
mirrored by runtime_c/tg_requant_s16.h) and `finish_16x8` (int64 accumulator -> int16 tail).
An int64 bias or none takes TFLM's int64-accumulator path; an int32 bias (TFLM's int32-accumulator
variant) is refused.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..errors import UnsupportedError
from ..ir import Graph, Op, OpKind, Tensor
from ..quant import qmath
from .base import ConstArg, ConstArray, Kernel, Literal, LoweredOp, TensorArg, register
from .conv import windows
from .elementwise import BinaryOperands, smaller_than_one
from .pool import extend4

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
        x, w, b, y = weighted_tensors(op, graph)
        a = op.attrs
        n, in_h, in_w, in_c = x.shape
        _, out_h, out_w, out_c = y.shape
        o, fh, fw, fi = w.shape
        if o != out_c or fi <= 0 or in_c % fi or out_c % (in_c // fi):
            raise _fail(op, f"filter {w.shape} does not fit input {x.shape} and output {y.shape}")
        rq = requant_16x8(op, x, w, y, out_c, 0)
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

    def supports(self, op: Op, graph: Graph) -> bool:
        ins, outs = _dtypes(op, graph)
        return outs == ("int16",) and all(d == "int16" for d in ins)

    def lower(self, op: Op, graph: Graph) -> LoweredOp:
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

        return LoweredOp(op, "tg_sub_s16" if sub else "tg_add_s16", ("tg_sub_s16.c" if sub else "tg_add_s16.c",), args,
                         ops.const_arrays, reference,
                         notes={"pot_scale_int16": bool(getattr(op.attrs, "pot_scale_int16", True)),
                                "path": "general scale (as TFLM)"})


# ---- element-wise one-input ops ------------------------------------------------------------------


def _io(op: Op, graph: Graph) -> tuple:
    return graph.tensors[op.inputs[0]], graph.tensors[op.outputs[0]]


def _per_tensor(op: Op, *tensors: Tensor) -> None:
    for t in tensors:
        if t.quant is None or t.quant.per_axis:
            raise _fail(op, f"tensor '{t.name}' needs per-tensor quantization")


def _unary(op: Op, graph: Graph, fn: str, source: str, params: list, func, out_dtype, notes=None) -> LoweredOp:
    """LoweredOp for `fn(params..., size, input, output)` with reference out = func(input)."""
    x, y = _io(op, graph)
    if x.size != y.size:
        raise _fail(op, f"input shape {x.shape} and output shape {y.shape} differ in size")
    args = [Literal(p) for p in params] + [Literal(x.size), TensorArg(x.name), TensorArg(y.name, const=False)]

    def reference(ins):
        return [np.asarray(func(np.asarray(ins[0]))).astype(out_dtype).reshape(y.shape)]

    return LoweredOp(op, fn, (source,), args, [], reference, notes=dict(notes or {}))


class LeakyReluS16(Kernel):
    """LEAKY_RELU int16 -> int16. The identity (s_in / s_out) and alpha (s_in * alpha / s_out)
    multipliers are formed in double: today's TFLM does so (the shared goldens, made with an older
    TFLM that used float32 products, differ from it by 1 on a few values)."""

    kinds = (OpKind.LEAKY_RELU,)

    def supports(self, op: Op, graph: Graph) -> bool:
        return _dtypes(op, graph) == (("int16",), ("int16",))

    def lower(self, op: Op, graph: Graph) -> LoweredOp:
        x, y = _io(op, graph)
        _per_tensor(op, x, y)
        in_s, out_s, alpha = float(x.scale), float(y.scale), float(np.float32(op.attrs.alpha))
        id_mult, id_shift = qmath.quantize_multiplier(in_s / out_s)
        al_mult, al_shift = qmath.quantize_multiplier(in_s * alpha / out_s)
        in_zp, out_zp = x.zero_point, y.zero_point

        def func(q):
            acc = np.asarray(q, dtype=np.int64) - in_zp
            pos = qmath.multiply_by_quantized_multiplier(acc, id_mult, id_shift)
            neg = qmath.multiply_by_quantized_multiplier(acc, al_mult, al_shift)
            return np.clip(np.where(acc >= 0, pos, neg) + out_zp, INT16_MIN, INT16_MAX)

        return _unary(op, graph, "tg_leaky_relu_s16", "tg_leaky_relu_s16.c",
                      [in_zp, id_mult, id_shift, al_mult, al_shift, out_zp], func, np.int16)


_RANGES = {"int8": (-128, 127), "int16": (INT16_MIN, INT16_MAX)}
_REQUANT_PAIRS = {("int32", "int16"): "tg_requantize_s32_s16", ("int16", "int8"): "tg_requantize_s16_s8",
                  ("int8", "int16"): "tg_requantize_s8_s16", ("int16", "int16"): "tg_requantize_s16_s16"}


def quantize_f32_reference(v, scale: float, zp: int, qmin: int, qmax: int):
    """float32 -> int: round_half_away(v / scale) in float32, saturated (TFLM AffineQuantize)."""
    q = (np.asarray(v, dtype=np.float32) / np.float32(scale)).astype(np.float64)
    q = np.where(np.isnan(q) | (q <= -1e9), -1e9, np.minimum(q, 1e9))
    r = np.where(q >= 0, np.floor(q + 0.5), -np.floor(-q + 0.5)).astype(np.int64)
    return np.clip(r + zp, qmin, qmax)


def requantize_reference(q, in_zp: int, mult: int, shift: int, out_zp: int, qmin: int, qmax: int):
    """TFLM Requantize: clamp(MBQM(q - in_zp) + out_zp); the subtraction wraps in int32."""
    x = qmath.wrap_int32(np.asarray(q, dtype=np.int64) - in_zp)
    return np.clip(qmath.multiply_by_quantized_multiplier(x, mult, shift) + out_zp, qmin, qmax)


class QuantizeS16(Kernel):
    """QUANTIZE with int16 on either side: float32 -> int16, and the integer requantizations
    int32 -> int16, int16 -> int8, int8 -> int16, int16 -> int16 (TFLM Requantize)."""

    kinds = (OpKind.QUANTIZE,)

    def supports(self, op: Op, graph: Graph) -> bool:
        x, y = _io(op, graph)
        return (x.dtype, y.dtype) == ("float32", "int16") or (x.dtype, y.dtype) in _REQUANT_PAIRS

    def lower(self, op: Op, graph: Graph) -> LoweredOp:
        x, y = _io(op, graph)
        _per_tensor(op, y)
        qmin, qmax = _RANGES[y.dtype]
        out_zp = y.zero_point
        if x.dtype == "float32":
            scale = y.scale
            return _unary(op, graph, "tg_quantize_f32_s16", "tg_quantize_f32_s16.c",
                          [float(np.float32(scale)).hex() + "f", out_zp],
                          lambda v: quantize_f32_reference(v, scale, out_zp, qmin, qmax), np.int16)
        _per_tensor(op, x)
        mult, shift = qmath.quantize_multiplier(float(x.scale) / float(y.scale))
        in_zp = x.zero_point
        return _unary(op, graph, _REQUANT_PAIRS[(x.dtype, y.dtype)], _REQUANT_PAIRS[(x.dtype, y.dtype)] + ".c",
                      [in_zp, mult, shift, out_zp],
                      lambda q: requantize_reference(q, in_zp, mult, shift, out_zp, qmin, qmax),
                      np.dtype(y.dtype), notes=dict(mult=mult, shift=shift))


class DequantizeS16(Kernel):
    """DEQUANTIZE int16 -> float32: float(double(scale) * (q - zp))."""

    kinds = (OpKind.DEQUANTIZE,)

    def supports(self, op: Op, graph: Graph) -> bool:
        return _dtypes(op, graph) == (("int16",), ("float32",))

    def lower(self, op: Op, graph: Graph) -> LoweredOp:
        x, _ = _io(op, graph)
        _per_tensor(op, x)
        scale, zp = float(np.float32(x.scale)), x.zero_point

        def func(q):
            return (scale * (np.asarray(q, dtype=np.int64) - zp).astype(np.float64)).astype(np.float32)

        return _unary(op, graph, "tg_dequantize_s16_f32", "tg_dequantize_s16_f32.c", [scale.hex(), zp], func,
                      np.float32)


# ---- data movement ---------------------------------------------------------------------------------


class PadS16(Kernel):
    """int16 PAD / PADV2 of a tensor of rank <= 4 with constant non-negative paddings."""

    kinds = (OpKind.PAD,)

    def supports(self, op: Op, graph: Graph) -> bool:
        x, y = _io(op, graph)
        return x.dtype == "int16" and y.dtype == "int16"

    def lower(self, op: Op, graph: Graph) -> LoweredOp:
        x_t, y_t = _io(op, graph)
        pads = [tuple(int(v) for v in p) for p in op.attrs.paddings]
        rank = len(x_t.shape)
        expect = tuple(d + b + e for d, (b, e) in zip(x_t.shape, pads))
        if rank > 4 or len(pads) != rank or expect != tuple(y_t.shape) or min(sum(pads, ()), default=0) < 0:
            raise _fail(op, f"paddings {pads} of {list(x_t.shape)} do not give {list(y_t.shape)} "
                            f"(rank <= 4, non-negative)")
        value = None
        for name in op.inputs[1:]:  # PADV2: the constant pad value, already quantized like the output
            t = graph.tensors[name] if name is not None else None
            if t is not None and t.is_const and t.size == 1:
                value = int(np.asarray(t.data).reshape(-1)[0])
        if value is None:
            if y_t.quant is None:
                raise _fail(op, f"output '{y_t.name}' needs quantization parameters")
            value = y_t.zero_point
        if not INT16_MIN <= value <= INT16_MAX:
            raise _fail(op, f"pad value {value} is outside int16")
        before = [0] * (4 - rank) + [b for b, _ in pads]
        args = [Literal(b) for b in before] + [Literal(value)]
        args += [Literal(d) for d in extend4(x_t.shape)] + [TensorArg(x_t.name)]
        args += [Literal(d) for d in extend4(y_t.shape)] + [TensorArg(y_t.name, const=False)]

        def reference(inputs: list) -> list:
            x = np.asarray(inputs[0], np.int16).reshape(x_t.shape)
            return [np.pad(x, pads, mode="constant", constant_values=value)]

        return LoweredOp(op, "tg_pad_s16", ("tg_pad_s16.c",), args, [], reference, notes={"pad_value": value})


def strided_slice_plan(in_shape: tuple, attrs) -> tuple:
    """(counts, base, steps): per-dimension element counts (shrunk axes count 1), the flat offset of
    the first element and the input element step of each dimension."""
    rank = len(in_shape)
    row = [1] * rank
    for d in range(rank - 2, -1, -1):
        row[d] = row[d + 1] * int(in_shape[d + 1])
    counts = [len(range(b, e, s)) for b, e, s in zip(attrs.begin, attrs.end, attrs.strides)]
    base = sum(int(b) * r for b, r, n in zip(attrs.begin, row, counts) if n > 0)
    steps = [int(s) * r for s, r in zip(attrs.strides, row)]
    return counts, base, steps


class StridedSliceS16(Kernel):
    """int16 STRIDED_SLICE (rank <= 4) resolved at compile time to a 4-D strided gather."""

    kinds = (OpKind.STRIDED_SLICE,)

    def supports(self, op: Op, graph: Graph) -> bool:
        x, y = _io(op, graph)
        return x.dtype == "int16" and y.dtype == "int16"

    def lower(self, op: Op, graph: Graph) -> LoweredOp:
        x_t, y_t = _io(op, graph)
        a = op.attrs
        rank = len(x_t.shape)
        if rank > 4:
            raise _fail(op, f"rank {rank} slices are not supported (at most 4)")
        counts, base, steps = strided_slice_plan(x_t.shape, a)
        if int(np.prod(counts, dtype=np.int64)) != y_t.size:
            raise _fail(op, f"slice {counts} does not fill output {list(y_t.shape)}")
        pad = 4 - rank
        dims, strides = [1] * pad + counts, [0] * pad + steps
        args = [Literal(d) for d in dims] + [Literal(base)] + [Literal(s) for s in strides]
        args += [TensorArg(x_t.name), TensorArg(y_t.name, const=False)]
        index = tuple(np.arange(b, e, s) for b, e, s in zip(a.begin, a.end, a.strides))

        def reference(inputs: list) -> list:
            x = np.asarray(inputs[0], np.int16).reshape(x_t.shape)
            return [x[np.ix_(*index)].reshape(y_t.shape)]

        return LoweredOp(op, "tg_strided_slice_s16", ("tg_strided_slice_s16.c",), args, [], reference)


for _kernel in (Conv2DS16(), TransposeConvS16(), AddSubS16(), LeakyReluS16(), QuantizeS16(), DequantizeS16(),
                PadS16(), StridedSliceS16()):
    register(_kernel)

__all__ = ["mbqm_int64", "Requant16", "requant_16x8", "finish_16x8", "conv2d_16x8_reference",
           "transpose_conv_16x8_reference", "addsub_multipliers_s16"]
