"""Lowering of SQUARED_DIFFERENCE (int8, int16) and DIV (int8), with broadcasting, to runtime_c/math/.

Both operands are addressed with the 4-D broadcast walk of ADD / SUB / MUL (lower/elementwise.py); either
may be a constant. Constants as TFLM's Prepare forms them:
- SQUARED_DIFFERENCE: inputs shifted left by 7 (int8) or 0 (int16), scaled by s_i / (2 max(s1, s2)) (each
  below one), the difference squared in int32 and rescaled by (2 max(s1, s2))^2 / (2^(2 shift) s_out),
  all in double.
- DIV: one multiplier s1 / (s2 s_out) in double (published TFLM sources divide in float32; the pinned
  interpreter matches double only, on all 256 x 256 pairs of the kernel test); per element the divisor's
  reciprocal (TFLM GetReciprocal), the dividend normalised by its redundant sign bits, and one rounding
  shift that can pass 31 bits, where the TFLM build's shift wraps (emulated: wide_rounding_shift).
Both may run in place over an input of the output's shape and type.
"""
from __future__ import annotations

import numpy as np

from tinygen.ir import Graph, Op, OpKind
from tinygen.lower.base import Kernel, Literal, LoweredOp, TensorArg, register
from tinygen.lower.elementwise import BinaryOperands
from tinygen.lower.math import fail, f32, quantized
from tinygen.lower.math_ref import RANGE
from tinygen.lower.pool import fused_range
from tinygen.lower.prelu_minmax import _inplace_input
from tinygen.quant import fixedpoint as fp
from tinygen.quant import qmath

_SUFFIX = {"int8": "s8", "int16": "s16"}
SQDIFF_LEFT_SHIFT = {"int8": 7, "int16": 0}


def _types(op: Op, graph: Graph) -> tuple:
    return tuple(graph.tensors[t].dtype for t in list(op.inputs) + list(op.outputs))


def squared_difference_params(dtype: str, s1: float, s2: float, s_out: float) -> tuple:
    """((m1, e1), (m2, e2), (mo, eo)) of SQUARED_DIFFERENCE for the given float32 scales."""
    shift = SQDIFF_LEFT_SHIFT[dtype]
    twice = 2.0 * max(f32(s1), f32(s2))
    real_out = twice * twice / float(np.float32((1 << (2 * shift)) * np.float32(s_out)))
    return (qmath.quantize_multiplier(f32(s1) / twice), qmath.quantize_multiplier(f32(s2) / twice),
            qmath.quantize_multiplier(real_out))


def squared_difference_reference(a, b, params: tuple, dtype: str):
    off1, m1, e1, off2, m2, e2, shift, out_zp, mo, eo = params
    x1 = qmath.multiply_by_quantized_multiplier((a + off1) << shift, m1, e1)
    x2 = qmath.multiply_by_quantized_multiplier((b + off2) << shift, m2, e2)
    d = x1 - x2
    lo, hi = RANGE[dtype]
    return np.clip(qmath.multiply_by_quantized_multiplier(d * d, mo, eo) + out_zp, lo, hi)


class SquaredDifference(Kernel):
    """SQUARED_DIFFERENCE int8 or int16 (TFLM's BroadcastBinaryFunction4DSlow arithmetic)."""

    kinds = (OpKind.SQUARED_DIFFERENCE,)

    def supports(self, op: Op, graph: Graph) -> bool:
        return _types(op, graph) in (("int8",) * 3, ("int16",) * 3)

    def lower(self, op: Op, graph: Graph) -> LoweredOp:
        ops = BinaryOperands(op, graph)
        t1, t2 = ops.tensors
        out = graph.tensors[op.outputs[0]]
        quantized(op, t1, t2, out)
        dtype = out.dtype
        (m1, e1), (m2, e2), (mo, eo) = squared_difference_params(dtype, t1.scale, t2.scale, out.scale)
        params = (-t1.zero_point, m1, e1, -t2.zero_point, m2, e2, SQDIFF_LEFT_SHIFT[dtype], out.zero_point, mo, eo)
        args = [Literal(v) for v in params] + ops.c_operands() + [TensorArg(op.outputs[0], const=False)]

        def reference(inputs: list) -> list:
            a, b = ops.values(inputs)
            return [squared_difference_reference(a, b, params, dtype).astype(dtype)]

        fn = f"tg_squared_difference_{_SUFFIX[dtype]}"
        return LoweredOp(op, fn, (fn + ".c",), args, ops.const_arrays, reference,
                         inplace_of=_inplace_input(op, graph), notes=dict(out=(mo, eo)))


