"""Lowering of int8 activations (SOFTMAX, LOGISTIC, TANH, RELU, RELU6, LEAKY_RELU, HARD_SWISH) and the
QUANTIZE / DEQUANTIZE boundary ops; constants are computed as TFLM's Prepare does, references follow
TFLM's reference integer kernels bit for bit (fixed-point math in tinygen/quant/fixedpoint.py).
"""
from __future__ import annotations

import math

import numpy as np

from tinygen.errors import UnsupportedError
from tinygen.ir import Graph, Op, OpKind
from tinygen.quant import fixedpoint as fp
from tinygen.quant import qmath
from tinygen.lower.base import ConstArg, ConstArray, Kernel, Literal, LoweredOp, TensorArg, register

SOFTMAX_DIFF_BITS = 5  # integer bits of the scaled difference fed to exp (TFLM kScaledDiffIntegerBits)
SOFTMAX_ACCUM_BITS = 12  # integer bits of the sum of exps (TFLM kAccumulationIntegerBits)
SIGMOID_INPUT_BITS = 4  # integer bits of LOGISTIC / TANH inputs (TFLM kInputIntegerBits)


def _io(op: Op, graph: Graph) -> tuple:
    return graph.tensors[op.inputs[0]], graph.tensors[op.outputs[0]]


def _fail(op: Op, why: str) -> UnsupportedError:
    return UnsupportedError(f"layer '{op.name}' ({op.kind.value}): {why}")


def _check(op: Op, graph: Graph, in_dtype: str = "int8", out_dtype: str = "int8") -> tuple:
    """The op's (input, output) tensors after checking dtypes, shapes and per-tensor quantization."""
    x, y = _io(op, graph)
    if x.dtype != in_dtype or y.dtype != out_dtype:
        raise _fail(op, f"expects {in_dtype} -> {out_dtype}, got {x.dtype} -> {y.dtype}")
    if x.size != y.size:
        raise _fail(op, f"input shape {x.shape} and output shape {y.shape} differ in size")
    for t in (x, y):
        if t.dtype == "int8" and (t.quant is None or t.quant.per_axis):
            raise _fail(op, f"tensor '{t.name}' needs per-tensor quantization")
    return x, y


def _f32(v) -> np.float32:
    return np.float32(v)


def _c_float(v) -> str:
    """Exact C99 float literal (hexadecimal) of a float32 value."""
    return float(_f32(v)).hex() + "f"


def _c_double(v) -> str:
    return float(v).hex()


def _input_radius(integer_bits: int, left_shift: int) -> int:
    """Largest |input| whose rescaled value still fits Q(integer_bits) (TFLM CalculateInputRadius)."""
    return int(math.floor(((1 << integer_bits) - 1) * float(1 << (31 - integer_bits)) / float(1 << left_shift)))


def _elementwise(op: Op, graph: Graph, fn: str, source: str, params: list, func, out_dtype=np.int8,
                 notes: dict | None = None) -> LoweredOp:
    """LoweredOp for `fn(params..., size, input, output)` with reference out = func(input)."""
    x, y = _io(op, graph)
    args = [Literal(int(p)) if not isinstance(p, str) else Literal(p) for p in params]
    args += [Literal(x.size), TensorArg(x.name), TensorArg(y.name, const=False)]

    def reference(ins):
        return [np.asarray(func(np.asarray(ins[0]))).astype(out_dtype).reshape(y.shape)]

    return LoweredOp(op, fn, (source,), args, [], reference, notes=dict(notes or {}))


# ---- SOFTMAX ----------------------------------------------------------------------------------


def softmax_params(beta: float, input_scale: float) -> tuple:
    """(input_mult, input_left_shift, diff_min) as TFLM's PreprocessSoftmaxScaling / CalculateInputRadius."""
    real = min(float(_f32(beta)) * float(_f32(input_scale)) * float(1 << (31 - SOFTMAX_DIFF_BITS)),
               float((1 << 31) - 1))
    mult, shift = qmath.quantize_multiplier(real)
    return mult, shift, -_input_radius(SOFTMAX_DIFF_BITS, shift) if shift >= 0 else 0


