"""NumPy arithmetic of the element-wise math kernels (lower/math.py), bit for bit what TFLM computes:
ABS and RSQRT in integer fixed point, ELU's 256-entry table from TFLM's float32 formula (glibc expf, as
the TFLM build links), and the inverse square root multiplier that RSQRT and L2_NORMALIZATION share.
Arrays are int64 holding int32 values; runtime_c/include/tg_invsqrt.h is the C twin of `inv_sqrt`.
"""
from __future__ import annotations

import ctypes
import ctypes.util

import numpy as np

from tinygen.quant import fixedpoint as fp
from tinygen.quant import qmath

RANGE = {"int8": (-128, 127), "int16": (-32768, 32767)}
RSQRT_SHIFT = 20  # TFLM keeps 1/sqrt(v) as an integer scaled by 2^20 between its two rescales
_HALF_SQRT2_Q31 = 1518500250  # sqrt(2) / 2 in Q0.31
_ONE_Q3 = 1 << 28  # 1.0 with 3 integer bits
_THREE_HALVES_Q3 = (1 << 28) + (1 << 27)


def _clz32(x):
    """Leading zeros of positive int32 values (exact: float64 log2 separates 2^k - 1 from 2^k below 2^31)."""
    return 31 - np.floor(np.log2(x.astype(np.float64))).astype(np.int64)


def inv_sqrt(v) -> tuple:
    """(multiplier, shift) with 1 / sqrt(v) ~= multiplier * 2^(shift - 31), for int32 v >= 0; v <= 1 gives
    (INT32_MAX, 0). Five Newton-Raphson steps in Q3.28, TFLM's GetInvSqrtQuantizedMultiplierExp with its
    shift reversed (a left shift when positive)."""
    v = np.asarray(v, dtype=np.int64)
    small = v <= 1
    x = np.where(small, 2, v)
    shift = np.full(x.shape, 11, dtype=np.int64)
    big = x >= (1 << 29)
    x = np.where(big, x // 4, x)  # int32 inputs: one division by 4 brings them below 2^29
    shift = shift + big
    pairs = (_clz32(x) - 1) // 2 - 1
    shift = shift - pairs
    x = x << (2 * pairs)
    f_in = x >> 1
    half_in = qmath.rounding_divide_by_pot(f_in, 1)
    y = np.full(x.shape, _ONE_Q3, dtype=np.int64)
    for _ in range(5):
        y3 = fp.sat_mul_pot(qmath.srdhm(qmath.srdhm(y, y), y), 6)
        y = fp.sat_mul_pot(qmath.wrap_int32(qmath.srdhm(_THREE_HALVES_Q3, y) - qmath.srdhm(half_in, y3)), 3)
    y = qmath.srdhm(y, _HALF_SQRT2_Q31)
    neg = shift < 0
    y = np.where(neg, qmath.wrap_int32(y << np.where(neg, -shift, 0)), y)
    shift = np.where(neg, 0, shift)
    return np.where(small, (1 << 31) - 1, y), np.where(small, 0, -shift)


def rsqrt_reference(q, in_zp: int, mult: int, shift: int, out_zp: int, dtype: str):
    """TFLM's quantized RSQRT: 1/sqrt(q - zp) as an integer scaled by 2^20, rescaled to the output; q == zp
    gives the type's maximum. (TFLM fails the invoke on q < zp; here those give the output of zp + 1.)"""
    value = np.asarray(q, dtype=np.int64) - in_zp
    m, s = inv_sqrt(value)
    data = qmath.multiply_by_quantized_multiplier(1, m, s + RSQRT_SHIFT)
    out = qmath.multiply_by_quantized_multiplier(data, mult, shift - RSQRT_SHIFT) + out_zp
    lo, hi = RANGE[dtype]
    return np.where(value == 0, hi, np.clip(out, lo, hi))


def abs_reference(q, in_zp: int, rescale: bool, mult: int, shift: int, out_zp: int, dtype: str):
    """TFLM's quantized ABS: |q - zp|, rescaled when the scales differ, plus the output zero point."""
    value = np.abs(np.asarray(q, dtype=np.int64) - in_zp)
    if rescale:
        value = qmath.multiply_by_quantized_multiplier(value, mult, shift)
    lo, hi = RANGE[dtype]
    return np.clip(value + out_zp, lo, hi)


def _libm_expf():
    lib = ctypes.CDLL(ctypes.util.find_library("m") or "libm.so.6")
    f = lib.expf
    f.restype, f.argtypes = ctypes.c_float, [ctypes.c_float]
    return f


def round_half_away_f32(v) -> np.ndarray:
    """C roundf of float32 values (ties away from zero), exactly."""
    v = np.asarray(v, dtype=np.float64)  # float32 values are exact in float64
    t = np.trunc(v)
    return t + np.where(np.abs(v - t) >= 0.5, np.sign(v), 0.0)


def elu_table(in_scale: float, in_zp: int, out_scale: float, out_zp: int) -> np.ndarray:
    """The int8 ELU table TFLM fills in Prepare, in float32: x = s_in * (q - zp); y = x < 0 ? expf(x) - 1 : x;
    out = (int)(roundf(y * (1 / s_out)) + zp_out), clamped; entry i is the output of int8 value i - 128."""
    expf = _libm_expf()
    f32 = np.float32
    inv = f32(1.0) / f32(out_scale)
    out = np.empty(256, dtype=np.int64)
    for k, q in enumerate(range(-128, 128)):
        x = f32(in_scale) * f32(q - in_zp)
        y = f32(f32(expf(float(x))) - f32(1.0)) if x < 0 else x
        r = f32(round_half_away_f32(f32(y * inv)))
        out[k] = int(np.trunc(np.float64(f32(r + f32(out_zp)))))
    return np.clip(out, -128, 127)
