"""Fixed-point requantization exactly as TFLM builds it by default (double rounding).

Mirrored line for line by runtime_c/include/tg_common.h. All array functions take and return int64 arrays
holding int32 values, so they are vectorized and overflow-free in NumPy.
"""
from __future__ import annotations

import math

import numpy as np

INT32_MIN = -(1 << 31)
INT32_MAX = (1 << 31) - 1


def round_away(x: float) -> int:
    """Round half away from zero (C's round, TfLiteRound)."""
    return int(math.copysign(math.floor(abs(x) + 0.5), x))


def quantize_multiplier(real: float) -> tuple:
    """Return (multiplier, shift) with real ~= multiplier * 2^(shift - 31), multiplier in [2^30, 2^31).

    Edge cases as TFLM: zero gives (0, 0); a mantissa that rounds up to 2^31 is halved and the shift
    bumped; shifts below -31 would shift every bit out, so they flush to (0, 0). A scale of 2^31 or
    more (a left shift past 31, undefined in C) is refused: no real model requantizes by that much.
    """
    if real == 0.0:
        return 0, 0
    if not math.isfinite(real) or abs(real) >= 2.0 ** 31:
        from tinygen.errors import UnsupportedError

        raise UnsupportedError(f"a requantization scale of {real:g} is out of range (|scale| < 2^31): "
                               "the input, filter and output scales do not fit together")
    q, shift = math.frexp(real)
    q_fixed = round_away(q * (1 << 31))
    if q_fixed == (1 << 31):
        q_fixed //= 2
        shift += 1
    if shift < -31:
        return 0, 0
    return int(q_fixed), int(shift)


def quantize_multiplier_array(reals) -> tuple:
    pairs = [quantize_multiplier(float(r)) for r in np.asarray(reals, dtype=np.float64).ravel()]
    mult = np.array([p[0] for p in pairs], dtype=np.int32)
    shift = np.array([p[1] for p in pairs], dtype=np.int32)
    return mult, shift


def wrap_int32(x):
    """Two's-complement wrap to int32 range (what the compiled C does on overflow)."""
    x = np.asarray(x, dtype=np.int64)
    return ((x + (1 << 31)) & 0xFFFFFFFF) - (1 << 31)


def srdhm(a, b):
    """SaturatingRoundingDoublingHighMul on int32 values."""
    a = np.asarray(a, dtype=np.int64)
    b = np.asarray(b, dtype=np.int64)
    ab = a * b  # |ab| <= 2^62: fits
    nudge = np.where(ab >= 0, 1 << 30, 1 - (1 << 30))
    s = ab + nudge
    q = np.where(s >= 0, s >> 31, -((-s) >> 31))  # C division truncates toward zero
    return np.where((a == INT32_MIN) & (b == INT32_MIN), INT32_MAX, q)


def rounding_divide_by_pot(x, exponent):
    """Arithmetic right shift rounding to nearest, ties away from zero."""
    x = np.asarray(x, dtype=np.int64)
    exponent = np.asarray(exponent, dtype=np.int64)
    mask = (np.int64(1) << exponent) - 1
    remainder = x & mask
    threshold = (mask >> 1) + (x < 0)
    return (x >> exponent) + (remainder > threshold)


def multiply_by_quantized_multiplier(x, multiplier, shift):
    """TFLM's MultiplyByQuantizedMultiplier (int32 x) with double rounding; arrays broadcast."""
    shift = np.asarray(shift, dtype=np.int64)
    left = np.where(shift > 0, shift, 0)
    right = np.where(shift > 0, 0, -shift)
    return rounding_divide_by_pot(srdhm(wrap_int32(np.asarray(x, dtype=np.int64) << left), multiplier), right)


def requantize(acc, multiplier, shift, zero_point: int, qmin: int, qmax: int):
    """acc -> clamp(MBQM(acc) + zero_point, qmin, qmax), the tail of every int8 kernel."""
    out = multiply_by_quantized_multiplier(acc, multiplier, shift) + zero_point
    return np.clip(out, qmin, qmax)


def activation_range(activation, scale: float, zero_point: int, qmin: int, qmax: int) -> tuple:
    """Quantized clamp bounds of a fused activation (TFLM CalculateActivationRangeQuantized)."""
    from tinygen.ir import Activation

    def q(v: float) -> int:
        return zero_point + round_away(float(np.float32(v) / np.float32(scale)))

    if activation == Activation.RELU:
        return max(qmin, q(0.0)), qmax
    if activation == Activation.RELU6:
        return max(qmin, q(0.0)), min(qmax, q(6.0))
    if activation == Activation.RELU_N1_TO_1:
        return max(qmin, q(-1.0)), min(qmax, q(1.0))
    return qmin, qmax
