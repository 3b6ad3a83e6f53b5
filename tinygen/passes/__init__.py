"""Float graph clean-up before quantization: drop no-ops, fold batch norm, fuse ReLUs, fold reshapes.

Each pass is a small function Graph -> None working on a copy; `optimize` runs them in order with
`ir.verify` after each one, so a broken rewrite is reported with the pass that made it.
"""
from __future__ import annotations

import dataclasses

import numpy as np

from tinygen import ir
from tinygen.errors import UnsupportedError
from tinygen.ir import Activation, Graph, Op, OpKind
from tinygen.ops.spec import spec_for


def _replace_uses(graph: Graph, old: str, new: str) -> None:
    for op in graph.ops:
        op.inputs = [new if t == old else t for t in op.inputs]


def _bypass(graph: Graph, op: Op) -> bool:
    """Remove a single-input op whose output equals its input; False when it must stay."""
    src, dst = op.inputs[0], op.outputs[0]
    if dst in graph.outputs:
        # keep the model-output name: the producer of `src` writes `dst` directly
        if src in graph.inputs or graph.tensors[src].is_const or src in graph.outputs:
            return False
        if sum(src in o.inputs for o in graph.ops) > 1:
            return False
        for o in graph.ops:
            o.outputs = [dst if t == src else t for t in o.outputs]
    else:
        _replace_uses(graph, dst, src)
    graph.ops.remove(op)
    return True


def _sole_consumer(graph: Graph, tensor: str, op: Op) -> bool:
    uses = [o for o in graph.ops if tensor in o.inputs]
    return uses == [op] and tensor not in graph.outputs


def drop_noops(graph: Graph) -> None:
    """RESHAPEs to the same shape and ops no output depends on."""
    for op in list(graph.ops):
        if op.kind == OpKind.RESHAPE and graph.tensors[op.inputs[0]].shape == graph.tensors[op.outputs[0]].shape:
            _bypass(graph, op)
    needed = set(graph.outputs)
    keep = []
    for op in reversed(graph.ops):
        if any(t in needed for t in op.outputs):
            keep.append(op)
            needed.update(t for t in op.inputs if t is not None)
    graph.ops = keep[::-1]
    graph.remove_unused_tensors()


def fold_reshapes(graph: Graph) -> None:
    """RESHAPE of RESHAPE becomes one RESHAPE of the first input."""
    producers = graph.producers()
    for op in graph.ops:
        if op.kind != OpKind.RESHAPE:
            continue
        prev = producers.get(op.inputs[0])
        while prev is not None and prev.kind == OpKind.RESHAPE:
            op.inputs = [prev.inputs[0]]
            prev = producers.get(prev.inputs[0])
    drop_noops(graph)


# producers a batch norm folds into (scaling their weights on the spec's `weights_axis`)
_FOLDS_BATCH_NORM = (OpKind.CONV_2D, OpKind.DEPTHWISE_CONV_2D, OpKind.FULLY_CONNECTED)


def fold_batchnorm(graph: Graph) -> None:
    """BATCH_NORM into the preceding conv / depthwise / dense, else a per-channel MUL + ADD pair."""
    for bn in [o for o in graph.ops if o.kind == OpKind.BATCH_NORM]:
        x = bn.inputs[0]
        gamma, beta, mean, var = (graph.tensors[t].data.astype(np.float64) for t in bn.inputs[1:5])
        scale = gamma / np.sqrt(var + bn.attrs.epsilon)
        shift = beta - mean * scale
        prod = graph.producers().get(x)
        if (prod is not None and prod.kind in _FOLDS_BATCH_NORM and prod.attrs.activation == Activation.NONE
                and _sole_consumer(graph, x, bn)):
            _fold_into(graph, prod, bn, scale, shift)
        else:
            _as_mul_add(graph, bn, scale, shift)
    graph.remove_unused_tensors()


