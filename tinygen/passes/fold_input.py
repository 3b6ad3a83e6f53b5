"""Fold a model input's affine preprocessing (Keras Rescaling / Normalization as MUL and ADD with per-channel
constants) into the first conv / depthwise / dense layer, so the input is quantized in the caller's units.

x -> MUL(s) -> ADD(t) -> conv(w, bias) equals conv(x; w * s on the input-channel axis, bias + sum(w * t)):
the scale folds under any padding (a padded zero stays zero), the offset only when the layer pads nothing
(a padded zero of x would be t, not 0, otherwise). The input then keeps its own range (e.g. [0, 255]),
which is how the preprocessing is folded into the input quantization.
"""
from __future__ import annotations

import numpy as np

from tinygen import ir
from tinygen.fmath import matmul
from tinygen.ir import Graph, Op, OpKind

_INTO = (OpKind.CONV_2D, OpKind.DEPTHWISE_CONV_2D, OpKind.FULLY_CONNECTED)


def _consumer(graph: Graph, name: str):
    users = [o for o in graph.ops if name in o.inputs]
    return users[0] if len(users) == 1 and name not in graph.outputs else None


def _channel_constant(graph: Graph, op: Op, channels: int):
    """The per-channel (or scalar) constant operand of a MUL / ADD on a tensor of `channels` channels."""
    if op.kind not in (OpKind.MUL, OpKind.ADD) or op.attrs.activation != ir.Activation.NONE:
        return None
    consts = [t for t in op.inputs if graph.tensors[t].is_const]
    if len(consts) != 1:
        return None
    tensor = next(t for t in op.inputs if t != consts[0])
    if graph.tensors[op.outputs[0]].shape != graph.tensors[tensor].shape:
        return None  # the constant broadcasts the tensor to a larger shape
    c = graph.tensors[consts[0]].data.astype(np.float64)
    if c.size not in (1, channels) or (c.size == channels and c.shape[-1:] != (channels,)):
        return None
    return np.broadcast_to(c.reshape(-1), (channels,))


def _unpadded(op: Op) -> bool:
    p = getattr(op.attrs, "padding", None)
    return p is None or (p.top, p.bottom, p.left, p.right) == (0, 0, 0, 0)


def _fold(graph: Graph, layer: Op, x: str, s: np.ndarray, t: np.ndarray) -> None:
    w = graph.tensors[layer.inputs[1]]
    wd = w.data.astype(np.float64)
    if layer.kind == OpKind.CONV_2D:  # OHWI
        new_w, shift = wd * s, np.einsum("ohwi,i->o", wd, t)
    elif layer.kind == OpKind.DEPTHWISE_CONV_2D:  # 1HW(C*M): output channel c*M+m reads input channel c
        m = wd.shape[3] // s.size
        sc, tc = np.repeat(s, m), np.repeat(t, m)
        new_w, shift = wd * sc, (wd * tc).sum(axis=(0, 1, 2))
    else:  # (out, in)
        new_w, shift = wd * s, matmul(wd, t)
    bias_name = layer.inputs[2] if len(layer.inputs) > 2 else None
    bias = graph.tensors[bias_name].data.astype(np.float64) if bias_name else np.zeros(shift.shape)
    wname, bname = graph.unique_name(f"{layer.name}/kernel_in"), graph.unique_name(f"{layer.name}/bias_in")
    graph.tensors[wname] = ir.Tensor(wname, w.shape, "float32", data=new_w.astype(np.float32))
    graph.tensors[bname] = ir.Tensor(bname, shift.shape, "float32", data=(bias + shift).astype(np.float32))
    layer.inputs = [x, wname, bname]


def _add_before(graph: Graph, first: Op, x: str, offset: np.ndarray) -> str:
    """A new ADD of `offset` to x, placed where the chain's first op was; returns its output."""
    cname, out = graph.unique_name(f"{first.name}/offset"), graph.unique_name(f"{first.name}/shifted")
    graph.tensors[cname] = ir.Tensor(cname, offset.shape, "float32", data=offset)
    graph.tensors[out] = ir.Tensor(out, graph.tensors[x].shape, "float32")
    graph.ops.insert(graph.ops.index(first), Op(OpKind.ADD, first.name, [x, cname], [out], ir.ElementwiseAttrs()))
    return out


def fold_input_affine(graph: Graph) -> None:
    """Each model input's chain of per-channel MUL / ADD ops into the conv / depthwise / dense it feeds."""
    for x in graph.inputs:
        shape = graph.tensors[x].shape
        channels = shape[-1] if shape else 1
        s, t, chain, cur = np.ones(channels), np.zeros(channels), [], x
        op = _consumer(graph, cur)
        while op is not None and (c := _channel_constant(graph, op, channels)) is not None:
            s, t = (s * c, t * c) if op.kind == OpKind.MUL else (s, t + c)
            chain.append(op)
            cur = op.outputs[0]
            op = _consumer(graph, cur)
        if not chain or op is None or op.kind not in _INTO or op.inputs[0] != cur:
            continue
        if op.kind == OpKind.FULLY_CONNECTED and graph.tensors[op.inputs[1]].shape[1] != channels:
            continue
        src = x
        if np.any(t != 0) and not _unpadded(op):
            if np.any(s == 0):
                continue
            # x * s + t = (x + t / s) * s: the ADD stays, on the input's scale; s folds
            src = _add_before(graph, chain[0], x, (t / s).astype(np.float32))
            t = np.zeros(channels)
        _fold(graph, op, src, s, t)
        for o in chain:
            graph.ops.remove(o)
    graph.remove_unused_tensors()
