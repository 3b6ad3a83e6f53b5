"""16x8 SOFTMAX, LOGISTIC and TANH: lookup tables and fixed-point input scaling, as TFLM's int16 kernels."""
from __future__ import annotations

import ctypes
import ctypes.util
import math

import numpy as np

from tinygen.ir import Graph, Op, OpKind
from tinygen.quant import fixedpoint as fp
from tinygen.quant import qmath
from tinygen.lower.base import ConstArg, ConstArray, Kernel, Literal, LoweredOp, TensorArg, register
from tinygen.lower.int16 import _fail
from tinygen.lower.int16_nn import _activations_int16, _symmetric

INT16_MIN, INT16_MAX = -(1 << 15), (1 << 15) - 1


# ---- SOFTMAX -------------------------------------------------------------------------------------

_LUT_STEPS = 512  # int16 tables: 512 intervals plus one closing entry


def _libm_expf():
    """C's expf, so the exp table is computed with the same float function TFLM's Prepare uses."""
    try:
        lib = ctypes.CDLL(ctypes.util.find_library("m") or "libm.so.6")
        f = lib.expf
        f.restype, f.argtypes = ctypes.c_float, [ctypes.c_float]
        return lambda v: np.float32(f(float(v)))
    except (OSError, AttributeError):  # pragma: no cover - no C math library
        return lambda v: np.float32(np.exp(np.float32(v)))


def _round_f32(v) -> np.float32:
    return np.float32(qmath.round_away(float(v)))


def int16_lut(func, lo: float, hi: float) -> np.ndarray:
    """513-entry Q0.15 table of func on [lo, hi] for outputs in [-1, 1], built in float32 as TFLM's
    Prepare does: each sample is nudged by half the error of linear interpolation at the midpoint."""
    f32 = np.float32
    lo, hi = f32(lo), f32(hi)
    step = (hi - lo) / f32(_LUT_STEPS)
    half = step / f32(2)
    gain = f32(65536) / f32(2)  # 2^16 output codes over the output range [-1, 1]
    table = np.empty(_LUT_STEPS + 1, dtype=np.int16)
    for i in range(_LUT_STEPS):
        x = lo + f32(i) * step
        here, mid, nxt = func(x), func(x + half), func(lo + f32(i + 1) * step)
        sample = _round_f32(here * gain)
        interp = _round_f32((nxt * gain + _round_f32(here * gain)) / f32(2))
        nudge = _round_f32((interp - _round_f32(mid * gain)) / f32(2))
        table[i] = int(np.clip(sample - nudge, INT16_MIN, INT16_MAX))
    table[_LUT_STEPS] = int(np.clip(_round_f32(func(hi) * gain), INT16_MIN, INT16_MAX))
    return table


def softmax_luts() -> tuple:
    """(exp on [-10, 0], 1 / (1 + x) on [0, 1]) as TFLM's int16 SOFTMAX Prepare builds them."""
    expf = _libm_expf()
    one = np.float32(1)
    return int16_lut(expf, -10.0, 0.0), int16_lut(lambda v: one / (one + np.float32(v)), 0.0, 1.0)


def lut_lookup16(value, lut: np.ndarray) -> np.ndarray:
    """Interpolated lookup of int16 values in a 513-entry table (tg_lut_s16)."""
    v = np.asarray(value, dtype=np.int64)
    index = 256 + (v >> 7)
    base = lut.astype(np.int64)[index]
    step = fp.wrap_int16(lut.astype(np.int64)[index + 1] - base)
    return fp.wrap_int16(base + ((step * (v & 0x7F) + 64) >> 7))


def softmax16_reference(x: np.ndarray, mult: int, shift: int, exp_lut, recip_lut) -> np.ndarray:
    rows = np.asarray(x, dtype=np.int64).reshape(-1, x.shape[-1])
    diff = rows - rows.max(axis=1, keepdims=True)
    scaled = qmath.multiply_by_quantized_multiplier(diff, mult, shift)
    e = lut_lookup16(np.clip(scaled + 32767, INT16_MIN, INT16_MAX), exp_lut)
    out = np.empty_like(rows)
    for r in range(rows.shape[0]):
        total = int(qmath.wrap_int32(e[r].sum()))
        lz = fp.count_leading_zeros32(total)
        norm = ((total << (lz - 1)) + (1 << 13)) >> 14
        recip = int(lut_lookup16(np.clip(norm - (1 << 15) - (1 << 16), INT16_MIN, INT16_MAX), recip_lut))
        down = 31 - lz
        out[r] = np.clip((e[r] * recip + (1 << (down - 1))) >> down, 0, INT16_MAX)
    return out.reshape(x.shape)


