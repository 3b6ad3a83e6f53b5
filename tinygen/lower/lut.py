"""Lowering of the LUT op (tinygen/ops/lut.py): the float function tabulated on the input codes.

int8: out = table[in + 128], 256 entries (tg_lut_s8): each entry is the float function of the
dequantized input code, quantized with the output's parameters (round half away from zero, clamped),
so the table is the best int8 answer for every input.
int16: 513 entries, entry i at input code -32768 + 128 i (tg_lut_interp_s16), each nudged by half the
interpolation error at its interval's midpoint (the error is then spread to both sides, as TFLM's int16
tables do); inputs between samples are interpolated linearly in int32.
"""
from __future__ import annotations

import numpy as np

from tinygen.errors import UnsupportedError
from tinygen.ir import Graph, Op, OpKind
from tinygen.lower.base import ConstArg, ConstArray, Kernel, Literal, LoweredOp, TensorArg, register
from tinygen.ops.lut import evaluate

_STEP = 128  # int16 input codes per table interval
_ENTRIES = 65536 // _STEP + 1


def _quantize(y: np.ndarray, scale: float, zero_point: int, lo: int, hi: int) -> np.ndarray:
    """round(y / scale) + zero_point, half away from zero, clamped to [lo, hi] (+-inf clamps, NaN is 0)."""
    v = np.clip(_codes(y, scale, zero_point), lo - 1.0, hi + 1.0)
    return np.clip(np.sign(v) * np.floor(np.abs(v) + 0.5), lo, hi).astype(np.int64)


def _codes(y, scale: float, zero_point: int) -> np.ndarray:
    """y / scale + zero_point as float64, +-inf kept finite (+-1e9) and NaN 0."""
    with np.errstate(over="ignore", invalid="ignore"):  # a huge finite y (sinh, exp) saturates like +-inf
        v = np.asarray(y, np.float64) / float(scale) + zero_point
    return np.nan_to_num(v, nan=0.0, posinf=1e9, neginf=-1e9)


def table_s8(attrs, x_scale, x_zp, y_scale, y_zp) -> np.ndarray:
    """The 256 int8 outputs for the inputs -128 .. 127."""
    q = np.arange(-128, 128, dtype=np.float64)
    return _quantize(evaluate(attrs, float(x_scale) * (q - x_zp)), y_scale, y_zp, -128, 127).astype(np.int8)


def table_s16(attrs, x_scale, x_zp, y_scale, y_zp) -> np.ndarray:
    """The 513 int16 samples (entry i at input code -32768 + 128 i), midpoint-nudged."""
    codes = -32768.0 + _STEP * np.arange(_ENTRIES, dtype=np.float64)
    real = np.clip(_codes(evaluate(attrs, float(x_scale) * (codes - x_zp)), y_scale, y_zp), -32768, 32767)
    mid = _codes(evaluate(attrs, float(x_scale) * (codes[:-1] + _STEP / 2 - x_zp)), y_scale, y_zp)
    err = (real[:-1] + real[1:]) / 2 - np.clip(mid, -32768, 32767)  # interpolation error at each midpoint
    nudge = np.zeros(_ENTRIES)
    nudge[:-1] += err / 4
    nudge[1:] += err / 4
    return _quantize(real - nudge, 1.0, 0, -32768, 32767).astype(np.int16)


def lookup_s16(table: np.ndarray, v) -> np.ndarray:
    """tg_lut_interp_s16 in NumPy."""
    u = np.asarray(v, dtype=np.int64) + 32768
    i = u >> 7
    t = table.astype(np.int64)
    base = t[i]
    return (base + (((t[i + 1] - base) * (u & 127) + 64) >> 7)).astype(np.int16)


class LutKernel(Kernel):
    """LUT int8 -> int8 (tg_lut_s8) and int16 -> int16 (tg_lut_interp_s16), in place."""

    kinds = (OpKind.LUT,)

    def supports(self, op: Op, graph: Graph) -> bool:
        x, y = graph.tensors[op.inputs[0]], graph.tensors[op.outputs[0]]
        return (x.dtype, y.dtype) in (("int8", "int8"), ("int16", "int16"))

    def lower(self, op: Op, graph: Graph) -> LoweredOp:
        x, y = graph.tensors[op.inputs[0]], graph.tensors[op.outputs[0]]
        for t in (x, y):
            if t.quant is None or t.quant.per_axis:
                raise UnsupportedError(f"layer '{op.name}' (LUT): tensor '{t.name}' needs per-tensor "
                                       "quantization")
        params = (x.scale, x.zero_point, y.scale, y.zero_point)
        args = [Literal(x.size), ConstArg(0), TensorArg(x.name), TensorArg(y.name, const=False)]
        if x.dtype == "int8":
            table = table_s8(op.attrs, *params)

            def reference(ins):
                return [table[np.asarray(ins[0], dtype=np.int64) + 128].reshape(y.shape)]
            fn = "tg_lut_s8"
        else:
            table = table_s16(op.attrs, *params)

            def reference(ins):
                return [lookup_s16(table, ins[0]).reshape(y.shape)]
            fn = "tg_lut_interp_s16"
        return LoweredOp(op, fn, (fn + ".c",), args, [ConstArray("table", table)], reference,
                         inplace_of=x.name, notes=dict(function=op.attrs.function))


register(LutKernel())
