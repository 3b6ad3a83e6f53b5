"""16x8 lowerings (int16 symmetric activations, int8 weights, int64 biases) of FULLY_CONNECTED,
DEPTHWISE_CONV_2D, AVERAGE_POOL_2D, MAX_POOL_2D, MEAN, SOFTMAX, LOGISTIC, TANH, CONCATENATION and MUL.

Constants are computed the way TFLM's Prepare computes them for int16 tensors; the references follow
TFLM's int16 reference kernels bit for bit. Every `supports` requires int16 activations, so the int8
lowerings registered earlier keep every int8 op. RESHAPE needs nothing here (shape.Reshape aliases
any dtype).
"""
from __future__ import annotations

import ctypes
import ctypes.util
import math

import numpy as np

from ..ir import Activation, Graph, Op, OpKind, Tensor
from ..quant import fixedpoint as fp
from ..quant import qmath
from .base import ConstArg, ConstArray, Kernel, Literal, LoweredOp, TensorArg, register
from .conv import fc_requant, windows
from .elementwise import BinaryOperands
from .int16 import (MAX_SHIFT_64, Requant16, _fail, finish_16x8, is_16x8, requant_16x8, weighted_consts,
                    weighted_tensors)
from .pool import extend4, mean_params, pool_reference

INT16_MIN, INT16_MAX = -(1 << 15), (1 << 15) - 1


def _names(op: Op) -> list:
    return [t for t in op.inputs if t is not None] + list(op.outputs)


def _activations_int16(op: Op, graph: Graph) -> bool:
    """True when every non-constant input and every output of the op is int16."""
    return all(graph.tensors[t].dtype == "int16" for t in _names(op) if not graph.tensors[t].is_const)


def _symmetric(op: Op, graph: Graph, names=None) -> None:
    """int16 activations must be per-tensor quantized with zero point 0 (the 16x8 spec)."""
    for name in names if names is not None else _names(op):
        t = graph.tensors[name]
        if t.dtype != "int16":
            continue
        if t.quant is None or t.quant.per_axis:
            raise _fail(op, f"int16 tensor '{t.name}' needs per-tensor quantization")
        if t.zero_point != 0:
            raise _fail(op, f"int16 tensor '{t.name}' has zero point {t.zero_point}; 16x8 needs 0")


def act_range16(op: Op, y: Tensor) -> tuple:
    """Quantized clamp bounds of the op's fused activation on its int16 output."""
    return qmath.activation_range(op.attrs.activation, y.scale, y.zero_point, INT16_MIN, INT16_MAX)


# ---- FULLY_CONNECTED and DEPTHWISE_CONV_2D: int64 accumulators, tails shared with int16.py ------------


def _weighted_supported(op: Op, graph: Graph) -> bool:
    bias = op.inputs[2] if len(op.inputs) > 2 else None
    return is_16x8(op, graph) and (bias is None or graph.tensors[bias].dtype == "int64")


def _fc_requant(op: Op, x: Tensor, w: Tensor, y: Tensor, channels: int) -> Requant16:
    """Per-channel filters as CONV (double math); a per-tensor filter forms s_in * s_w in float32 first
    (TFLM's FC Prepare), exactly as the int8 FULLY_CONNECTED."""
    if w.quant.per_axis:
        return requant_16x8(op, x, w, y, channels, 0)
    rq = fc_requant(op, x, w, y, channels)
    if int(rq.shift.max()) > MAX_SHIFT_64:
        raise _fail(op, f"rescale s_in * s_w / s_out reaches 2^{int(rq.shift.max())}; the int64 "
                        f"requantize supports shifts up to {MAX_SHIFT_64}")
    lo, hi = act_range16(op, y)
    return Requant16(rq.mult, rq.shift, int(lo), int(hi), False)


