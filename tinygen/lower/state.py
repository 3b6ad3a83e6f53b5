"""Lowering of READ_VARIABLE and ASSIGN_VARIABLE: byte copies between a variable and a tensor, or none.

The variable lives in the persistent state region (memory/state.py); the NumPy reference receives the
variable's state array itself, and ASSIGN_VARIABLE updates it in place (the state carries to the next
sample as it does in the C).

Where it is provably safe in the graph's order (which the scheduler keeps for every op touching the
variable, these included), no copy is made (`alias_of`, see `read_can_alias` / `assign_can_alias`):
a read's output is the variable's storage itself when nothing writes the variable before the read's
last consumer; an assigned value is computed straight into the variable when nothing reads the
variable's old contents from its producer on.
"""
from __future__ import annotations

import numpy as np

from tinygen.ir import Graph, Op, OpKind
from tinygen.lower.base import ConstArg, ConstArray, Kernel, Literal, LoweredOp, TensorArg, register

_SOURCES = ("tg_copy_bytes.c",)
_NEVER = 1 << 30


def _group(graph: Graph, name: str) -> set:
    """`name` and every RESHAPE output chained from it (tensors sharing its storage)."""
    out, grew = {name}, True
    while grew:
        grew = False
        for op in graph.ops:
            if op.kind == OpKind.RESHAPE and op.inputs[0] in out and op.outputs[0] not in out:
                out.add(op.outputs[0])
                grew = True
    return out


def _index(graph: Graph, op: Op) -> int:
    return next(i for i, o in enumerate(graph.ops) if o is op)


def _writes(graph: Graph, var: str) -> list:
    """Indices where `var` may change: every op taking it but a read; an assignment counts from the
    producer of its value (which may be computed straight into the variable)."""
    producer = {t: i for i, o in enumerate(graph.ops) for t in o.outputs}
    out = []
    for i, o in enumerate(graph.ops):
        if var not in o.inputs or o.kind == OpKind.READ_VARIABLE:
            continue
        if o.kind == OpKind.ASSIGN_VARIABLE and o.inputs[1] in producer:
            i = min(i, producer[o.inputs[1]])
        out.append(i)
    return out


def _readers(graph: Graph, names: set) -> list:
    return [i for i, o in enumerate(graph.ops) if any(t in names for t in o.inputs if t is not None)]


def read_can_alias(op: Op, graph: Graph) -> bool:
    """The read's output (and its reshapes) is no model output and is only read before the variable's
    next write (in the graph order)."""
    var, group = op.inputs[0], _group(graph, op.outputs[0])
    if group & set(graph.outputs):
        return False
    i = _index(graph, op)
    after = [w for w in _writes(graph, var) if w > i]
    return all(r < min(after, default=_NEVER) for r in _readers(graph, group))


def assign_can_alias(op: Op, graph: Graph) -> bool:
    """The value is produced by a computing op (not a reshape, a read or a model input), shares storage
    with no model output and no other variable, and from its producer to the assignment no op reads
    the variable or any read of it; the value's later readers come before the variable's next write."""
    var, value = op.inputs
    t = graph.tensors[value]
    producer = {n: (i, o) for i, o in enumerate(graph.ops) for n in o.outputs}
    if t.is_const or t.variable or value not in producer or value in graph.inputs:
        return False
    p, prod = producer[value]
    group = _group(graph, value)
    if prod.kind in (OpKind.RESHAPE, OpKind.READ_VARIABLE) or len(prod.outputs) != 1 or group & set(graph.outputs):
        return False
    if any(graph.tensors[n].variable for n in group):
        return False
    others = [o for o in graph.ops if o.kind == OpKind.ASSIGN_VARIABLE and o is not op and o.inputs[1] in group]
    if others:
        return False
    old = _group(graph, var)
    for o in graph.ops:
        if o.kind == OpKind.READ_VARIABLE and o.inputs[0] == var:
            old |= _group(graph, o.outputs[0])
    a = _index(graph, op)
    if any(any(n in old for n in graph.ops[k].inputs if n is not None) for k in range(p, a)):
        return False
    after = [w for w in _writes(graph, var) if w > a]
    return all(r < min(after, default=_NEVER) for r in _readers(graph, group) if r > a)


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

        if read_can_alias(op, graph):
            return LoweredOp(op, "", (), [], [], reference, alias_of=var.name, notes=dict(variable=var.name))
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

        if assign_can_alias(op, graph):  # the value's producer writes into the variable: no copy
            return LoweredOp(op, "", (), [], [], reference, alias_of=value.name, notes=dict(variable=var.name))
        return LoweredOp(op, "tg_copy_bytes", _SOURCES, args, const_arrays, reference,
                         notes=dict(variable=var.name, bytes=var.nbytes))


register(ReadVariable())
register(AssignVariable())
