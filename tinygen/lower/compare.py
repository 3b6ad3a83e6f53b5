"""Lowering of the comparisons, SELECT_V2 and the logical ops to runtime_c/compare/.

Comparisons (TFLM ComparisonWithScaling): each input becomes MBQM((x - zp) << 8, m, e) with (m, e) its own
scale as a Q0.31 multiplier (TFLM requires scales below one), and the two results are compared; bool inputs
(EQUAL, NOT_EQUAL) compare as stored. bool tensors hold 0 or 1 in one byte (uint8_t in C).
SELECT_V2 copies the stored x or y value (no requantization, as TFLM). All operands are addressed with
the 4-D broadcast walk of ADD (lower/elementwise.py); constants are emitted as const arrays.
"""
from __future__ import annotations

import numpy as np

from tinygen.errors import UnsupportedError
from tinygen.ir import Graph, Op, OpKind
from tinygen.lower.base import ConstArg, ConstArray, Kernel, Literal, LoweredOp, TensorArg, register
from tinygen.lower.elementwise import BinaryOperands
from tinygen.lower.math import f32, fail
from tinygen.quant import qmath

COMPARE_LEFT_SHIFT = 8
OP_CODES = {OpKind.EQUAL: 0, OpKind.NOT_EQUAL: 1, OpKind.LESS: 2, OpKind.LESS_EQUAL: 3, OpKind.GREATER: 4,
            OpKind.GREATER_EQUAL: 5}
_PICK = {OpKind.EQUAL: np.equal, OpKind.NOT_EQUAL: np.not_equal, OpKind.LESS: np.less,
         OpKind.LESS_EQUAL: np.less_equal, OpKind.GREATER: np.greater, OpKind.GREATER_EQUAL: np.greater_equal}
# (kind, input dtype) pairs the pinned TFLM runs (its int16 GREATER sets every output false: refused)
SUPPORTED = {(k, "int8") for k in OP_CODES} | {(OpKind.EQUAL, "bool"), (OpKind.NOT_EQUAL, "bool")}
_SUFFIX = {"int8": "s8", "int16": "s16", "bool": "bool"}


def _types(op: Op, graph: Graph) -> tuple:
    return tuple(graph.tensors[t].dtype for t in list(op.inputs) + list(op.outputs))


def bytes_for_c(arrays: list) -> list:
    """bool constants as uint8 0 / 1 (C has no bool tensors here)."""
    return [ConstArray(a.suffix, a.data.astype(np.uint8)) if a.data.dtype == np.bool_ else a for a in arrays]


def compare_params(op: Op, t) -> tuple:
    """(offset, multiplier, shift) rescaling one quantized input (TFLM QuantizeMultiplierSmallerThanOneExp)."""
    if t.quant is None or t.quant.per_axis:
        raise fail(op, f"tensor '{t.name}' needs per-tensor quantization")
    if not 0.0 < f32(t.scale) < 1.0:
        raise fail(op, f"input '{t.name}' has scale {t.scale}; TFLM compares inputs with scales below 1 only")
    mult, shift = qmath.quantize_multiplier(f32(t.scale))
    return -t.zero_point, mult, shift


class CompareKernel(Kernel):
    """EQUAL .. GREATER_EQUAL on int8 (rescaled) and bool (as stored) inputs -> bool."""

    kinds = tuple(OP_CODES)

    def supports(self, op: Op, graph: Graph) -> bool:
        types = _types(op, graph)
        return types[2] == "bool" and types[0] == types[1] and (op.kind, types[0]) in SUPPORTED

    def lower(self, op: Op, graph: Graph) -> LoweredOp:
        ops = BinaryOperands(op, graph)
        t1, t2 = ops.tensors
        dtype = t1.dtype
        pick = _PICK[op.kind]
        if dtype == "bool":
            head = [Literal(OP_CODES[op.kind])]

            def scaled(v, params):
                return v
            p1 = p2 = None
        else:
            p1, p2 = compare_params(op, t1), compare_params(op, t2)
            head = [Literal(OP_CODES[op.kind])] + [Literal(v) for v in p1 + p2]

            def scaled(v, params):
                off, mult, shift = params
                return qmath.multiply_by_quantized_multiplier((v + off) << COMPARE_LEFT_SHIFT, mult, shift)
        args = head + ops.c_operands() + [TensorArg(op.outputs[0], const=False)]

        def reference(inputs: list) -> list:
            a, b = ops.values(inputs)
            return [pick(scaled(a, p1), scaled(b, p2))]

        fn = f"tg_compare_{_SUFFIX[dtype]}"
        return LoweredOp(op, fn, (fn + ".c",), args, bytes_for_c(ops.const_arrays), reference)