class FullyConnectedS16(Kernel):
    """16x8 FULLY_CONNECTED: int64 accumulation, per-tensor or per-channel multipliers."""

    kinds = (OpKind.FULLY_CONNECTED,)

    def supports(self, op: Op, graph: Graph) -> bool:
        return _weighted_supported(op, graph)

    def lower(self, op: Op, graph: Graph) -> LoweredOp:
        x, w, b, y = weighted_tensors(op, graph, nhwc=False)
        if len(w.shape) != 2:
            raise _fail(op, f"weights must be 2-D (out, in), got {w.shape}")
        out_depth, accum = w.shape
        if x.size % accum or y.size != (x.size // accum) * out_depth:
            raise _fail(op, f"input {x.shape} and output {y.shape} do not fit weights {w.shape}")
        batches = x.size // accum
        if w.quant.per_axis and any(z != 0 for z in w.quant.zero_point):
            raise _fail(op, f"per-channel weights '{w.name}' must be symmetric (zero point 0)")
        filter_offset = 0 if w.quant.per_axis else -w.zero_point
        rq = _fc_requant(op, x, w, y, out_depth)
        consts, bias_arg, bias = weighted_consts(rq, w.data, b)
        filt = consts[2].data
        args = [Literal(filter_offset), Literal(rq.act_min), Literal(rq.act_max),
                ConstArg(0), ConstArg(1), Literal(int(rq.per_channel)),
                Literal(batches), Literal(accum), TensorArg(x.name),
                Literal(out_depth), ConstArg(2), bias_arg, TensorArg(y.name, const=False)]

        def reference(inputs):
            xs = np.asarray(inputs[0], dtype=np.int64).reshape(-1, accum)
            acc = xs @ (filt.astype(np.int64) + filter_offset).T
            return [finish_16x8(acc, bias, rq).reshape(y.shape)]

        return LoweredOp(op, "tg_fully_connected_s16", ("tg_fully_connected_s16.c",), args, consts, reference,
                         macs=batches * out_depth * accum, notes={"per_channel": rq.per_channel})


class DepthwiseConv2DS16(Kernel):
    """16x8 DEPTHWISE_CONV_2D: int64 accumulation, per-channel multipliers."""

    kinds = (OpKind.DEPTHWISE_CONV_2D,)

    def supports(self, op: Op, graph: Graph) -> bool:
        return _weighted_supported(op, graph)

    def lower(self, op: Op, graph: Graph) -> LoweredOp:
        x, w, b, y = weighted_tensors(op, graph)
        a = op.attrs
        n, in_h, in_w, in_c = x.shape
        _, out_h, out_w, out_c = y.shape
        one, fh, fw, wc = w.shape
        m = a.depth_multiplier
        if one != 1 or wc != out_c or out_c != in_c * m:
            raise _fail(op, f"filter {w.shape} with depth multiplier {m} does not fit input {x.shape}"
                            f" and output {y.shape}")
        rq = requant_16x8(op, x, w, y, out_c, 3)
        consts, bias_arg, bias = weighted_consts(rq, w.data, b)
        filt = consts[2].data
        args = [Literal(a.stride_h), Literal(a.stride_w), Literal(a.dilation_h), Literal(a.dilation_w),
                Literal(a.padding.top), Literal(a.padding.left), Literal(m),
                Literal(rq.act_min), Literal(rq.act_max), ConstArg(0), ConstArg(1), Literal(int(rq.per_channel)),
                Literal(n), Literal(in_h), Literal(in_w), Literal(in_c), TensorArg(x.name),
                Literal(fh), Literal(fw), ConstArg(2), bias_arg,
                Literal(out_h), Literal(out_w), TensorArg(y.name, const=False)]

        def reference(inputs):
            win = windows(np.asarray(inputs[0], dtype=np.int64), fh, fw, a, out_h, out_w)
            win = np.repeat(win, m, axis=-1)
            acc = np.einsum("nyxhwc,hwc->nyxc", win, filt[0].astype(np.int64))
            return [finish_16x8(acc, bias, rq)]

        return LoweredOp(op, "tg_depthwise_conv2d_s16", ("tg_depthwise_conv2d_s16.c",), args, consts,
                         reference, macs=n * out_h * out_w * out_c * fh * fw,
                         notes={"per_channel": rq.per_channel})


# ---- pooling and MEAN ----------------------------------------------------------------------------


class Pool2DS16(Kernel):
    """int16 AVERAGE_POOL_2D / MAX_POOL_2D (NHWC, explicit padding)."""

    kinds = (OpKind.AVERAGE_POOL_2D, OpKind.MAX_POOL_2D)

    def supports(self, op: Op, graph: Graph) -> bool:
        return _activations_int16(op, graph) and len(graph.tensors[op.inputs[0]].shape) == 4

    def lower(self, op: Op, graph: Graph) -> LoweredOp:
        a = op.attrs
        x, y = graph.tensors[op.inputs[0]], graph.tensors[op.outputs[0]]
        _symmetric(op, graph)
        n, in_h, in_w, c = x.shape
        out_h, out_w = y.shape[1], y.shape[2]
        if y.shape[0] != n or y.shape[3] != c:
            raise _fail(op, f"output shape {y.shape} does not match input {x.shape} in batch or channels")
        for oy, ox in ((0, 0), (out_h - 1, out_w - 1)):
            y0, x0 = oy * a.stride_h - a.padding.top, ox * a.stride_w - a.padding.left
            if min(y0 + a.filter_h, in_h) <= max(y0, 0) or min(x0 + a.filter_w, in_w) <= max(x0, 0):
                raise _fail(op, "a pooling window lies entirely in the padding")
        act = act_range16(op, y)
        fn = "tg_avgpool_s16" if op.kind == OpKind.AVERAGE_POOL_2D else "tg_maxpool_s16"
        args = [Literal(v) for v in (a.stride_h, a.stride_w, a.padding.top, a.padding.left,
                                     a.filter_h, a.filter_w, act[0], act[1], n, in_h, in_w, c)]
        args += [TensorArg(x.name), Literal(out_h), Literal(out_w), TensorArg(y.name, const=False)]

        def reference(inputs):
            return [pool_reference(op.kind, np.asarray(inputs[0]), (out_h, out_w), a, act, np.int16)]

        return LoweredOp(op, fn, (fn + ".c",), args, [], reference)


class MeanS16(Kernel):
    """int16 MEAN over any axes of a tensor of rank <= 4 (TFLM's integer mean, int16 clamp)."""

    kinds = (OpKind.MEAN,)

    def supports(self, op: Op, graph: Graph) -> bool:
        return _activations_int16(op, graph) and len(graph.tensors[op.inputs[0]].shape) <= 4

    def lower(self, op: Op, graph: Graph) -> LoweredOp:
        x, y = graph.tensors[op.inputs[0]], graph.tensors[op.outputs[0]]
        _symmetric(op, graph, [x.name, y.name])
        rank = len(x.shape)
        dims = extend4(x.shape)
        reduced = [0] * 4
        for ax in {int(ax) % rank for ax in op.attrs.axes} if rank else ():
            reduced[ax + 4 - rank] = 1
        count = int(np.prod([d for d, r in zip(dims, reduced) if r], dtype=np.int64))
        if int(np.prod([d for d, r in zip(dims, reduced) if not r], dtype=np.int64)) != y.size:
            raise _fail(op, f"output shape {y.shape} does not match input {x.shape} reduced over "
                            f"axes {tuple(op.attrs.axes)}")
        if count >= 1 << 16:
            raise _fail(op, f"averaging {count} int16 values could overflow the int32 sum")
        requant, mult, shift = mean_params(x.scale, 0, y.scale, 0, count)
        args = [Literal(r) for r in reduced] + [Literal(v) for v in (requant, 0, 0, mult, shift)]
        args += [Literal(d) for d in dims] + [TensorArg(x.name), TensorArg(y.name, const=False)]
        axes = tuple(k for k in range(4) if reduced[k])

        def reference(inputs):
            s = np.asarray(inputs[0], dtype=np.int64).reshape(dims).sum(axis=axes)
            if requant:
                out = qmath.requantize(s, mult, shift, 0, INT16_MIN, INT16_MAX)
            else:
                out = np.where(s >= 0, s // count, -((-s) // count))
            return [np.asarray(out).astype(np.int16).reshape(y.shape)]

        return LoweredOp(op, "tg_mean_s16", ("tg_mean_s16.c",), args, [], reference,
                         notes={"requantize": bool(requant)})


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
    v = (np.asarray(q, dtype=np.int64) * mult + ((1 << (shift - 1)) if shift > 0 else 0)) >> shift
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
        if not 0 < mult <= INT16_MAX or shift > 30:
            raise _fail(op, f"input scale {x.scale} is out of range")
        table = SIGMOID_TABLE_U16.astype(np.uint16)  # emitted as a const uint16_t array
        name = "tg_tanh_s16" if is_tanh else "tg_logistic_s16"
        args = [Literal(mult), Literal(shift), ConstArg(0), Literal(x.size), TensorArg(x.name),
                TensorArg(y.name, const=False)]

        def reference(inputs):
            return [sigmoid16_reference(inputs[0], mult, shift, is_tanh).astype(np.int16).reshape(y.shape)]

        return LoweredOp(op, name, (name + ".c",), args, [ConstArray("sigmoid", table)], reference,
                         notes=dict(input_mult=mult, input_left_shift=shift))


# ---- CONCATENATION and MUL -----------------------------------------------------------------------


class ConcatS16(Kernel):
    """int16 CONCATENATION along one axis (a copy; like TFLM, inputs are not requantized)."""

    kinds = (OpKind.CONCATENATION,)

    def supports(self, op: Op, graph: Graph) -> bool:
        return all(graph.tensors[t].dtype == "int16" for t in _names(op))

    def lower(self, op: Op, graph: Graph) -> LoweredOp:
        a = op.attrs
        if a.activation != Activation.NONE:
            raise _fail(op, f"fused activation {a.activation.value} is not supported")
        y = graph.tensors[op.outputs[0]]
        rank = len(y.shape)
        if rank > 4 or not 0 <= a.axis < rank:
            raise _fail(op, f"axis {a.axis} of a rank {rank} tensor is not supported")
        tensors = [graph.tensors[t] for t in op.inputs]
        for t in tensors:
            if len(t.shape) != rank or any(t.shape[k] != y.shape[k] for k in range(rank) if k != a.axis):
                raise _fail(op, f"input '{t.name}' {list(t.shape)} does not fit output {list(y.shape)}")
        if sum(t.shape[a.axis] for t in tensors) != y.shape[a.axis]:
            raise _fail(op, f"input sizes along axis {a.axis} do not add up to {y.shape[a.axis]}")
        outer = int(np.prod(y.shape[:a.axis], dtype=np.int64))
        inner = np.array([int(np.prod(t.shape[a.axis:], dtype=np.int64)) for t in tensors], np.int32)
        consts = [ConstArray("inner", inner)]
        pointers = []
        for i, t in enumerate(tensors):
            if t.is_const:
                pointers.append(ConstArg(len(consts)))
                consts.append(ConstArray(f"in{i}", np.asarray(t.data, np.int16).reshape(-1)))
            else:
                pointers.append(TensorArg(op.inputs[i]))
        args = [Literal(outer), Literal(int(inner.sum())), Literal(len(tensors)), ConstArg(0),
                TensorArg(y.name, const=False)] + pointers
        axis = a.axis

        def reference(arrays):
            it = iter(arrays)
            parts = [np.asarray(t.data if t.is_const else next(it), np.int16).reshape(t.shape) for t in tensors]
            return [np.concatenate(parts, axis=axis)]

        return LoweredOp(op, "tg_concat_s16", ("tg_concat_s16.c",), args, consts, reference)


class MulS16(Kernel):
    """int16 MUL with broadcasting: one multiplier scale1 * scale2 / scale_out (double), no offsets."""

    kinds = (OpKind.MUL,)

    def supports(self, op: Op, graph: Graph) -> bool:
        return all(graph.tensors[t].dtype == "int16" for t in _names(op))

    def lower(self, op: Op, graph: Graph) -> LoweredOp:
        _symmetric(op, graph)
        ops = BinaryOperands(op, graph)  # constant operands are stored as int16
        t1, t2 = ops.tensors
        y = graph.tensors[op.outputs[0]]
        mult, shift = qmath.quantize_multiplier(t1.scale * t2.scale / y.scale)
        act = act_range16(op, y)
        args = [Literal(v) for v in (mult, shift, act[0], act[1])] + ops.c_operands()
        args.append(TensorArg(y.name, const=False))

        def reference(inputs):
            x1, x2 = ops.values(inputs)
            return [qmath.requantize(x1 * x2, mult, shift, 0, act[0], act[1]).astype(np.int16)]

        return LoweredOp(op, "tg_mul_s16", ("tg_mul_s16.c",), args, ops.const_arrays, reference)


for _kernel in (FullyConnectedS16(), DepthwiseConv2DS16(), Pool2DS16(), MeanS16(), SoftmaxS16(),
                SigmoidLikeS16(), ConcatS16(), MulS16()):
    register(_kernel)