class SoftmaxS16(Kernel):
    """int16 SOFTMAX over the last axis (output 1/32768, zero point 0), exp and reciprocal tables."""

    kinds = (OpKind.SOFTMAX,)

    def supports(self, op: Op, graph: Graph) -> bool:
        return _activations_int16(op, graph)

    def lower(self, op: Op, graph: Graph) -> LoweredOp:
        x, y = graph.tensors[op.inputs[0]], graph.tensors[op.outputs[0]]
        _symmetric(op, graph)
        if x.size != y.size:
            raise _fail(op, f"input shape {x.shape} and output shape {y.shape} differ in size")
        if abs(np.float32(y.scale) - np.float32(1 / 32768)) > np.float32(0.001 / 32768):
            raise _fail(op, f"int16 output must have scale 1/32768, got {y.scale}")
        real = float(np.float32(x.scale)) * float(np.float32(op.attrs.beta)) / (10.0 / 65535.0)
        mult, shift = qmath.quantize_multiplier(real)
        if shift > 30:
            raise _fail(op, f"beta * input scale ({op.attrs.beta} * {x.scale}) is too small")
        depth = x.shape[-1] if x.shape else 1
        rows = x.size // depth
        exp_lut, recip_lut = softmax_luts()
        consts = [ConstArray("exp_lut", exp_lut), ConstArray("recip_lut", recip_lut)]
        args = [Literal(mult), Literal(shift), Literal(rows), Literal(depth), ConstArg(0), ConstArg(1),
                TensorArg(x.name), TensorArg(y.name, const=False)]

        def reference(inputs):
            v = np.asarray(inputs[0]).reshape(rows, depth)
            return [softmax16_reference(v, mult, shift, exp_lut, recip_lut).astype(np.int16).reshape(y.shape)]

        return LoweredOp(op, "tg_softmax_s16", ("tg_softmax_s16.c",), args, consts, reference,
                         notes=dict(input_mult=mult, input_left_shift=shift))


# ---- LOGISTIC / TANH -----------------------------------------------------------------------------

# sigmoid(i / 24) in Q0.16 for i = 0..255, the table TFLM's int16 LOGISTIC and TANH interpolate in
# (published values; not a plain rounding of the function, so they are listed, not computed)
SIGMOID_TABLE_U16 = np.array([
    32768, 33451, 34133, 34813, 35493, 36169, 36843, 37513, 38180, 38841, 39498, 40149, 40794, 41432,
    42064, 42688, 43304, 43912, 44511, 45102, 45683, 46255, 46817, 47369, 47911, 48443, 48964, 49475,
    49975, 50464, 50942, 51409, 51865, 52311, 52745, 53169, 53581, 53983, 54374, 54755, 55125, 55485,
    55834, 56174, 56503, 56823, 57133, 57433, 57724, 58007, 58280, 58544, 58800, 59048, 59288, 59519,
    59743, 59959, 60168, 60370, 60565, 60753, 60935, 61110, 61279, 61441, 61599, 61750, 61896, 62036,
    62172, 62302, 62428, 62549, 62666, 62778, 62886, 62990, 63090, 63186, 63279, 63368, 63454, 63536,
    63615, 63691, 63765, 63835, 63903, 63968, 64030, 64090, 64148, 64204, 64257, 64308, 64357, 64405,
    64450, 64494, 64536, 64576, 64614, 64652, 64687, 64721, 64754, 64786, 64816, 64845, 64873, 64900,
    64926, 64950, 64974, 64997, 65019, 65039, 65060, 65079, 65097, 65115, 65132, 65149, 65164, 65179,
    65194, 65208, 65221, 65234, 65246, 65258, 65269, 65280, 65291, 65301, 65310, 65319, 65328, 65337,
    65345, 65352, 65360, 65367, 65374, 65381, 65387, 65393, 65399, 65404, 65410, 65415, 65420, 65425,
    65429, 65433, 65438, 65442, 65445, 65449, 65453, 65456, 65459, 65462, 65465, 65468, 65471, 65474,
    65476, 65479, 65481, 65483, 65485, 65488, 65489, 65491, 65493, 65495, 65497, 65498, 65500, 65501,
    65503, 65504, 65505, 65507, 65508, 65509, 65510, 65511, 65512, 65513, 65514, 65515, 65516, 65517,
    65517, 65518, 65519, 65520, 65520, 65521, 65522, 65522, 65523, 65523, 65524, 65524, 65525, 65525,
    65526, 65526, 65526, 65527, 65527, 65528, 65528, 65528, 65529, 65529, 65529, 65529, 65530, 65530,
    65530, 65530, 65531, 65531, 65531, 65531, 65531, 65532, 65532, 65532, 65532, 65532, 65532, 65533,
    65533, 65533, 65533, 65533, 65533, 65533, 65533, 65534, 65534, 65534, 65534, 65534, 65534, 65534,
    65534, 65534, 65534, 65535], dtype=np.int64)


