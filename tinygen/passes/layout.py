"""TRANSPOSE clean-up, on float and quantized graphs alike (a transpose copies values, so every rewrite
here is exact):

- a TRANSPOSE of a constant becomes a constant (its data permuted; its quantization kept);
- a TRANSPOSE of a TRANSPOSE whose output nothing else reads becomes one TRANSPOSE (perms composed);
- a TRANSPOSE that leaves the order unchanged is dropped when its input has the output's dtype and
  quantization (else it stays: the values would be read with other parameters).

So a pair that cancels (e.g. NHWC -> NCHW -> NHWC around an op that was removed) disappears.
"""
from __future__ import annotations

import dataclasses

import numpy as np

from tinygen.ir import Graph, Op, OpKind


def _fold_constant(graph: Graph, op: Op) -> bool:
    x, y = graph.tensors[op.inputs[0]], graph.tensors[op.outputs[0]]
    if not x.is_const or op.outputs[0] in graph.outputs:
        return False
    graph.tensors[op.outputs[0]] = dataclasses.replace(
        y, data=np.ascontiguousarray(np.transpose(x.data, op.attrs.perm)).astype(y.dtype))
    graph.ops.remove(op)
    return True


def _merge_with_producer(graph: Graph, op: Op) -> bool:
    mid = op.inputs[0]
    prev = graph.producers().get(mid)
    if prev is None or prev.kind != OpKind.TRANSPOSE or mid in graph.outputs:
        return False
    if [o for o in graph.ops if mid in o.inputs] != [op]:
        return False
    first, second = prev.attrs.perm, op.attrs.perm
    op.inputs = [prev.inputs[0]]
    op.attrs = dataclasses.replace(op.attrs, perm=tuple(first[p] for p in second))
    graph.ops.remove(prev)
    return True


def _drop_identity(graph: Graph, op: Op) -> bool:
    from tinygen.passes import _bypass

    x, y = graph.tensors[op.inputs[0]], graph.tensors[op.outputs[0]]
    if tuple(op.attrs.perm) != tuple(range(len(op.attrs.perm))):
        return False
    if x.dtype != y.dtype or x.quant != y.quant or x.shape != y.shape:
        return False
    return _bypass(graph, op)


def simplify_transposes(graph: Graph) -> None:
    """Fold, merge and drop TRANSPOSEs until none of the three rules applies (in place)."""
    changed = True
    while changed:
        changed = False
        for op in list(graph.ops):
            if op.kind == OpKind.TRANSPOSE and (_fold_constant(graph, op) or _merge_with_producer(graph, op)
                                                or _drop_identity(graph, op)):
                changed = True
                break
    graph.remove_unused_tensors()
