"""Views: an op whose output is one contiguous block of its input (a slice, a split piece, an unpacked
row) may declare `LoweredOp.view_of = (input, byte offset)`. Where the planner honours the view, the
output is stored inside the input's buffer at that offset and the op emits no C call; elsewhere the op's
own copy call runs.

A view is honoured when neither the input's nor the output's storage group (tensors joined by RESHAPE
aliases) holds a model output or a variable (a model output lives in the caller's buffer of its own
size; a variable in the state region), and the output's group holds no model input. A view of a model
input reads the caller's input buffer at its offset (storage "input_view": (input index, byte offset)).
The input's buffer then lives as long as any view of it is read, and an in-place op can only overwrite
it after the last such read (the planner's tie rule looks at the whole group).
"""
from __future__ import annotations

import numpy as np

from tinygen.ir import Graph


def union_roots(graph: Graph, pairs) -> dict:
    """{tensor: its group's root} after joining each (a, b) of `pairs`, in order (a's root under b's)."""
    parent: dict = {}

    def find(t: str) -> str:
        while parent.get(t, t) != t:
            t = parent[t]
        return t

    for x, y in pairs:
        a, b = find(x), find(y)
        if a != b:
            parent[a] = b
    return {t: find(t) for t in graph.tensors}


def alias_pairs(lowered: list) -> list:
    """(tensor, the tensor whose storage it shares) for every aliasing op (RESHAPE and the like)."""
    return [(out, lop.alias_of) for lop in lowered if lop.alias_of is not None
            for out in lop.op.outputs or lop.op.inputs[:1]]  # no output: ASSIGN_VARIABLE's variable


def _plain_roots(graph: Graph, lowered: list) -> dict:
    return union_roots(graph, alias_pairs(lowered))


def honoured(graph: Graph, lowered: list) -> dict:
    """{op index: (output tensor, input tensor, byte offset)} for the views the planner takes."""
    root = _plain_roots(graph, lowered)
    pinned = {root[n] for n, t in graph.tensors.items() if n in graph.outputs or t.variable}
    inputs = {root[n] for n in graph.inputs}
    out = {}
    for i, lop in enumerate(lowered):
        view = getattr(lop, "view_of", None)
        if view is None or len(lop.op.outputs) != 1:
            continue
        src, offset = view
        dst = lop.op.outputs[0]
        if root[src] in pinned or root[dst] in pinned | inputs or root[src] == root[dst]:
            continue
        out[i] = (dst, src, int(offset))
    return out


def offsets(graph: Graph, lowered: list) -> dict:
    """Byte offset of each tensor inside its storage group's buffer (0 unless it is a view)."""
    edges = {dst: (src, off) for dst, src, off in honoured(graph, lowered).values()}
    alias = {out: lop.alias_of for lop in lowered if lop.alias_of is not None for out in lop.op.outputs}
    rel: dict = {}
    for name in graph.tensors:
        total, t, seen = 0, name, set()
        while t not in seen:
            seen.add(t)
            if t in edges:
                t, off = edges[t]
                total += off
            elif t in alias:
                t = alias[t]
            else:
                break
        if total:
            rel[name] = total
    return rel


def group_bytes(graph: Graph, members: list, rel: dict) -> int:
    """Bytes a storage group needs: its largest member, views counted from their offsets."""
    return int(max(graph.tensors[m].nbytes + rel.get(m, 0) for m in members)) if members else 0


def element_offset_bytes(graph: Graph, tensor: str, elements: int) -> int:
    return int(elements) * np.dtype(graph.tensors[tensor].dtype).itemsize
