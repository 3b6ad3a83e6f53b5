"""gemmlowp-style fixed-point nonlinearities (exp, logistic, tanh, reciprocal) as TFLM uses them.

Vectorized over int64 arrays holding int32 (or int16) raw values; mirrored by runtime_c/include/tg_fixedpoint.h.
A raw value in format Q(ib) means real = raw / 2^(31 - ib); the Q0 "one" is INT32_MAX.
"""
from __future__ import annotations

import numpy as np

from tinygen.quant.qmath import INT32_MAX, INT32_MIN, rounding_divide_by_pot, srdhm, wrap_int32

INT16_MIN = -(1 << 15)
INT16_MAX = (1 << 15) - 1

# exp(-1/8) and 1/3 in Q0.31, the Taylor expansion constants of exp on [-1/4, 0)
_EXP_MINUS_EIGHTH = 1895147668
_ONE_THIRD = 715827883
# exp(-2^k) in Q0.31 for k = -2..4: multiplied in for every set bit of the integer part
_EXP_BARREL = ((-2, 1672461947), (-1, 1302514674), (0, 790015084), (1, 290630308),
               (2, 39332535), (3, 720401), (4, 242))
# Newton-Raphson seed 48/17 - 32/17 * d in Q2.29
_NR_48_OVER_17 = 1515870810
_NR_NEG_32_OVER_17 = -1010580540
_Q2_ONE = 1 << 29


def _i64(x):
    return np.asarray(x, dtype=np.int64)


def sat_mul_pot(x, exponent: int):
    """x * 2^exponent: saturating left shift for exponent > 0, rounding right shift for < 0."""
    x = _i64(x)
    if exponent == 0:
        return x
    if exponent < 0:
        return rounding_divide_by_pot(x, -exponent)
    threshold = (1 << (31 - exponent)) - 1
    shifted = wrap_int32(x << exponent)
    return np.where(x > threshold, INT32_MAX, np.where(x < -threshold, INT32_MIN, shifted))