def strides_for(in_shape: tuple, out_full: tuple) -> list:
    """Element strides of an input addressed with the output index of rank len(out_full) (0 where broadcast)."""
    rank = len(out_full)
    shape = (1,) * (rank - len(in_shape)) + tuple(int(d) for d in in_shape)
    strides, step = [0] * rank, 1
    for k in range(rank - 1, -1, -1):
        if shape[k] != 1:
            if shape[k] != out_full[k]:
                raise UnsupportedError(f"shape {tuple(in_shape)} does not broadcast to {out_full}")
            strides[k] = step
        step *= shape[k]
    return strides


class Operands:
    """Any number of broadcast operands: (strides, pointer) C arguments, const arrays, reference values.
    `rank` is the kernel's loop depth (4, or 5 for SELECT_V2 as TFLM's BroadcastSelect5DSlow)."""

    def __init__(self, op: Op, graph: Graph, rank: int = 4):
        self.tensors = [graph.tensors[t] for t in op.inputs]
        out = graph.tensors[op.outputs[0]]
        self.out_shape = tuple(out.shape)
        if len(self.out_shape) > rank:
            raise fail(op, f"output rank {len(self.out_shape)} > {rank}")
        self.out4 = (1,) * (rank - len(self.out_shape)) + tuple(int(d) for d in self.out_shape)
        try:
            self.strides = [strides_for(t.shape, self.out4) for t in self.tensors]
        except UnsupportedError as exc:
            raise fail(op, str(exc)) from None
        self.const_arrays, self.pointers = [], []
        for i, t in enumerate(self.tensors):
            if t.is_const:
                data = np.asarray(t.data, dtype=np.dtype(t.dtype)).reshape(-1)
                self.pointers.append(ConstArg(len(self.const_arrays)))
                self.const_arrays.append(ConstArray(f"in{i + 1}", data))
            else:
                self.pointers.append(TensorArg(op.inputs[i]))
        self.const_arrays = bytes_for_c(self.const_arrays)

    def c_operands(self) -> list:
        args = [Literal(d) for d in self.out4]
        for strides, ptr in zip(self.strides, self.pointers):
            args += [Literal(s) for s in strides] + [ptr]
        return args

    def values(self, inputs: list) -> list:
        it = iter(inputs)
        return [np.broadcast_to(np.asarray(t.data if t.is_const else next(it)).reshape(t.shape), self.out_shape)
                for t in self.tensors]


class SelectKernel(Kernel):
    """SELECT_V2: bool condition, int8 or int16 x and y, with broadcasting up to rank 5."""

    kinds = (OpKind.SELECT_V2,)

    def supports(self, op: Op, graph: Graph) -> bool:
        return _types(op, graph) in (("bool", "int8", "int8", "int8"), ("bool", "int16", "int16", "int16"))

    def lower(self, op: Op, graph: Graph) -> LoweredOp:
        ops = Operands(op, graph, rank=5)
        out = graph.tensors[op.outputs[0]]
        args = ops.c_operands() + [TensorArg(op.outputs[0], const=False)]

        def reference(inputs: list) -> list:
            cond, x, y = ops.values(inputs)
            return [np.where(cond.astype(bool), x, y).astype(out.dtype)]

        fn = f"tg_select_{_SUFFIX[out.dtype]}"
        return LoweredOp(op, fn, (fn + ".c",), args, ops.const_arrays, reference)


class LogicalKernel(Kernel):
    """LOGICAL_AND / LOGICAL_OR (broadcast) and LOGICAL_NOT on bool."""

    kinds = (OpKind.LOGICAL_AND, OpKind.LOGICAL_OR, OpKind.LOGICAL_NOT)

    def supports(self, op: Op, graph: Graph) -> bool:
        return all(d == "bool" for d in _types(op, graph))

    def lower(self, op: Op, graph: Graph) -> LoweredOp:
        fn = f"tg_{op.kind.value.lower()}"
        out = graph.tensors[op.outputs[0]]
        if op.kind == OpKind.LOGICAL_NOT:
            x = graph.tensors[op.inputs[0]]
            args = [Literal(x.size), TensorArg(x.name), TensorArg(out.name, const=False)]
            return LoweredOp(op, fn, (fn + ".c",), args, [],
                             lambda ins: [np.logical_not(np.asarray(ins[0]).astype(bool)).reshape(out.shape)],
                             inplace_of=x.name)
        ops = Operands(op, graph)
        pick = np.logical_and if op.kind == OpKind.LOGICAL_AND else np.logical_or
        args = ops.c_operands() + [TensorArg(op.outputs[0], const=False)]

        def reference(inputs: list) -> list:
            a, b = ops.values(inputs)
            return [pick(a.astype(bool), b.astype(bool))]

        return LoweredOp(op, fn, (fn + ".c",), args, ops.const_arrays, reference)


register(CompareKernel())
register(SelectKernel())
register(LogicalKernel())