def softmax_reference(x: np.ndarray, mult: int, shift: int, diff_min: int) -> np.ndarray:
    depth = x.shape[-1]
    rows = x.reshape(-1, depth).astype(np.int64)
    out = np.empty_like(rows)
    for r, row in enumerate(rows):
        diff = row - row.max()
        valid = diff >= diff_min
        scaled = qmath.srdhm(qmath.wrap_int32(np.where(valid, diff, 0) << shift), mult)
        e = fp.exp_on_negative_values(scaled, SOFTMAX_DIFF_BITS)
        total = 0
        for term in fp.sat_mul_pot(e, -SOFTMAX_ACCUM_BITS)[valid]:
            total = int(qmath.wrap_int32(total + int(term)))
        recip, bits_over_unit = fp.get_reciprocal(total, SOFTMAX_ACCUM_BITS)
        y = qmath.rounding_divide_by_pot(qmath.srdhm(recip, e), bits_over_unit + 31 - 8) - 128
        out[r] = np.where(valid, np.clip(y, -128, 127), -128)
    return out.reshape(x.shape)


class SoftmaxS8(Kernel):
    """SOFTMAX over the last axis, int8 -> int8 (output scale 1/256, zero point -128)."""

    kinds = (OpKind.SOFTMAX,)

    def supports(self, op: Op, graph: Graph) -> bool:
        return _io(op, graph)[0].dtype == "int8"

    def lower(self, op: Op, graph: Graph) -> LoweredOp:
        x, y = _check(op, graph)
        if y.zero_point != -128 or _f32(y.scale) != _f32(1.0 / 256):
            raise _fail(op, f"int8 output must have scale 1/256 and zero point -128, "
                            f"got {y.scale} and {y.zero_point}")
        mult, shift, diff_min = softmax_params(op.attrs.beta, x.scale)
        if shift < 0:
            raise _fail(op, f"beta * input scale ({op.attrs.beta} * {x.scale}) is too small")
        depth = x.shape[-1] if x.shape else 1
        rows = x.size // depth

        def reference(ins):
            return [softmax_reference(np.asarray(ins[0]).reshape(rows, depth), mult, shift, diff_min)
                    .astype(np.int8).reshape(y.shape)]

        args = [Literal(mult), Literal(shift), Literal(diff_min), Literal(rows), Literal(depth),
                TensorArg(x.name), TensorArg(y.name, const=False)]
        return LoweredOp(op, "tg_softmax_s8", ("tg_softmax_s8.c",), args, [], reference,
                         notes=dict(input_mult=mult, input_left_shift=shift, diff_min=diff_min))


# ---- LOGISTIC / TANH ----------------------------------------------------------------------------


def sigmoid_input_params(input_scale: float) -> tuple:
    """(input_mult, input_left_shift, input_range_radius) for 4 input integer bits (TFLM Prepare)."""
    q, shift = math.frexp(float(_f32(input_scale)) * float(1 << (31 - SIGMOID_INPUT_BITS)))
    mult = qmath.round_away(q * (1 << 31))
    radius = _input_radius(SIGMOID_INPUT_BITS, shift) if shift >= 0 else 0
    return mult, shift, radius


def _sigmoid_like_reference(q, zp: int, mult: int, shift: int, radius: int, tanh: bool):
    x = np.asarray(q, dtype=np.int64) - zp
    x_q4 = qmath.multiply_by_quantized_multiplier(np.clip(x, -radius, radius), mult, shift)
    if tanh:
        y = np.clip(qmath.rounding_divide_by_pot(fp.tanh(x_q4, SIGMOID_INPUT_BITS), 31 - 7), -128, 127)
    else:
        y = np.clip(qmath.rounding_divide_by_pot(fp.logistic(x_q4, SIGMOID_INPUT_BITS), 31 - 8) - 128,
                    -128, 127)
    return np.where(x <= -radius, -128, np.where(x >= radius, 127, y))


