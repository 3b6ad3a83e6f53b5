"""Lowering of the last-axis normalisations LOG_SOFTMAX (int8) and L2_NORMALIZATION (int8) to
runtime_c/math/tg_log_softmax_s8.c and tg_l2norm_s8.c, with TFLM's fixed-point arithmetic.

LOG_SOFTMAX: the output is fixed at scale 16/256, zero point 127 (TFLM refuses others). Differences to the
row maximum are rescaled to Q5.26 (multiplier from s_in * 2^26 in double), their exps summed in Q12.19,
log(sum) taken in Q5.26 (gemmlowp's log_x_for_x_greater_than_or_equal_to_1), and each output is
(diff - log_sum) >> 22 + 127; diffs below a threshold (input radius, or the log sum reversed through
the input scaling) give -128.
L2_NORMALIZATION: x - zp over sqrt(sum((x - zp)^2)) with the inverse square root multiplier, output in
1/128 steps whatever the output tensor says (TFLM ignores its parameters).
Both may run in place: a row is read completely before any of it is written.
"""
from __future__ import annotations

import numpy as np

from tinygen.ir import Graph, Op, OpKind
from tinygen.lower.activation import _input_radius
from tinygen.lower.base import Kernel, Literal, LoweredOp, TensorArg, register
from tinygen.lower.math import f32, fail, io, quantized
from tinygen.lower.math_ref import inv_sqrt
from tinygen.quant import fixedpoint as fp
from tinygen.quant import qmath

DIFF_BITS = 5  # Q5.26 differences (TFLM kInputIntegerBits)
ACCUM_BITS = 12  # Q12.19 sum of exps
OUTPUT_BITS = 4
L2_OUTPUT_SHIFT = 7  # L2 outputs are in 1/128 steps
INT32_MIN, INT32_MAX = -(1 << 31), (1 << 31) - 1
_LOG2_Q31, _SQRT_SQRT_HALF, _SQRT_HALF, _QUARTER = 1488522236, 1805811301, 1518500250, 536870912
_ALPHA_N, _ALPHA_D, _ALPHA_I, _ALPHA_F = 117049297, 127690142, 1057819769, 638450708


def _rows(x) -> tuple:
    depth = x.shape[-1]
    return x.size // depth, depth


def _i(v) -> int:
    return int(np.asarray(v).item())


def _mul(a: int, b: int) -> int:
    return _i(qmath.srdhm(a, b))


def _w(v: int) -> int:
    return _i(qmath.wrap_int32(v))


def _sat_add(a: int, b: int) -> int:
    return max(INT32_MIN, min(INT32_MAX, a + b))


def log_q5(sum_q12: int) -> int:
    """log(x) in Q5.26 for x >= 1 in Q12.19 (gemmlowp's log_x_for_x_greater_than_or_equal_to_1, Q6 accumulation)."""
    accum_bits = DIFF_BITS + 1
    shifted_quarter = _i(qmath.rounding_divide_by_pot(_QUARTER, accum_bits))
    z_a = sum_q12
    a_hp1 = fp.count_leading_zeros32(z_a)
    r_a = _i(fp.sat_mul_pot(_mul(_i(fp.sat_mul_pot(z_a, a_hp1 - 1)), _SQRT_HALF), 1))
    a_adj = _sat_add(_i(fp.sat_mul_pot(ACCUM_BITS - a_hp1, 31 - accum_bits)), shifted_quarter)
    z_b = _mul(z_a, _SQRT_HALF)
    b_hr = fp.count_leading_zeros32(z_b) - 1
    r_b = _i(fp.sat_mul_pot(z_a, b_hr))
    b_adj = _sat_add(_i(fp.sat_mul_pot(ACCUM_BITS - b_hr, 31 - accum_bits)), -shifted_quarter)
    r, adj = min(r_a, r_b), max(a_adj, b_adj)
    p = _i(fp.rounding_half_sum(r, _SQRT_SQRT_HALF))
    q = _w(2 * _w(r - _SQRT_SQRT_HALF))
    sq = _mul(q, q)
    num = _w(_mul(q, r) + _mul(_mul(q, sq), _ALPHA_N))
    denom = _w(_mul(p, _w(_w(_ALPHA_I + q) + _mul(_ALPHA_D, sq))) + _mul(_ALPHA_F, q))
    recip = _i(fp.one_over_one_plus_x(denom))
    num_scaled = _i(qmath.rounding_divide_by_pot(num, accum_bits))
    return _i(fp.sat_mul_pot(_w(_mul(adj, _LOG2_Q31) + _mul(num_scaled, recip)), 1))


