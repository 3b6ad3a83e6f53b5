"""Move a RESHAPE after the per-channel op that consumes it, so 1-D Keras layers lower like their 2-D twins.

The Keras frontend runs Conv1D and 1-D pooling as the 2-D op between an `expand` RESHAPE (1, W, C) ->
(1, 1, W, C) and a `squeeze` RESHAPE back. A BatchNormalization or activation that follows then sits
behind the squeeze, where it can neither fold nor fuse into the conv. An op that works per element
(or per last-axis channel, as BATCH_NORM does) gives the same values on either side of a RESHAPE that
keeps the last axis, so the RESHAPE moves below it; the squeeze then meets the next layer's expand,
and `fold_reshapes` removes the pair.
"""
from __future__ import annotations

import dataclasses

from tinygen import ir
from tinygen.ir import Graph, OpKind

# ops whose single activation input maps element by element (BATCH_NORM: per last-axis channel)
PER_CHANNEL = {OpKind.BATCH_NORM, OpKind.RELU, OpKind.RELU6, OpKind.LEAKY_RELU, OpKind.LOGISTIC, OpKind.TANH,
               OpKind.HARD_SWISH}


def _movable(graph: Graph, reshape: ir.Op, op: ir.Op) -> bool:
    src, mid = reshape.inputs[0], reshape.outputs[0]
    if op.kind not in PER_CHANNEL or op.inputs[0] != mid or mid in graph.outputs:
        return False
    if [o for o in graph.ops if mid in o.inputs] != [op]:
        return False
    if any(t is not None and not graph.tensors[t].is_const for t in op.inputs[1:]):
        return False
    return graph.tensors[src].shape[-1:] == graph.tensors[mid].shape[-1:]


def sink_reshapes(graph: Graph) -> None:
    """RESHAPE -> per-channel op becomes op -> RESHAPE when the RESHAPE keeps the last axis."""
    changed = True
    while changed:
        changed = False
        for r in [o for o in graph.ops if o.kind == OpKind.RESHAPE]:
            users = [o for o in graph.ops if r.outputs[0] in o.inputs]
            if len(users) != 1 or not _movable(graph, r, users[0]):
                continue
            op = users[0]
            src, mid, out = r.inputs[0], r.outputs[0], op.outputs[0]
            new = graph.unique_name(f"{op.name}/unsqueezed")
            graph.tensors[new] = ir.Tensor(new, graph.tensors[src].shape, graph.tensors[out].dtype)
            op.inputs = [src] + op.inputs[1:]
            op.outputs = [new]
            r.inputs, r.outputs = [new], [out]
            i, j = graph.ops.index(r), graph.ops.index(op)
            graph.ops[i], graph.ops[j] = op, r
            del graph.tensors[mid]
            changed = True
    for r in [o for o in graph.ops if o.kind == OpKind.RESHAPE]:
        _into_mean(graph, r)


def _unit_positions(src: tuple, dst: tuple):
    """Positions of `src` whose removal (all of size 1, never the batch axis) leaves `dst`, or None."""
    removed, j = [], 0
    for i, d in enumerate(src):
        if j < len(dst) and d == dst[j] and (d != 1 or len(src) - i == len(dst) - j or i == 0):
            j += 1
        elif d == 1 and i > 0:
            removed.append(i)
        else:
            return None
    return removed if j == len(dst) else None


def _into_mean(graph: Graph, r: ir.Op) -> None:
    """A squeeze RESHAPE read only by a MEAN without keep_dims: the MEAN reads the RESHAPE's input and
    also reduces the removed unit axes (the output is the same), as GlobalAveragePooling2D of the 2-D twin."""
    src, mid = r.inputs[0], r.outputs[0]
    users = [o for o in graph.ops if mid in o.inputs]
    if len(users) != 1 or users[0].kind != OpKind.MEAN or users[0].attrs.keep_dims or mid in graph.outputs:
        return
    mean, s, d = users[0], graph.tensors[src].shape, graph.tensors[mid].shape
    removed = _unit_positions(s, d)
    if not removed:
        return
    kept = [i for i in range(len(s)) if i not in removed]
    axes = tuple(sorted({kept[a % len(d)] for a in mean.attrs.axes} | set(removed)))
    mean.attrs = dataclasses.replace(mean.attrs, axes=axes)
    mean.inputs = [src] + mean.inputs[1:]
    graph.ops.remove(r)
    del graph.tensors[mid]
