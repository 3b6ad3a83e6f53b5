"""Lowering of int8 ADD, SUB and MUL (numpy broadcasting, up to 4-D) to tg_add_s8.c / tg_mul_s8.c.

Multipliers are computed exactly as the pinned TFLM does: ADD, SUB and MUL all in double. (Published
TFLM sources form SUB's in float32; the pinned interpreter matches double only, on every case where the
two differ: tests/kernels/test_kernels_misc.py::test_tflm_addsub_scale_sweep.) Constant operands keep their dtype.
"""
from __future__ import annotations

import numpy as np

from tinygen.errors import UnsupportedError
from tinygen.ir import Graph, Op, OpKind, Tensor
from tinygen.quant import qmath
from tinygen.lower.base import ConstArg, ConstArray, Kernel, Literal, LoweredOp, TensorArg, register
from tinygen.lower.pool import all_int8, extend4, fused_range

LEFT_SHIFT = 20  # int8 ADD/SUB: inputs are scaled up by 2^20 before rescaling


def broadcast_strides(in_shape: tuple, out4: tuple) -> list:
    """Element strides of an input addressed with the 4-D output index (0 where broadcast)."""
    shape4 = extend4(in_shape)
    strides, step = [0] * 4, 1
    for k in range(3, -1, -1):
        if shape4[k] != 1:
            if shape4[k] != out4[k]:
                raise UnsupportedError(f"shape {tuple(in_shape)} does not broadcast to {out4}")
            strides[k] = step
        step *= shape4[k]
    return strides


def addsub_multipliers(kind: OpKind, s1: float, s2: float, s_out: float) -> tuple:
    """Real multipliers (in1, in2, out) of int8 ADD or SUB, in double as TFLM forms them for both ops
    (`kind` is kept for callers; ADD and SUB agree)."""
    s1, s2, s_out = float(s1), float(s2), float(s_out)
    twice = 2.0 * max(s1, s2)
    return s1 / twice, s2 / twice, twice / ((1 << LEFT_SHIFT) * s_out)


def smaller_than_one(real: float, what: str, op: Op) -> tuple:
    """quantize_multiplier for a multiplier TFLM requires to be in (0, 1)."""
    if not 0.0 < real < 1.0:
        raise UnsupportedError(f"layer '{op.name}' ({op.kind.value}): {what} rescale {real:g} is "
                               f"outside (0, 1); TFLM rejects these scales")
    return qmath.quantize_multiplier(real)


class BinaryOperands:
    """The two inputs of a broadcasting op: C arguments, const arrays, reference feeding."""

    def __init__(self, op: Op, graph: Graph):
        if len(op.inputs) != 2:
            raise UnsupportedError(f"layer '{op.name}' ({op.kind.value}): expects 2 inputs")
        self.tensors = [graph.tensors[t] for t in op.inputs]
        out: Tensor = graph.tensors[op.outputs[0]]
        try:
            self.out4 = extend4(out.shape)
            bshape = np.broadcast_shapes(*(t.shape for t in self.tensors))
            if tuple(bshape) != tuple(out.shape):
                raise UnsupportedError(f"inputs broadcast to {tuple(bshape)}, not {out.shape}")
            self.strides = [broadcast_strides(t.shape, self.out4) for t in self.tensors]
        except (UnsupportedError, ValueError) as exc:
            raise UnsupportedError(f"layer '{op.name}' ({op.kind.value}): {exc}") from None
        self.out_shape = out.shape
        self.const_arrays: list = []
        self.pointers: list = []
        for i, t in enumerate(self.tensors):
            if t.is_const:
                self.pointers.append(ConstArg(len(self.const_arrays)))
                data = np.asarray(t.data, dtype=np.dtype(t.dtype)).reshape(-1)  # int8, int16, ...
                self.const_arrays.append(ConstArray(f"in{i + 1}", data))
            else:
                self.pointers.append(TensorArg(op.inputs[i]))

    def c_operands(self) -> list:
        """Output dims, then (strides, pointer) of input 1 and of input 2."""
        args = [Literal(d) for d in self.out4]
        for strides, ptr in zip(self.strides, self.pointers):
            args += [Literal(s) for s in strides] + [ptr]
        return args

    def values(self, inputs: list) -> tuple:
        """Both operands as int64 arrays broadcast to the output shape (consts filled in)."""
        it = iter(inputs)
        vals = []
        for t in self.tensors:
            v = t.data if t.is_const else next(it)
            vals.append(np.broadcast_to(np.asarray(v, dtype=np.int64).reshape(t.shape), self.out_shape))
        return vals[0], vals[1]