def _leading_sign_bits(x):
    """Redundant sign bits of int32 values (0 has 31)."""
    x = np.asarray(x, dtype=np.int64)
    u = np.where(x >= 0, x, -x - 1)  # ~x for negatives
    return 31 - np.where(u > 0, np.floor(np.log2(np.maximum(u, 1).astype(np.float64))).astype(np.int64) + 1, 0)


def wide_rounding_shift(x, exponent):
    """RoundingDivideByPOT as the TFLM build does it for exponents 0 .. 63: past 31 its all-ones mask keeps
    x as the remainder and the shift count wraps modulo 32 (x86), so the result is
    (x >> (exponent - 32)) + (x > threshold) with threshold -1 (x >= 0) or 0 (x < 0)."""
    x = np.asarray(x, dtype=np.int64)
    exponent = np.asarray(exponent, dtype=np.int64)
    small = qmath.rounding_divide_by_pot(x, np.minimum(exponent, 31))
    wide = (x >> np.maximum(exponent - 32, 0)) + (x > np.where(x < 0, 0, -1))
    return np.where(exponent > 31, wide, small)


def div_reference(a, b, params: tuple):
    """TFLM's quantized DIV on int64 arrays: the divisor's reciprocal (GetReciprocal), the dividend
    normalised by its redundant sign bits, their product rescaled by the multiplier and one rounding right
    shift. A divisor equal to its zero point goes through the same steps (the reciprocal of 0 is finite:
    1 / (1 + (0 - 1)) in TFLM's fixed point, with shift -1), as in TFLM."""
    off1, off2, out_zp, mult, shift, act_min, act_max = params
    v1, v2 = a + off1, b + off2
    v1 = np.where(v2 < 0, -v1, v1)
    v2 = np.abs(v2)
    uniq, inverse = np.unique(v2, return_inverse=True)  # v2 == 0: TFLM's reciprocal of 0 (a finite value)
    recips = [fp.get_reciprocal(int(v), 31) for v in uniq]
    inv = np.array([r[0] for r in recips], dtype=np.int64)[inverse].reshape(v2.shape)
    recip_shift = np.array([r[1] for r in recips], dtype=np.int64)[inverse].reshape(v2.shape)
    headroom = _leading_sign_bits(v1)
    quotient = qmath.srdhm(qmath.wrap_int32(v1 << headroom), inv)
    out = wide_rounding_shift(qmath.srdhm(quotient, mult), recip_shift + headroom - shift) + out_zp
    return np.clip(out, act_min, act_max)


class DivS8(Kernel):
    """DIV int8 (TFLM's DivElementwise / BroadcastDivSlowQuantized)."""

    kinds = (OpKind.DIV,)

    def supports(self, op: Op, graph: Graph) -> bool:
        return _types(op, graph) == ("int8",) * 3

    def lower(self, op: Op, graph: Graph) -> LoweredOp:
        ops = BinaryOperands(op, graph)
        t1, t2 = ops.tensors
        out = graph.tensors[op.outputs[0]]
        quantized(op, t1, t2, out)
        real = f32(t1.scale) / (f32(t2.scale) * f32(out.scale))  # in double, as the pinned TFLM
        mult, shift = qmath.quantize_multiplier(real)
        if not -24 <= shift <= 22:  # the final right shift stays within 0 .. 63 bits
            raise fail(op, f"scales {t1.scale} / ({t2.scale} * {out.scale}) = {real:g} are outside the "
                           "rescale range 2^-24 .. 2^22")
        act = fused_range(op, graph)
        params = (-t1.zero_point, -t2.zero_point, out.zero_point, mult, shift, act[0], act[1])
        args = [Literal(v) for v in params] + ops.c_operands() + [TensorArg(op.outputs[0], const=False)]

        def reference(inputs: list) -> list:
            a, b = ops.values(inputs)
            return [div_reference(a, b, params).astype(np.int8)]

        return LoweredOp(op, "tg_div_s8", ("tg_div_s8.c",), args, ops.const_arrays, reference,
                         inplace_of=_inplace_input(op, graph), notes=dict(mult=mult, shift=shift))


register(SquaredDifference())
register(DivS8())
