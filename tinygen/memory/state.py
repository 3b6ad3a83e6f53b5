"""Persistent state: where variable tensors live, what they hold after a reset, and the op order they fix.

A variable tensor (`ir.Tensor.variable`) is an ordinary IR tensor whose value survives from one invoke
to the next: a TFLite `is_variable` tensor (LSTM / SVDF state) or the storage of a resource variable.
It is planned outside the reusable arena, in the model's state region, at a fixed offset that never
changes; ops read it and update it in place. Its reset value is its `data` when set, else the
"zero" TFLM gives a fresh variable: the zero point for int8, 0 otherwise.

Two ops that touch the same variable (read it, or update it) keep their relative order whatever the
scheduler does (`order_deps`).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from tinygen.errors import TinygenError
from tinygen.ir import Graph

STATE_ALIGN = 16


def _align(n: int) -> int:
    return (n + STATE_ALIGN - 1) // STATE_ALIGN * STATE_ALIGN


@dataclass(frozen=True)
class Slot:
    """One variable in the state region."""
    tensor: str
    offset: int
    nbytes: int
    init: bytes  # the reset value, as the bytes the C state region holds


def variable_names(graph: Graph) -> list:
    """The graph's variable tensors, in the order the graph lists its tensors (deterministic)."""
    return [n for n, t in graph.tensors.items() if t.variable]


def initial_value(t) -> np.ndarray:
    """The value of variable tensor `t` after a reset: its data, else TFLM's zero (int8: zero point)."""
    if t.data is not None:
        return np.asarray(t.data, dtype=t.dtype).reshape(t.shape)
    fill = 0
    if t.dtype == "int8" and t.quant is not None:
        fill = int(t.quant.zero_point[0])
    return np.full(t.shape, fill, dtype=t.dtype)


def initial_state(graph: Graph) -> dict:
    """{variable name: fresh array holding its reset value} (what the NumPy reference runs on)."""
    return {n: initial_value(graph.tensors[n]).copy() for n in variable_names(graph)}


def layout(graph: Graph) -> tuple:
    """(slots, state bytes): every variable at a 16-byte aligned offset of the state region, in
    `variable_names` order; the region ends with one aligned word codegen uses as "initialised"."""
    slots, offset = [], 0
    for name in variable_names(graph):
        t = graph.tensors[name]
        data = np.ascontiguousarray(initial_value(t)).astype(np.dtype(t.dtype).newbyteorder("<"))
        slots.append(Slot(name, offset, t.nbytes, data.tobytes()))
        offset += _align(t.nbytes)
    return slots, (offset + STATE_ALIGN if slots else 0)


def state_storage(graph: Graph, groups: dict) -> dict:
    """{tensor: ("state", offset)} for every tensor aliased (same storage group) with a variable.

    `groups` maps a storage root to its member tensors (the planner's alias groups)."""
    slots, _ = layout(graph)
    where = {s.tensor: s.offset for s in slots}
    out: dict = {}
    for members in groups.values():
        vars_ = [m for m in members if m in where]
        if not vars_:
            continue
        if len(vars_) > 1:
            raise TinygenError(f"variables {sorted(vars_)} share storage through a reshape; tinygen needs a copy")
        for m in members:
            if m in graph.inputs or m in graph.outputs:
                raise TinygenError(f"variable '{vars_[0]}' is also model input/output '{m}'; tinygen needs a copy")
            out[m] = ("state", where[vars_[0]])
    return out


def touches(op, graph: Graph, roots: dict) -> set:
    """The variables (by name) an op reads or updates, reshaped views included."""
    var_root = {roots.get(n, n): n for n in variable_names(graph)}
    names = [t for t in list(op.inputs) + list(op.outputs) if t is not None]
    return {var_root[roots.get(t, t)] for t in names if roots.get(t, t) in var_root}


def order_deps(graph: Graph, lowered: list, roots: dict) -> list:
    """For each op, the earlier ops that touch one of the same variables: the order they must keep."""
    last: dict = {}
    deps = []
    for i, lop in enumerate(lowered):
        mine = touches(lop.op, graph, roots)
        deps.append({last[v] for v in mine if v in last})
        for v in mine:
            last[v] = i
    return deps