def rounding_half_sum(a, b):
    """(a + b) / 2 rounded to nearest, ties away from zero (C division truncates)."""
    s = _i64(a) + _i64(b)
    s = s + np.where(s >= 0, 1, -1)
    return np.where(s >= 0, s // 2, -((-s) // 2))


def _add(a, b):
    return wrap_int32(_i64(a) + _i64(b))


def _sub(a, b):
    return wrap_int32(_i64(a) - _i64(b))


def exp_on_interval_neg_quarter(a):
    """exp(a) for Q0 a in [-1/4, 0): 4th-order Taylor series around -1/8."""
    x = _add(a, 1 << 28)
    x2 = srdhm(x, x)
    x3 = srdhm(x2, x)
    x4 = srdhm(x2, x2)
    x4_over_4 = sat_mul_pot(x4, -2)
    poly = sat_mul_pot(_add(srdhm(_add(x4_over_4, x3), _ONE_THIRD), x2), -1)
    return _add(_EXP_MINUS_EIGHTH, srdhm(_EXP_MINUS_EIGHTH, _add(x, poly)))


def exp_on_negative_values(a, integer_bits: int):
    """exp(a) in Q0 for a <= 0 given in Q(integer_bits)."""
    a = _i64(a)
    frac_bits = 31 - integer_bits
    quarter = 1 << (frac_bits - 2)
    a_mod_quarter_minus_quarter = _sub(a & (quarter - 1), quarter)
    result = exp_on_interval_neg_quarter(sat_mul_pot(a_mod_quarter_minus_quarter, integer_bits))
    remainder = _sub(a_mod_quarter_minus_quarter, a)
    for exponent, multiplier in _EXP_BARREL:
        if integer_bits > exponent:
            bit = (remainder >> (frac_bits + exponent)) & 1
            result = np.where(bit != 0, srdhm(result, multiplier), result)
    if integer_bits > 5:
        result = np.where(a < -(1 << (36 - integer_bits)), 0, result)
    return np.where(a == 0, INT32_MAX, result)


def _newton_reciprocal_half(a):
    """Q2 approximation of 1 / ((1 + a) / 2) for Q0 a in [0, 1): 3 Newton-Raphson steps."""
    half_denominator = rounding_half_sum(a, INT32_MAX)
    x = _add(_NR_48_OVER_17, srdhm(half_denominator, _NR_NEG_32_OVER_17))
    for _ in range(3):
        one_minus = _sub(_Q2_ONE, srdhm(half_denominator, x))
        x = _add(x, sat_mul_pot(srdhm(x, one_minus), 2))
    return x


def one_over_one_plus_x(a):
    """1 / (1 + a) in Q0 for Q0 a in [0, 1)."""
    return sat_mul_pot(_newton_reciprocal_half(a), 1)


def one_minus_x_over_one_plus_x(a):
    """(1 - a) / (1 + a) in Q0 for Q0 a in [0, 1)."""
    return sat_mul_pot(_sub(_newton_reciprocal_half(a), _Q2_ONE), 2)


def logistic(a, integer_bits: int):
    """1 / (1 + exp(-a)) in Q0 for any a in Q(integer_bits)."""
    a = _i64(a)
    positive = a > 0
    abs_a = np.where(positive, a, wrap_int32(-a))
    if_positive = one_over_one_plus_x(exp_on_negative_values(wrap_int32(-abs_a), integer_bits))
    if_negative = _sub(INT32_MAX, if_positive)
    return np.where(a == 0, 1 << 30, np.where(positive, if_positive, if_negative))


def tanh(a, integer_bits: int):
    """tanh(a) in Q0 for any a in Q(integer_bits); exp(2a) is read as Q(integer_bits + 1)."""
    a = _i64(a)
    negative = a < 0
    neg_abs = np.where(negative, a, wrap_int32(-a))
    t = one_minus_x_over_one_plus_x(exp_on_negative_values(neg_abs, integer_bits + 1))
    return np.where(a == 0, 0, np.where(negative, wrap_int32(-t), t))


def count_leading_zeros32(x: int) -> int:
    x &= 0xFFFFFFFF
    return 32 - x.bit_length()


def get_reciprocal(x: int, integer_bits: int) -> tuple:
    """(1 / x scaled into Q0, num_bits_over_unit) for a positive Q(integer_bits) scalar x."""
    headroom_plus_one = count_leading_zeros32(int(x))
    num_bits_over_unit = integer_bits - headroom_plus_one
    shifted = ((int(x) << headroom_plus_one) - (1 << 31)) & 0xFFFFFFFF
    shifted_minus_one = shifted - (1 << 32) if shifted >= (1 << 31) else shifted
    return int(one_over_one_plus_x(shifted_minus_one)), num_bits_over_unit


# ---- int16 variants (HARD_SWISH) --------------------------------------------------------------


def wrap_int16(x):
    x = _i64(x)
    return ((x + (1 << 15)) & 0xFFFF) - (1 << 15)


def _trunc_div(x, d: int):
    x = _i64(x)
    return np.where(x >= 0, x // d, -((-x) // d))


def srdhm16(a, b):
    """16-bit SaturatingRoundingDoublingHighMul."""
    a, b = _i64(a), _i64(b)
    ab = a * b
    q = _trunc_div(ab + np.where(ab >= 0, 1 << 14, 1 - (1 << 14)), 1 << 15)
    return np.where((a == INT16_MIN) & (b == INT16_MIN), INT16_MAX, wrap_int16(q))


def sdhm16(a, b):
    """16-bit doubling high multiply that truncates toward zero instead of rounding."""
    a, b = _i64(a), _i64(b)
    q = _trunc_div(a * b, 1 << 15)
    return np.where((a == INT16_MIN) & (b == INT16_MIN), INT16_MAX, wrap_int16(q))


def rdbpot16(x, exponent: int):
    """Rounding right shift of int16 values; the mask is computed in int16 as gemmlowp does."""
    x = _i64(x)
    mask = int(wrap_int16((1 << exponent) - 1))
    remainder = wrap_int16(x & mask)
    threshold = (mask >> 1) + (x < 0)
    return wrap_int16((x >> exponent) + (remainder > threshold))


def sat_left_shift16(x, amount: int):
    return np.clip(_i64(x) * (1 << amount), INT16_MIN, INT16_MAX)