def _fold_into(graph: Graph, prod: Op, bn: Op, scale: np.ndarray, shift: np.ndarray) -> None:
    w = graph.tensors[prod.inputs[1]]
    axis = spec_for(prod.kind).weights_axis
    if w.shape[axis] != scale.size:
        raise UnsupportedError(f"layer '{bn.name}' (BatchNormalization): {scale.size} channels cannot fold into "
                               f"'{prod.name}' with {w.shape[axis]} output channels")
    bshape = [1] * len(w.shape)
    bshape[axis] = -1
    new_w = (w.data.astype(np.float64) * scale.reshape(bshape)).astype(np.float32)
    bias_name = prod.inputs[2] if len(prod.inputs) > 2 else None
    bias = graph.tensors[bias_name].data.astype(np.float64) if bias_name else np.zeros(scale.size)
    new_b = (bias * scale + shift).astype(np.float32)
    wname = graph.unique_name(f"{prod.name}/kernel_bn")
    bname = graph.unique_name(f"{prod.name}/bias_bn")
    graph.tensors[wname] = ir.Tensor(wname, w.shape, "float32", data=new_w)
    graph.tensors[bname] = ir.Tensor(bname, new_b.shape, "float32", data=new_b)
    prod.inputs = [prod.inputs[0], wname, bname]
    prod.outputs = [bn.outputs[0]]
    graph.ops.remove(bn)


def _as_mul_add(graph: Graph, bn: Op, scale: np.ndarray, shift: np.ndarray) -> None:
    x, y = bn.inputs[0], bn.outputs[0]
    t = graph.tensors[x]
    sname, hname, mid = (graph.unique_name(f"{bn.name}/{s}") for s in ("scale", "shift", "scaled"))
    graph.tensors[sname] = ir.Tensor(sname, scale.shape, "float32", data=scale.astype(np.float32))
    graph.tensors[hname] = ir.Tensor(hname, shift.shape, "float32", data=shift.astype(np.float32))
    graph.tensors[mid] = ir.Tensor(mid, t.shape, "float32")
    i = graph.ops.index(bn)
    graph.ops[i:i + 1] = [Op(OpKind.MUL, bn.name, [x, sname], [mid], ir.ElementwiseAttrs()),
                          Op(OpKind.ADD, f"{bn.name}/add", [mid, hname], [y], ir.ElementwiseAttrs())]


_RELUS = {OpKind.RELU: Activation.RELU, OpKind.RELU6: Activation.RELU6}


def fuse_activations(graph: Graph) -> None:
    """RELU / RELU6 into the producer's `activation` (kinds whose spec says `fuses_activation`) when the relu
    is the producer's only consumer."""
    for op in [o for o in graph.ops if o.kind in _RELUS]:
        prod = graph.producers().get(op.inputs[0])
        if (prod is None or not spec_for(prod.kind).fuses_activation or prod.attrs.activation != Activation.NONE
                or not _sole_consumer(graph, op.inputs[0], op)):
            continue
        prod.attrs = dataclasses.replace(prod.attrs, activation=_RELUS[op.kind])
        prod.outputs = [op.outputs[0]]
        graph.ops.remove(op)
    graph.remove_unused_tensors()


def global_pool_to_mean(graph: Graph) -> None:
    """An average pool whose window covers its whole unpadded input is a spatial MEAN.

    Average pooling shares its input's quantization parameters, but the average of a whole plane
    spans a much narrower range than the plane itself: as MEAN it gets its own output range, which
    on ResNet-8's final 8x8 pool cuts the int8 error of the pooled features several-fold.
    """
    for i, op in enumerate(graph.ops):
        if op.kind != OpKind.AVERAGE_POOL_2D:
            continue
        a = op.attrs
        shape = graph.tensors[op.inputs[0]].shape
        pad = a.padding
        if (len(shape) == 4 and (a.filter_h, a.filter_w) == (shape[1], shape[2]) and a.activation == Activation.NONE
                and (pad.top, pad.bottom, pad.left, pad.right) == (0, 0, 0, 0)):
            graph.ops[i] = dataclasses.replace(op, kind=OpKind.MEAN, attrs=ir.MeanAttrs(axes=(1, 2), keep_dims=True))


from tinygen.passes.layout import simplify_transposes  # noqa: E402 (uses _bypass above)
from tinygen.passes.sink import sink_reshapes  # noqa: E402
from tinygen.passes.fold_input import fold_input_affine  # noqa: E402

PIPELINE = (drop_noops, sink_reshapes, fold_input_affine, fold_batchnorm, fuse_activations, fold_reshapes, global_pool_to_mean, simplify_transposes)


def optimize(graph: Graph) -> Graph:
    """Run every pass on a copy of `graph`, verifying after each; BATCH_NORM never survives."""
    g = graph.copy()
    ir.verify(g, "before passes")
    for p in PIPELINE:
        p(g)
        ir.verify(g, p.__name__)
    return g