class AddSubS8(Kernel):
    """int8 ADD / SUB with TFLM's 20-bit left shift and three multipliers."""

    kinds = (OpKind.ADD, OpKind.SUB)

    def supports(self, op: Op, graph: Graph) -> bool:
        return all_int8(op, graph)

    def lower(self, op: Op, graph: Graph) -> LoweredOp:
        ops = BinaryOperands(op, graph)
        t1, t2 = ops.tensors
        out = graph.tensors[op.outputs[0]]
        reals = addsub_multipliers(op.kind, t1.scale, t2.scale, out.scale)
        (m1, s1), (m2, s2), (mo, so) = (smaller_than_one(r, w, op)
                                        for r, w in zip(reals, ("input 1", "input 2", "output")))
        off1, off2, out_zp = -t1.zero_point, -t2.zero_point, out.zero_point
        act = fused_range(op, graph)
        sub = op.kind == OpKind.SUB
        params = (off1, m1, s1, off2, m2, s2, LEFT_SHIFT, out_zp, mo, so, act[0], act[1])
        args = [Literal(v) for v in params] + ops.c_operands() + [TensorArg(op.outputs[0], const=False)]

        def reference(inputs: list) -> list:
            x1, x2 = ops.values(inputs)
            a = qmath.multiply_by_quantized_multiplier((x1 + off1) << LEFT_SHIFT, m1, s1)
            b = qmath.multiply_by_quantized_multiplier((x2 + off2) << LEFT_SHIFT, m2, s2)
            raw = qmath.wrap_int32(a - b if sub else a + b)
            return [qmath.requantize(raw, mo, so, out_zp, act[0], act[1]).astype(np.int8)]

        fn = "tg_sub_s8" if sub else "tg_add_s8"
        return LoweredOp(op, fn, (fn + ".c",), args, ops.const_arrays, reference,
                         macs=0)  # MACs count multiply-accumulates with weights only


class MulS8(Kernel):
    """int8 MUL: one multiplier scale1 * scale2 / scale_out (double math, as TFLM)."""

    kinds = (OpKind.MUL,)

    def supports(self, op: Op, graph: Graph) -> bool:
        return all_int8(op, graph)

    def lower(self, op: Op, graph: Graph) -> LoweredOp:
        ops = BinaryOperands(op, graph)
        t1, t2 = ops.tensors
        out = graph.tensors[op.outputs[0]]
        mult, shift = qmath.quantize_multiplier(t1.scale * t2.scale / out.scale)
        off1, off2, out_zp = -t1.zero_point, -t2.zero_point, out.zero_point
        act = fused_range(op, graph)
        params = (off1, off2, out_zp, mult, shift, act[0], act[1])
        args = [Literal(v) for v in params] + ops.c_operands() + [TensorArg(op.outputs[0], const=False)]

        def reference(inputs: list) -> list:
            x1, x2 = ops.values(inputs)
            prod = (x1 + off1) * (x2 + off2)
            return [qmath.requantize(prod, mult, shift, out_zp, act[0], act[1]).astype(np.int8)]

        return LoweredOp(op, "tg_mul_s8", ("tg_mul_s8.c",), args, ops.const_arrays, reference,
                         macs=0)  # MACs count multiply-accumulates with weights only


register(AddSubS8())
register(MulS8())