class SigmoidLikeS8(Kernel):
    """LOGISTIC (output 1/256, zp -128) and TANH (output 1/128, zp 0), int8 -> int8."""

    kinds = (OpKind.LOGISTIC, OpKind.TANH)

    def supports(self, op: Op, graph: Graph) -> bool:
        return _io(op, graph)[0].dtype == "int8"

    def lower(self, op: Op, graph: Graph) -> LoweredOp:
        x, y = _check(op, graph)
        is_tanh = op.kind == OpKind.TANH
        want_scale, want_zp = (1.0 / 128, 0) if is_tanh else (1.0 / 256, -128)
        if y.zero_point != want_zp or abs(y.scale - want_scale) > 1e-3 * want_scale:
            raise _fail(op, f"int8 output must have scale {want_scale} and zero point {want_zp}, "
                            f"got {y.scale} and {y.zero_point}")
        mult, shift, radius = sigmoid_input_params(x.scale)
        if shift < 0 or mult >= (1 << 31):
            raise _fail(op, f"input scale {x.scale} is out of range")
        # (the per-element fixed-point kernel cost 70% of a small EfficientNet's instructions in its swish)
        zp = x.zero_point
        return _lut(op, graph, lambda q: _sigmoid_like_reference(q, zp, mult, shift, radius, is_tanh),
                    dict(input_mult=mult, input_left_shift=shift, input_range_radius=radius))


def _lut(op: Op, graph: Graph, func, notes: dict) -> LoweredOp:
    """An int8 -> int8 element-wise op as its table over the 256 inputs (tg_lut_s8, may run in place)."""
    x, y = _io(op, graph)
    table = np.asarray(func(np.arange(-128, 128))).astype(np.int8)
    args = [Literal(x.size), ConstArg(0), TensorArg(x.name), TensorArg(y.name, const=False)]

    def reference(ins):
        return [table[np.asarray(ins[0], dtype=np.int64) + 128].reshape(y.shape)]

    return LoweredOp(op, "tg_lut_s8", ("tg_lut_s8.c",), args, [ConstArray("table", table)], reference,
                     inplace_of=x.name, notes=notes)


# ---- RELU / RELU6 / LEAKY_RELU / HARD_SWISH -----------------------------------------------------


class ReluS8(Kernel):
    """RELU requantizes to the output's scale (TFLM ReluQuantized); RELU6 only clamps on the input's."""

    kinds = (OpKind.RELU, OpKind.RELU6)

    def supports(self, op: Op, graph: Graph) -> bool:
        return _io(op, graph)[0].dtype == "int8"

    def lower(self, op: Op, graph: Graph) -> LoweredOp:
        x, y = _check(op, graph)
        if op.kind == OpKind.RELU6:
            lower_q = x.zero_point
            upper_q = int(np.clip(_round_f32_div(6.0, x.scale) + x.zero_point, -128, 127))
            return _elementwise(op, graph, "tg_relu6_s8", "tg_relu6_s8.c", [lower_q, upper_q],
                                lambda q: np.clip(q.astype(np.int64), lower_q, upper_q))
        mult, shift = qmath.quantize_multiplier(float(x.scale) / float(y.scale))
        in_zp, out_zp = x.zero_point, y.zero_point
        act_min, act_max = max(-128, out_zp), 127

        def func(q):
            acc = np.asarray(q, dtype=np.int64) - in_zp
            return qmath.requantize(acc, mult, shift, out_zp, act_min, act_max)

        return _elementwise(op, graph, "tg_relu_s8", "tg_relu_s8.c",
                            [in_zp, mult, shift, out_zp, act_min, act_max], func)


def _round_f32_div(value: float, scale: float) -> int:
    """round(value / scale) with the division in float32 and ties away from zero (C's round)."""
    return qmath.round_away(float(_f32(value) / _f32(scale)))


