"""Lowering of the one-input math ops (ABS, RSQRT, ELU) to runtime_c/math/.

int8: every one is a 256-entry table built here with TFLM's own arithmetic (lower/math_ref.py) and
applied by tg_lut_s8; the exhaustive kernel test proves each table equals TFLM on all 256 inputs.
int16: ABS and RSQRT run TFLM's integer arithmetic per element (tg_abs_s16, tg_rsqrt_s16). Multipliers
are formed in double from the float32 scales as TFLM's Prepare does: s_in / s_out for ABS (skipped
when the scales are equal), 1 / (sqrt(s_in) * s_out) for RSQRT. All run in place over their input.
"""
from __future__ import annotations

import math

import numpy as np

from tinygen.errors import UnsupportedError
from tinygen.ir import Graph, Op, OpKind
from tinygen.lower import math_ref
from tinygen.lower.base import ConstArg, ConstArray, Kernel, Literal, LoweredOp, TensorArg, register
from tinygen.quant import qmath


def fail(op: Op, why: str) -> UnsupportedError:
    return UnsupportedError(f"layer '{op.name}' ({op.kind.value}): {why}")


def io(op: Op, graph: Graph) -> tuple:
    return graph.tensors[op.inputs[0]], graph.tensors[op.outputs[0]]


def quantized(op: Op, *tensors) -> None:
    """Per-tensor quantization on every tensor; int16 zero points 0 (TFLM's int16 rule)."""
    for t in tensors:
        if t.quant is None or t.quant.per_axis:
            raise fail(op, f"tensor '{t.name}' needs per-tensor quantization")
        if t.dtype == "int16" and t.zero_point != 0:
            raise fail(op, f"int16 tensor '{t.name}' has zero point {t.zero_point}; TFLM requires 0")


def f32(v) -> float:
    return float(np.float32(v))


def _unary_types(op: Op, graph: Graph) -> tuple:
    x, y = io(op, graph)
    return x.dtype, y.dtype


def _table_op(op: Op, graph: Graph, table: np.ndarray, notes: dict) -> LoweredOp:
    """tg_lut_s8(size, table, input, output): out[i] = table[in[i] + 128]."""
    x, y = io(op, graph)
    table = np.asarray(table, dtype=np.int64).astype(np.int8)
    args = [Literal(x.size), ConstArg(0), TensorArg(x.name), TensorArg(y.name, const=False)]

    def reference(ins: list) -> list:
        return [table[np.asarray(ins[0], dtype=np.int64) + 128].reshape(y.shape)]

    return LoweredOp(op, "tg_lut_s8", ("tg_lut_s8.c",), args, [ConstArray("table", table)], reference,
                     inplace_of=x.name, notes=notes)


def abs_params(x, y) -> tuple:
    rescale = f32(x.scale) != f32(y.scale)
    mult, shift = qmath.quantize_multiplier(f32(x.scale) / f32(y.scale)) if rescale else (0, 0)
    return rescale, mult, shift


def rsqrt_params(op: Op, x, y) -> tuple:
    mult, shift = qmath.quantize_multiplier(1.0 / (math.sqrt(f32(x.scale)) * f32(y.scale)))
    if shift - math_ref.RSQRT_SHIFT < -31:
        raise fail(op, f"scales {x.scale} -> {y.scale} rescale by less than 2^-31")
    return mult, shift


class MathLutS8(Kernel):
    """ABS, RSQRT, ELU int8 -> int8 as one table lookup."""

    kinds = (OpKind.ABS, OpKind.RSQRT, OpKind.ELU)

    def supports(self, op: Op, graph: Graph) -> bool:
        return _unary_types(op, graph) == ("int8", "int8")

    def lower(self, op: Op, graph: Graph) -> LoweredOp:
        x, y = io(op, graph)
        quantized(op, x, y)
        q = np.arange(-128, 128, dtype=np.int64)
        if op.kind == OpKind.ABS:
            rescale, mult, shift = abs_params(x, y)
            table = math_ref.abs_reference(q, x.zero_point, rescale, mult, shift, y.zero_point, "int8")
            notes = dict(mult=mult, shift=shift, rescale=rescale)
        elif op.kind == OpKind.RSQRT:
            mult, shift = rsqrt_params(op, x, y)
            table = math_ref.rsqrt_reference(q, x.zero_point, mult, shift, y.zero_point, "int8")
            notes = dict(mult=mult, shift=shift)
        else:
            table = math_ref.elu_table(x.scale, x.zero_point, y.scale, y.zero_point)
            notes = {}
        return _table_op(op, graph, table, notes)


class MathS16(Kernel):
    """ABS and RSQRT int16 -> int16 (zero points 0) in TFLM's integer arithmetic."""

    kinds = (OpKind.ABS, OpKind.RSQRT)

    def supports(self, op: Op, graph: Graph) -> bool:
        return _unary_types(op, graph) == ("int16", "int16")

    def lower(self, op: Op, graph: Graph) -> LoweredOp:
        x, y = io(op, graph)
        quantized(op, x, y)
        if op.kind == OpKind.ABS:
            rescale, mult, shift = abs_params(x, y)
            params = [int(rescale), mult, shift]

            def func(v):
                return math_ref.abs_reference(v, 0, rescale, mult, shift, 0, "int16")
        else:
            mult, shift = rsqrt_params(op, x, y)
            params = [mult, shift]

            def func(v):
                return math_ref.rsqrt_reference(v, 0, mult, shift, 0, "int16")
        fn = f"tg_{op.kind.value.lower()}_s16"
        args = [Literal(p) for p in params] + [Literal(x.size), TensorArg(x.name), TensorArg(y.name, const=False)]

        def reference(ins: list) -> list:
            return [func(np.asarray(ins[0])).astype(np.int16).reshape(y.shape)]

        return LoweredOp(op, fn, (fn + ".c",), args, [], reference, inplace_of=x.name,
                         notes=dict(mult=mult, shift=shift))


register(MathLutS8())
register(MathS16())