def checked_log2(x: float) -> tuple:
    """(round(log2 x), whether x is within 1e-3 of that power of two in log2) in float32 (TFLM)."""
    f32 = np.float32
    lg = f32(math.log(float(f32(x)))) * (f32(1) / f32(math.log(2.0)))
    r = f32(qmath.round_away(float(lg)))
    return int(r), bool(abs(lg - r) < f32(1e-3))


def sigmoid_input_params16(input_scale: float, is_tanh: bool) -> tuple:
    """(input_mult, input_left_shift) bringing int16 inputs to units of 1/(3 * 4096), as TFLM's
    Prepare: a power-of-two scale of exactly 2^-12 (or 2^-11 for TANH) uses the multiplier 3."""
    log2, is_pot = checked_log2(input_scale)
    shift = 12 + log2
    if is_pot and (shift == 0 or (is_tanh and shift == 1)):
        return 3 << shift, 0
    mult, shift = float(np.float32(input_scale)) * 4096.0 * 3.0, 0
    while mult <= 32767.0 / 2.0 and shift <= 30:
        shift += 1
        mult *= 2.0
    return int(mult), shift


def sigmoid16_reference(q, mult: int, shift: int, is_tanh: bool) -> np.ndarray:
    # int32 arithmetic as TFLM's: a large input scale (multiplier above 2^15) wraps the product
    v = qmath.wrap_int32(np.asarray(q, dtype=np.int64) * mult + ((1 << (shift - 1)) if shift > 0 else 0)) >> shift
    mag = np.abs(v)
    frac_bits = 8 if is_tanh else 9
    at = mag >> frac_bits
    lo = SIGMOID_TABLE_U16[np.minimum(at, 254)]
    hi = SIGMOID_TABLE_U16[np.minimum(at, 254) + 1]
    hit = (lo << frac_bits) + (mag & ((1 << frac_bits) - 1)) * (hi - lo)
    if is_tanh:
        acc = np.where(at >= 255, 0xFFFF << 8, hit)
        out = np.where(v >= 0, acc - (1 << 23) + (1 << 7), -acc + (1 << 23) + (1 << 7) - 1) >> 8
    else:
        acc = np.where(at >= 255, 0x7FFF << 10, hit)
        out = np.where(v >= 0, acc + (1 << 9), (1 << 25) - acc + (1 << 9) - 1) >> 10
    return fp.wrap_int16(out)


class SigmoidLikeS16(Kernel):
    """int16 LOGISTIC and TANH (zero points 0, output scale 2^-15)."""

    kinds = (OpKind.LOGISTIC, OpKind.TANH)

    def supports(self, op: Op, graph: Graph) -> bool:
        return _activations_int16(op, graph)

    def lower(self, op: Op, graph: Graph) -> LoweredOp:
        x, y = graph.tensors[op.inputs[0]], graph.tensors[op.outputs[0]]
        _symmetric(op, graph)
        if x.size != y.size:
            raise _fail(op, f"input shape {x.shape} and output shape {y.shape} differ in size")
        log2, is_pot = checked_log2(y.scale)
        if not is_pot or log2 != -15:
            raise _fail(op, f"int16 output must have scale 2^-15, got {y.scale}")
        is_tanh = op.kind == OpKind.TANH
        mult, shift = sigmoid_input_params16(x.scale, is_tanh)
        if not 0 < mult < (1 << 31) or shift > 30:  # TFLM only debug-checks mult <= 2^15 - 1
            raise _fail(op, f"input scale {x.scale} is out of range")
        table = SIGMOID_TABLE_U16.astype(np.uint16)  # emitted as a const uint16_t array
        name = "tg_tanh_s16" if is_tanh else "tg_logistic_s16"
        args = [Literal(mult), Literal(shift), ConstArg(0), Literal(x.size), TensorArg(x.name),
                TensorArg(y.name, const=False)]

        def reference(inputs):
            return [sigmoid16_reference(inputs[0], mult, shift, is_tanh).astype(np.int16).reshape(y.shape)]

        return LoweredOp(op, name, (name + ".c",), args, [ConstArray("sigmoid", table)], reference,
                         notes=dict(input_mult=mult, input_left_shift=shift))


for _kernel in (SoftmaxS16(), SigmoidLikeS16()):
    register(_kernel)
