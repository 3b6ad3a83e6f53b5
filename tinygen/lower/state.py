"""Lowering of READ_VARIABLE and ASSIGN_VARIABLE: byte copies between a variable and a tensor.

The variable lives in the persistent state region (memory/state.py); the NumPy reference receives the
variable's state array itself, and ASSIGN_VARIABLE updates it in place (the state carries to the next
sample as it does in the C).
"""
from __future__ import annotations

import numpy as np

from tinygen.ir import Graph, Op, OpKind
from tinygen.lower.base import ConstArg, ConstArray, Kernel, Literal, LoweredOp, TensorArg, register

_SOURCES = ("tg_copy_bytes.c",)


def _as_bytes(data: np.ndarray) -> np.ndarray:
    return np.frombuffer(np.ascontiguousarray(data).astype(data.dtype.newbyteorder("<")).tobytes(), np.int8).copy()


class ReadVariable(Kernel):
    """A copy of the variable's current bytes into the output tensor."""

    kinds = (OpKind.READ_VARIABLE,)

    def lower(self, op: Op, graph: Graph) -> LoweredOp:
        var, y = graph.tensors[op.inputs[0]], graph.tensors[op.outputs[0]]
        args = [TensorArg(var.name), TensorArg(y.name, const=False), Literal(var.nbytes)]
        shape, dtype = y.shape, y.dtype

        def reference(ins: list) -> list:
            return [np.array(ins[0], dtype=dtype).reshape(shape)]

        return LoweredOp(op, "tg_copy_bytes", _SOURCES, args, [], reference,
                         notes=dict(variable=var.name, bytes=var.nbytes))


class AssignVariable(Kernel):
    """The value's bytes copied into the variable (a constant value comes from flash)."""

    kinds = (OpKind.ASSIGN_VARIABLE,)

    def lower(self, op: Op, graph: Graph) -> LoweredOp:
        var, value = graph.tensors[op.inputs[0]], graph.tensors[op.inputs[1]]
        const_arrays = []
        if value.is_const:
            const_arrays.append(ConstArray("value", _as_bytes(np.asarray(value.data, value.dtype))))
            src = ConstArg(0)
        else:
            src = TensorArg(value.name)
        args = [src, TensorArg(var.name, const=False), Literal(var.nbytes)]
        const_value = np.asarray(value.data, var.dtype).reshape(var.shape) if value.is_const else None

        def reference(ins: list) -> list:
            state = ins[0]  # the variable's state array, updated in place
            new = const_value if const_value is not None else np.asarray(ins[1])
            state[...] = np.asarray(new, dtype=state.dtype).reshape(state.shape)
            return []

        return LoweredOp(op, "tg_copy_bytes", _SOURCES, args, const_arrays, reference,
                         notes=dict(variable=var.name, bytes=var.nbytes))


register(ReadVariable())
register(AssignVariable())