def log_softmax_params(input_scale: float) -> tuple:
    """(input_mult, input_left_shift, reverse_mult, reverse_shift, diff_min) as TFLM's Prepare."""
    real = min(f32(input_scale) * float(1 << (31 - DIFF_BITS)), float((1 << 31) - 1))
    mult, shift = qmath.quantize_multiplier(real)
    rev_mult, rev_shift = qmath.quantize_multiplier((1 << (31 - shift)) / float(mult))
    return mult, shift, rev_mult, rev_shift, -_input_radius(DIFF_BITS, shift)


def log_softmax_reference(x: np.ndarray, params: tuple) -> np.ndarray:
    mult, shift, rev_mult, rev_shift, diff_min = params
    rows = np.asarray(x, dtype=np.int64)
    out = np.empty_like(rows)
    for k, row in enumerate(rows):
        diff = row - row.max()
        q5 = qmath.multiply_by_quantized_multiplier(diff, mult, shift)
        terms = qmath.rounding_divide_by_pot(fp.exp_on_negative_values(q5, DIFF_BITS), ACCUM_BITS)
        total = _w(int(terms[diff >= diff_min].sum()))
        log_sum = log_q5(total)
        adjusted = max(diff_min - 1, _i(qmath.multiply_by_quantized_multiplier(log_sum + INT32_MIN, rev_mult, rev_shift)))
        y = np.clip(qmath.rounding_divide_by_pot(q5 - log_sum, 31 - DIFF_BITS - OUTPUT_BITS) + 127, -128, 127)
        out[k] = np.where(diff > adjusted, y, -128)
    return out


class LogSoftmaxS8(Kernel):
    kinds = (OpKind.LOG_SOFTMAX,)

    def supports(self, op: Op, graph: Graph) -> bool:
        x, y = io(op, graph)
        return (x.dtype, y.dtype) == ("int8", "int8")

    def lower(self, op: Op, graph: Graph) -> LoweredOp:
        x, y = io(op, graph)
        quantized(op, x, y)
        if f32(y.scale) != 16.0 / 256 or y.zero_point != 127:
            raise fail(op, f"int8 output must have scale 1/16 and zero point 127 (TFLM), got {y.scale} and "
                           f"{y.zero_point}")
        params = log_softmax_params(x.scale)
        if params[1] < 0:
            raise fail(op, f"input scale {x.scale} is too small (TFLM needs a left shift)")
        rows, depth = _rows(x)
        args = [Literal(p) for p in params] + [Literal(rows), Literal(depth), TensorArg(x.name),
                                               TensorArg(y.name, const=False)]

        def reference(ins: list) -> list:
            v = np.asarray(ins[0]).reshape(rows, depth)
            return [log_softmax_reference(v, params).astype(np.int8).reshape(y.shape)]

        return LoweredOp(op, "tg_log_softmax_s8", ("tg_log_softmax_s8.c",), args, [], reference,
                         inplace_of=x.name, notes=dict(zip(("mult", "shift", "rev_mult", "rev_shift", "diff_min"), params)))


def l2norm_reference(x: np.ndarray, zp: int) -> np.ndarray:
    v = np.asarray(x, dtype=np.int64) - zp
    acc = qmath.wrap_int32((v * v).sum(axis=-1))
    m, s = inv_sqrt(acc)
    out = qmath.multiply_by_quantized_multiplier(v, m[:, None], s[:, None] + L2_OUTPUT_SHIFT)
    return np.clip(out, -128, 127)


class L2NormS8(Kernel):
    kinds = (OpKind.L2_NORMALIZATION,)

    def supports(self, op: Op, graph: Graph) -> bool:
        x, y = io(op, graph)
        return (x.dtype, y.dtype) == ("int8", "int8")

    def lower(self, op: Op, graph: Graph) -> LoweredOp:
        x, y = io(op, graph)
        quantized(op, x)
        rows, depth = _rows(x)
        zp = x.zero_point
        args = [Literal(zp), Literal(rows), Literal(depth), TensorArg(x.name), TensorArg(y.name, const=False)]

        def reference(ins: list) -> list:
            v = np.asarray(ins[0]).reshape(rows, depth)
            return [l2norm_reference(v, zp).astype(np.int8).reshape(y.shape)]

        return LoweredOp(op, "tg_l2norm_s8", ("tg_l2norm_s8.c",), args, [], reference, inplace_of=x.name)


register(LogSoftmaxS8())
register(L2NormS8())