class LeakyReluS8(Kernel):
    """LEAKY_RELU with separate identity and alpha multipliers (TFLM CalculateOpDataLeakyRelu), applied
    to all 256 int8 inputs here: the kernel is a table lookup.

    Both real multipliers, s_in / s_out and s_in * alpha / s_out, are formed in double from the float32
    scales and alpha, as the pinned TFLM does (published sources use float32 products; the pinned
    interpreter matches double only: tests/kernels/test_kernels_activation.py::test_leaky_relu_scale_sweep_matches_tflm).
    """

    kinds = (OpKind.LEAKY_RELU,)

    def supports(self, op: Op, graph: Graph) -> bool:
        return _io(op, graph)[0].dtype == "int8"

    def lower(self, op: Op, graph: Graph) -> LoweredOp:
        x, y = _check(op, graph)
        in_s, out_s, alpha = float(_f32(x.scale)), float(_f32(y.scale)), float(_f32(op.attrs.alpha))
        id_mult, id_shift = qmath.quantize_multiplier(in_s / out_s)
        al_mult, al_shift = qmath.quantize_multiplier(in_s * alpha / out_s)
        in_zp, out_zp = x.zero_point, y.zero_point

        def func(q):
            acc = np.asarray(q, dtype=np.int64) - in_zp
            pos = qmath.multiply_by_quantized_multiplier(acc, id_mult, id_shift)
            neg = qmath.multiply_by_quantized_multiplier(acc, al_mult, al_shift)
            return np.clip(np.where(acc >= 0, pos, neg) + out_zp, -128, 127)

        # an int8 input has 256 values: the op is their table (tg_lut_s8), which may run in place
        table = func(np.arange(-128, 128)).astype(np.int8)
        args = [Literal(x.size), ConstArg(0), TensorArg(x.name), TensorArg(y.name, const=False)]

        def reference(ins):
            return [table[np.asarray(ins[0], dtype=np.int64) + 128].reshape(y.shape)]

        return LoweredOp(op, "tg_lut_s8", ("tg_lut_s8.c",), args, [ConstArray("table", table)], reference,
                         inplace_of=x.name, notes=dict(id_mult=id_mult, id_shift=id_shift, al_mult=al_mult,
                                                       al_shift=al_shift))


def downscale_multiplier_int16(mult32: int) -> int:
    """Round a Q0.31 multiplier to Q0.15, saturating at INT16_MAX (TFLM DownScaleInt32ToInt16Multiplier)."""
    if mult32 >= (1 << 31) - 1 - (1 << 15):
        return (1 << 15) - 1
    return (mult32 + (1 << 15)) >> 16


def hard_swish_params(input_scale: float, output_scale: float) -> tuple:
    """(output_mult16, output_exponent, reluish_mult16, reluish_exponent) as TFLM HardSwishPrepare."""
    hires = _f32(1.0 / 128.0) * _f32(input_scale)
    reluish_scale = _f32(3.0) / _f32(32768.0)
    out_m, out_e = qmath.quantize_multiplier(float(hires / _f32(output_scale)))
    rel_m, rel_e = qmath.quantize_multiplier(float(hires / reluish_scale))
    return downscale_multiplier_int16(out_m), out_e, downscale_multiplier_int16(rel_m), rel_e


def hard_swish_reference(q, in_zp: int, out_zp: int, out_m: int, out_e: int, rel_m: int, rel_e: int):
    x = fp.wrap_int16((np.asarray(q, dtype=np.int64) - in_zp) * 128)
    pre = fp.srdhm16(x, out_m)
    r = x
    if rel_e > 0:
        r = fp.sat_left_shift16(r, rel_e - 1)
    r = fp.srdhm16(r, rel_m)
    if rel_e > 0:
        r = fp.sat_left_shift16(r, 1)
    if rel_e < 0:
        r = fp.rdbpot16(r, -rel_e)
    r = (r + (1 << 15)) >> 1
    out = fp.wrap_int16(fp.rdbpot16(fp.sdhm16(r, pre), -out_e) + out_zp)
    return np.clip(out, -128, 127)


