"""Filter scales whose TFLM multiplier fits the low-bit kernels' 19 bits.

A low-bit layer stores each channel's multiplier as 19 bits (18 stored, the top one implied) with its shift in 3
bytes (runtime_c/lowbit/tg_lowbit.h), where TFLM forms a 32-bit one from the float32 scales: real =
s_in * s_w / s_out in double, then QuantizeMultiplier. When that multiplier is a multiple of 2^12 the 19 bits
hold it exactly, and TFLM on the exported .tflite requantizes exactly as the C does. `snap` moves each
channel's filter scale to the nearest float32 value whose multiplier has that property (about one float32 value
in 4,096 has it: on random scales the median move is about 0.01%); the low-bit weight values are unchanged, and
the caller quantizes the bias at the new scale. When s_in / s_out is close to a simple fraction, the
candidates' multipliers step through a lattice that can miss every multiple of 2^12 within MAX_STEPS ulps: that
channel keeps its scale, its multiplier is rounded to 19 bits, and the .tflite export refuses the layer.
"""
from __future__ import annotations

import numpy as np

MAX_STEPS = 1 << 18  # float32 ulps searched on each side of the scale (at most ~3%)
MOD = 1 << 12  # the multiplier's low bits the 19-bit form drops
_CHUNK = 4096


def tflm_multipliers(x_scale: float, w_scales, y_scale: float, float32_product: bool = False) -> np.ndarray:
    """TFLM's 32-bit multipliers (int64 array) for float32 filter scales: double(s_in) * double(s_w) /
    double(s_out) (conv, depthwise, per-channel FC), or, float32_product, float32(s_in * s_w) / double(s_out)
    (per-tensor FULLY_CONNECTED). Mantissas that round up to 2^31 become 2^30; shifts below -31 give 0."""
    w = np.asarray(w_scales, np.float32)
    x, y = np.float32(x_scale), np.float64(np.float32(y_scale))
    if float32_product:
        real = (x * w).astype(np.float64) / y
    else:
        real = np.float64(x) * w.astype(np.float64) / y
    q, e = np.frexp(real)
    m = np.floor(q * float(1 << 31) + 0.5).astype(np.int64)
    up = m == 1 << 31
    m, e = np.where(up, 1 << 30, m), e + up
    return np.where((real == 0) | (e < -31), 0, m)


def exact(x_scale: float, w_scales, y_scale: float, float32_product: bool = False) -> bool:
    """Every channel's TFLM multiplier is a multiple of MOD (the 19-bit form holds it exactly)."""
    return bool((tflm_multipliers(x_scale, w_scales, y_scale, float32_product) % MOD == 0).all())


def snap(x_scale: float, w_scales, y_scale: float, float32_product: bool = False) -> np.ndarray:
    """float32 filter scales, each the nearest (in ulps) to the given one whose TFLM multiplier is a multiple
    of MOD; a channel with none within MAX_STEPS ulps keeps its scale (its multiplier is then rounded)."""
    w = np.asarray(w_scales, np.float32).reshape(-1)
    out = w.copy()
    for i, s in enumerate(w):
        if not np.isfinite(s) or s <= 0:
            continue
        bits = np.int64(np.asarray(s, np.float32).view(np.int32))
        for start in range(0, MAX_STEPS + 1, _CHUNK):
            k = np.arange(start, min(start + _CHUNK, MAX_STEPS + 1), dtype=np.int64)
            steps = np.stack([k, -k], axis=1).reshape(-1)  # 0, 0, 1, -1, 2, -2, ...: nearest first
            cand_bits = bits + steps
            ok_bits = (cand_bits > 0) & (cand_bits < 0x7F800000)
            cand = cand_bits[ok_bits].astype(np.int32).view(np.float32)
            m = tflm_multipliers(x_scale, cand, y_scale, float32_product)
            hit = np.flatnonzero((m % MOD == 0) & (m != 0))
            if hit.size:
                out[i] = cand[hit[0]]
                break
    return out


def float32_product(op, n_scales: int) -> bool:
    """TFLM forms a per-tensor FULLY_CONNECTED's s_in * s_w in float32 (conv, depthwise and per-channel FC in
    double)."""
    from tinygen.ir import OpKind

    return op.kind == OpKind.FULLY_CONNECTED and n_scales == 1


def layer_scales(q, op, scales) -> np.ndarray:
    """`snap` for a weighted op of the quantized graph q: its input and output scales, float64 result; the scales
    unchanged when its activations are not int8 (the low-bit kernels need int8)."""
    x, y = q.tensors[op.inputs[0]], q.tensors[op.outputs[0]]
    scales = np.asarray(scales, np.float64).reshape(-1)
    if x.dtype != "int8" or y.dtype != "int8" or x.quant is None or y.quant is None:
        return scales
    return snap(x.scale, scales, y.scale, float32_product(op, scales.size)).astype(np.float64)
