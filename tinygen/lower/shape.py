"""Lowering of data-movement ops: RESHAPE (a storage alias), CONCATENATION and PAD (int8 copies).

None of them rescales: like TFLM, CONCATENATION copies int8 bytes even if input scales differ.
"""
from __future__ import annotations

import numpy as np

from tinygen.errors import UnsupportedError
from tinygen.ir import Activation, Graph, Op, OpKind
from tinygen.lower.base import ConstArg, ConstArray, Kernel, Literal, LoweredOp, TensorArg, register
from tinygen.lower.pool import all_int8, extend4


class Reshape(Kernel):
    """RESHAPE of any dtype: the output shares the input's storage, no C call."""

    kinds = (OpKind.RESHAPE,)

    def lower(self, op: Op, graph: Graph) -> LoweredOp:
        x_t, y_t = graph.tensors[op.inputs[0]], graph.tensors[op.outputs[0]]
        if x_t.is_const:
            raise UnsupportedError(f"layer '{op.name}' (RESHAPE): reshaping the constant "
                                   f"'{x_t.name}' should have been folded before lowering")
        if x_t.size != y_t.size or x_t.dtype != y_t.dtype:
            raise UnsupportedError(f"layer '{op.name}' (RESHAPE): {x_t.dtype}{list(x_t.shape)} "
                                   f"cannot become {y_t.dtype}{list(y_t.shape)}")
        shape = y_t.shape

        def reference(inputs: list) -> list:
            return [np.asarray(inputs[0]).reshape(shape).copy()]

        return LoweredOp(op, "", (), [], [], reference, alias_of=op.inputs[0])


class ConcatS8(Kernel):
    """int8 CONCATENATION along one axis of tensors of rank <= 4 (a byte copy, no requantization)."""

    kinds = (OpKind.CONCATENATION,)

    def supports(self, op: Op, graph: Graph) -> bool:
        return all_int8(op, graph)

    def lower(self, op: Op, graph: Graph) -> LoweredOp:
        a = op.attrs
        if a.activation != Activation.NONE:
            raise UnsupportedError(f"layer '{op.name}' (CONCATENATION): fused activation "
                                   f"{a.activation.value} is not supported (TFLM rejects it too)")
        y_t = graph.tensors[op.outputs[0]]
        rank = len(y_t.shape)
        if rank > 4 or not 0 <= a.axis < rank:
            raise UnsupportedError(f"layer '{op.name}' (CONCATENATION): axis {a.axis} of a rank "
                                   f"{rank} tensor is not supported")
        tensors = [graph.tensors[t] for t in op.inputs]
        for t in tensors:
            same = len(t.shape) == rank and all(
                t.shape[k] == y_t.shape[k] for k in range(rank) if k != a.axis)
            if not same:
                raise UnsupportedError(f"layer '{op.name}' (CONCATENATION): input '{t.name}' "
                                       f"{list(t.shape)} does not fit output {list(y_t.shape)}")
        if sum(t.shape[a.axis] for t in tensors) != y_t.shape[a.axis]:
            raise UnsupportedError(f"layer '{op.name}' (CONCATENATION): input sizes along axis "
                                   f"{a.axis} do not add up to {y_t.shape[a.axis]}")
        outer = int(np.prod(y_t.shape[:a.axis], dtype=np.int64))
        inner = np.array([int(np.prod(t.shape[a.axis:], dtype=np.int64)) for t in tensors], np.int32)
        const_arrays = [ConstArray("inner", inner)]
        pointers = []
        for i, t in enumerate(tensors):
            if t.is_const:
                pointers.append(ConstArg(len(const_arrays)))
                const_arrays.append(ConstArray(f"in{i}", np.asarray(t.data, np.int8).reshape(-1)))
            else:
                pointers.append(TensorArg(op.inputs[i]))
        args = [Literal(outer), Literal(int(inner.sum())), Literal(len(tensors)), ConstArg(0),
                TensorArg(op.outputs[0], const=False)] + pointers
        axis = a.axis

        def reference(in_arrays: list) -> list:
            it = iter(in_arrays)
            parts = [np.asarray(t.data if t.is_const else next(it), np.int8).reshape(t.shape)
                     for t in tensors]
            return [np.concatenate(parts, axis=axis)]

        return LoweredOp(op, "tg_concat_s8", ("tg_concat_s8.c",), args, const_arrays, reference)


def pad_value_of(op: Op, graph: Graph) -> int:
    """PADV2's constant int8 input if the op has one, else the output zero point (PAD)."""
    for name in op.inputs[1:]:
        t = graph.tensors[name] if name is not None else None
        if t is not None and t.is_const and t.dtype == "int8" and t.size == 1:
            return int(np.asarray(t.data).reshape(-1)[0])
    return graph.tensors[op.outputs[0]].zero_point


class PadS8(Kernel):
    """int8 PAD / PADV2 of a tensor of rank <= 4 with constant (non-negative) paddings."""

    kinds = (OpKind.PAD,)

    def supports(self, op: Op, graph: Graph) -> bool:
        x_t, y_t = graph.tensors[op.inputs[0]], graph.tensors[op.outputs[0]]
        return x_t.dtype == "int8" and y_t.dtype == "int8"

    def lower(self, op: Op, graph: Graph) -> LoweredOp:
        x_t, y_t = graph.tensors[op.inputs[0]], graph.tensors[op.outputs[0]]
        pads = [tuple(int(v) for v in p) for p in op.attrs.paddings]
        rank = len(x_t.shape)
        expect = tuple(d + b + e for d, (b, e) in zip(x_t.shape, pads))
        if rank > 4 or len(pads) != rank or expect != tuple(y_t.shape) or min(sum(pads, ())) < 0:
            raise UnsupportedError(f"layer '{op.name}' (PAD): paddings {pads} of "
                                   f"{list(x_t.shape)} do not give {list(y_t.shape)} (rank <= 4, "
                                   f"non-negative)")
        value = pad_value_of(op, graph)
        before = [0] * (4 - rank) + [b for b, _ in pads]
        args = [Literal(b) for b in before] + [Literal(value)]
        args += [Literal(d) for d in extend4(x_t.shape)] + [TensorArg(op.inputs[0])]
        args += [Literal(d) for d in extend4(y_t.shape)] + [TensorArg(op.outputs[0], const=False)]

        def reference(inputs: list) -> list:
            x = np.asarray(inputs[0], np.int8).reshape(x_t.shape)
            return [np.pad(x, pads, mode="constant", constant_values=value)]

        return LoweredOp(op, "tg_pad_s8", ("tg_pad_s8.c",), args, [], reference,
                         notes={"pad_value": value})


register(Reshape())
register(ConcatS8())
register(PadS8())