class HardSwishS8(Kernel):
    """HARD_SWISH in TFLM's int16 fixed point (reluish and output multipliers)."""

    kinds = (OpKind.HARD_SWISH,)

    def supports(self, op: Op, graph: Graph) -> bool:
        return _io(op, graph)[0].dtype == "int8"

    def lower(self, op: Op, graph: Graph) -> LoweredOp:
        x, y = _check(op, graph)
        out_m, out_e, rel_m, rel_e = hard_swish_params(x.scale, y.scale)
        if out_e > 0 or out_e < -31 or rel_e < -31 or rel_e > 31:
            raise _fail(op, f"scales {x.scale} -> {y.scale} give an unsupported multiplier exponent")
        in_zp, out_zp = x.zero_point, y.zero_point
        return _lut(op, graph, lambda q: hard_swish_reference(q, in_zp, out_zp, out_m, out_e, rel_m, rel_e),
                    dict(out_mult=out_m, out_exp=out_e, reluish_mult=rel_m, reluish_exp=rel_e))


# ---- QUANTIZE / DEQUANTIZE ----------------------------------------------------------------------


def quantize_reference(v, scale: float, zp: int):
    """float32 -> int8: round_half_away(v / scale) in float32, saturated (TFLM AffineQuantize)."""
    q = (np.asarray(v, dtype=np.float32) / _f32(scale)).astype(np.float64)
    q = np.where(np.isnan(q) | (q <= -1e9), -1e9, np.minimum(q, 1e9))
    r = np.where(q >= 0, np.floor(q + 0.5), -np.floor(-q + 0.5)).astype(np.int64)
    return np.clip(r + zp, -128, 127)


def dequantize_reference(q, scale: float, zp: int):
    """int8 -> float32: float(double(scale) * (q - zp))."""
    return (float(_f32(scale)) * (np.asarray(q, dtype=np.int64) - zp).astype(np.float64)).astype(np.float32)


class QuantizeKernel(Kernel):
    """QUANTIZE float32 -> int8 and int8 -> int8 (requantize)."""

    kinds = (OpKind.QUANTIZE,)

    def supports(self, op: Op, graph: Graph) -> bool:
        x, y = _io(op, graph)
        return x.dtype in ("float32", "int8") and y.dtype == "int8"

    def lower(self, op: Op, graph: Graph) -> LoweredOp:
        x, y = _io(op, graph)
        _check(op, graph, in_dtype=x.dtype)
        out_zp = y.zero_point
        if x.dtype == "float32":
            scale = y.scale
            return _elementwise(op, graph, "tg_quantize_f32_s8", "tg_quantize_f32_s8.c",
                                [_c_float(scale), out_zp], lambda v: quantize_reference(v, scale, out_zp))
        mult, shift = qmath.quantize_multiplier(float(x.scale) / float(y.scale))
        in_zp = x.zero_point
        return _elementwise(op, graph, "tg_requantize_s8_s8", "tg_requantize_s8_s8.c", [in_zp, mult, shift, out_zp],
                            lambda q: qmath.requantize(np.asarray(q, dtype=np.int64) - in_zp, mult, shift,
                                                       out_zp, -128, 127))


class DequantizeKernel(Kernel):
    """DEQUANTIZE int8 -> float32."""

    kinds = (OpKind.DEQUANTIZE,)

    def supports(self, op: Op, graph: Graph) -> bool:
        x, y = _io(op, graph)
        return x.dtype == "int8" and y.dtype == "float32"

    def lower(self, op: Op, graph: Graph) -> LoweredOp:
        x, _ = _check(op, graph, out_dtype="float32")
        scale, zp = x.scale, x.zero_point
        return _elementwise(op, graph, "tg_dequantize_s8_f32", "tg_dequantize_s8_f32.c", [_c_double(_f32(scale)), zp],
                            lambda q: dequantize_reference(q, scale, zp), out_dtype=np.float32)


for _kernel in (SoftmaxS8(), SigmoidLikeS8(), ReluS8(), LeakyReluS8(), HardSwishS8(), QuantizeKernel(),
                DequantizeKernel()):
    register(_kernel)

