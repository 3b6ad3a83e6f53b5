"""16x8 one-input ops: LEAKY_RELU, QUANTIZE, DEQUANTIZE and PAD (STRIDED_SLICE: lower/layout.py)."""
from __future__ import annotations


import numpy as np

from tinygen.ir import Graph, Op, OpKind, Tensor
from tinygen.quant import qmath
from tinygen.lower.base import Kernel, Literal, LoweredOp, TensorArg, register
from tinygen.lower.int16 import _dtypes, _fail
from tinygen.lower.pool import extend4

INT16_MIN, INT16_MAX = -(1 << 15), (1 << 15) - 1
ADDSUB_LEFT_SHIFT_S16 = 15  # int16 ADD/SUB: inputs are scaled up by 2^15 before rescaling (TFLM)
MAX_SHIFT_64 = 14  # the int64 requantize shifts right by 15 - shift, which must stay >= 1


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


for _kernel in (LeakyReluS16(), QuantizeS16(), DequantizeS16(), PadS16()):
    register(_kernel)
