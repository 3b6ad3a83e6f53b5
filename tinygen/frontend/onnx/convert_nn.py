"""ONNX Conv (1-D and 2-D, groups, dilations), Gemm, MatMul, BatchNormalization and the pools -> channels-last IR.

ONNX weights are (O, I/groups, kH, kW); CONV_2D takes OHWI, DEPTHWISE_CONV_2D 1HW(C*M) (ONNX output channel
c*M + j reads input channel c, as TFLite's depthwise does). A 1-D op runs as the 2-D op on (1, 1, L, C).
"""
from __future__ import annotations

import numpy as np

from tinygen import ir
from tinygen.frontend.onnx.builder import CHANNELS_LAST, Builder, Val
from tinygen.frontend.onnx.fold import attrs
from tinygen.ir import OpKind


def _expand_1d(b: Builder, x: str) -> str:
    _, length, c = b.g.tensors[x].shape
    return b.op(OpKind.RESHAPE, [x], (1, 1, length, c), ir.ReshapeAttrs(), "/expand")


def _finish_spatial(b: Builder, y: str, rank: int) -> None:
    """Output of a channels-last 2-D op: squeezed back to (1, L, C) for a 1-D node; stored with its layout."""
    _, oh, ow, c = b.g.tensors[y].shape
    if rank == 3:
        y = b.op(OpKind.RESHAPE, [y], (1, ow, c), ir.ReshapeAttrs(), "/squeeze")
        b.set(0, Val((1, c, ow), ir=y, perm=CHANNELS_LAST[3]))
    else:
        b.set(0, Val((1, c, oh, ow), ir=y, perm=CHANNELS_LAST[4]))


def spatial_input(b: Builder) -> tuple:
    """(IR tensor as (1, H, W, C), rank of the ONNX input): input 0 channels-last, a 1-D one expanded."""
    v = b.channels_last(b.act_input(0))
    rank = len(v.shape)
    return (_expand_1d(b, v.ir) if rank == 3 else v.ir), rank


def _per_dim(values, rank: int, default: int) -> tuple:
    """An attribute per spatial dimension as (h, w); 1-D ops get h = 1."""
    values = list(values) if values is not None else [default] * (rank - 2)
    return (1, int(values[0])) if rank == 3 else (int(values[0]), int(values[1]))


def padding(b: Builder, a: dict, rank: int, in_hw, k_hw, s_hw, d_hw) -> ir.Padding:
    """ONNX pads / auto_pad -> explicit (top, bottom, left, right)."""
    auto = a.get("auto_pad", "NOTSET")
    if auto in ("SAME_UPPER", "SAME_LOWER"):
        amounts = []
        for n, k, s, d in zip(in_hw, k_hw, s_hw, d_hw):
            total = max((-(-n // s) - 1) * s + (k - 1) * d + 1 - n, 0)
            small = total // 2
            amounts.append((small, total - small) if auto == "SAME_UPPER" else (total - small, small))
        return ir.Padding(amounts[0][0], amounts[0][1], amounts[1][0], amounts[1][1])
    if auto not in ("NOTSET", "VALID"):
        raise b.fail(f"auto_pad '{auto}' is not supported")
    pads = [int(p) for p in a.get("pads", [0] * (2 * (rank - 2)))] if auto == "NOTSET" else [0] * (2 * (rank - 2))
    if any(p < 0 for p in pads):
        raise b.fail(f"negative pads {pads} are not supported")
    if rank == 3:
        return ir.Padding(0, 0, pads[0], pads[1])
    return ir.Padding(pads[0], pads[2], pads[1], pads[3])


def _out_hw(in_hw, k_hw, s_hw, d_hw, p: ir.Padding) -> tuple:
    pads = ((p.top, p.bottom), (p.left, p.right))
    return tuple((n + lo + hi - ((k - 1) * d + 1)) // s + 1 for n, k, s, d, (lo, hi) in zip(in_hw, k_hw, s_hw, d_hw, pads))


def conv(b: Builder) -> None:
    a = attrs(b.node)
    x, rank = spatial_input(b)
    w = b.const_input(1, "weights").astype(np.float32)
    bias = b.const_input(2, "bias")
    if w.ndim != rank:
        raise b.fail(f"weights {list(w.shape)} do not match a rank-{rank} input")
    if rank == 3:
        w = w[:, :, None, :]
    o, ipg, kh, kw = w.shape
    _, h, wd, cin = b.g.tensors[x].shape
    group = int(a.get("group", 1))
    strides, dil = _per_dim(a.get("strides"), rank, 1), _per_dim(a.get("dilations"), rank, 1)
    pad = padding(b, a, rank, (h, wd), (kh, kw), strides, dil)
    oh, ow = _out_hw((h, wd), (kh, kw), strides, dil, pad)
    bname = b.const(f"{b.name}/bias", bias) if bias is not None else None
    if group == 1:
        wname = b.const(f"{b.name}/weights", np.transpose(w, (0, 2, 3, 1)))
        y = b.op(OpKind.CONV_2D, [x, wname, bname], (1, oh, ow, o),
                 ir.Conv2DAttrs(strides[0], strides[1], dil[0], dil[1], pad))
    elif group == cin and ipg == 1 and o % cin == 0:
        wname = b.const(f"{b.name}/weights", np.transpose(w, (1, 2, 3, 0)))
        y = b.op(OpKind.DEPTHWISE_CONV_2D, [x, wname, bname], (1, oh, ow, o),
                 ir.DepthwiseConv2DAttrs(strides[0], strides[1], o // cin, dil[0], dil[1], pad))
    elif group > 1 and cin % group == 0 and o % group == 0 and ipg == cin // group:
        y = _grouped(b, x, w, bias, group, (oh, ow), ir.Conv2DAttrs(strides[0], strides[1], dil[0], dil[1], pad))
    else:
        raise b.fail(f"group={group} does not divide {cin} input and {o} output channels")
    _finish_spatial(b, y, rank)


def _grouped(b: Builder, x: str, w: np.ndarray, bias, group: int, out_hw: tuple, attrs_) -> str:
    """A grouped conv: one STRIDED_SLICE of the input channels and one CONV_2D per group, then CONCATENATION."""
    _, h, wd, cin = b.g.tensors[x].shape
    o = w.shape[0]
    ci, co = cin // group, o // group
    parts = []
    for k in range(group):
        xs = b.op(OpKind.STRIDED_SLICE, [x], (1, h, wd, ci),
                  ir.StridedSliceAttrs((0, 0, 0, k * ci), (1, h, wd, (k + 1) * ci), (1, 1, 1, 1)), f"/group{k}/slice")
        wk = b.const(f"{b.name}/group{k}/weights", np.transpose(w[k * co:(k + 1) * co], (0, 2, 3, 1)))
        bk = b.const(f"{b.name}/group{k}/bias", bias[k * co:(k + 1) * co]) if bias is not None else None
        parts.append(b.op(OpKind.CONV_2D, [xs, wk, bk], (1,) + tuple(out_hw) + (co,), attrs_, f"/group{k}"))
    return b.op(OpKind.CONCATENATION, parts, (1,) + tuple(out_hw) + (o,), ir.ConcatAttrs(3))


def gemm(b: Builder) -> None:
    a = attrs(b.node)
    if a.get("transA", 0):
        raise b.fail("transA=1 is not supported")
    x = b.act_input(0)
    if len(x.shape) != 2:
        raise b.fail(f"input {list(x.shape)} is not 2-D")
    w = b.const_input(1, "B").astype(np.float32)
    w = (w if a.get("transB", 0) else w.T) * np.float32(a.get("alpha", 1.0))
    c = b.const_input(2, "C")
    bias = None
    if c is not None:
        bias = np.broadcast_to(np.asarray(c, np.float32) * np.float32(a.get("beta", 1.0)), (1, w.shape[0]))
        bias = bias.reshape(-1)
    _fully_connected(b, x, w, bias)


def _fully_connected(b: Builder, x: Val, w: np.ndarray, bias) -> None:
    """(1, K) @ w.T (+ bias) with w (units, K); a reordered flat input reorders w's columns instead."""
    if x.order is not None:
        w = w[:, x.order]
    if w.shape[1] != x.shape[-1]:
        raise b.fail(f"weights {list(w.shape)} do not match input {list(x.shape)}")
    wname = b.const(f"{b.name}/weights", w)
    bname = b.const(f"{b.name}/bias", bias) if bias is not None else None
    y = b.op(OpKind.FULLY_CONNECTED, [x.ir, wname, bname], (1, w.shape[0]), ir.FullyConnectedAttrs())
    b.set(0, Val((1, w.shape[0]), ir=y))


def matmul(b: Builder) -> None:
    """MatMul of an activation by a constant (K, M) matrix: FULLY_CONNECTED (`convert.finish` turns a following
    Add of a (M,) constant into its bias)."""
    x, wv = b.input(0), b.input(1)
    if x.is_const or not wv.is_const:
        raise b.fail("MatMul of two computed tensors is not supported (the second operand must be a constant)")
    w = np.asarray(wv.const, np.float32)
    if w.ndim != 2:
        raise b.fail(f"constant operand {list(w.shape)} is not a 2-D matrix")
    if len(x.shape) == 2:
        _fully_connected(b, x, w.T, None)
        return
    x = b.plain(x)
    wname = b.const(f"{b.name}/weights", w.T)
    shape = x.shape[:-1] + (w.shape[1],)
    y = b.op(OpKind.FULLY_CONNECTED, [x.ir, wname, None], shape, ir.FullyConnectedAttrs(keep_num_dims=True))
    b.set(0, Val(shape, ir=y))


def batch_norm(b: Builder) -> None:
    a = attrs(b.node)
    if a.get("training_mode", 0):
        raise b.fail("training_mode=1 is not supported (export the model in eval mode)")
    x = b.act_input(0)
    if len(x.shape) >= 3:
        x = b.channels_last(x)
    elif x.order is not None:
        x = b.plain(x)
    params = [b.const(f"{b.name}/{n}", b.const_input(i, n)) for i, n in
              enumerate(("scale", "B", "mean", "var"), start=1)]
    y = b.op(OpKind.BATCH_NORM, [x.ir] + params, b.ir_shape(x), ir.BatchNormAttrs(float(a.get("epsilon", 1e-5))))
    b.set(0, Val(x.shape, ir=y, perm=x.perm))


def pool(kind: OpKind):
    def convert(b: Builder) -> None:
        a = attrs(b.node)
        x, rank = spatial_input(b)
        _, h, wd, c = b.g.tensors[x].shape
        k = _per_dim(a["kernel_shape"], rank, 1)
        s = _per_dim(a.get("strides"), rank, 1)
        if any(d != 1 for d in a.get("dilations", [1])):
            raise b.fail(f"dilations {list(a['dilations'])} are not supported on a pool")
        pad = padding(b, a, rank, (h, wd), k, s, (1, 1))
        out = _out_hw((h, wd), k, s, (1, 1), pad)
        if a.get("ceil_mode", 0):
            ceil = tuple(-(-(n + lo + hi - kk) // ss) + 1 for n, kk, ss, (lo, hi) in
                         zip((h, wd), k, s, ((pad.top, pad.bottom), (pad.left, pad.right))))
            if ceil != out:
                raise b.fail("ceil_mode=1 adds a partial window here; export with ceil_mode=False")
        if kind == OpKind.AVERAGE_POOL_2D and a.get("count_include_pad", 0) and pad != ir.Padding():
            x = b.op(OpKind.PAD, [x], (1, h + pad.top + pad.bottom, wd + pad.left + pad.right, c),
                     ir.PadAttrs(((0, 0), (pad.top, pad.bottom), (pad.left, pad.right), (0, 0))), "/pad")
            pad = ir.Padding()
        y = b.op(kind, [x], (1, out[0], out[1], c), ir.Pool2DAttrs(k[0], k[1], s[0], s[1], pad))
        _finish_spatial(b, y, rank)
    return convert


def global_pool(kind: OpKind):
    def convert(b: Builder) -> None:
        x, rank = spatial_input(b)
        _, h, wd, c = b.g.tensors[x].shape
        if kind == OpKind.MEAN:
            y = b.op(OpKind.MEAN, [x], (1, 1, 1, c), ir.MeanAttrs(axes=(1, 2), keep_dims=True))
        else:
            y = b.op(kind, [x], (1, 1, 1, c), ir.Pool2DAttrs(h, wd, 1, 1))
        _finish_spatial(b, y, rank)
    return convert


CONVERTERS = {
    "Conv": conv, "Gemm": gemm, "MatMul": matmul, "BatchNormalization": batch_norm,
    "MaxPool": pool(OpKind.MAX_POOL_2D), "AveragePool": pool(OpKind.AVERAGE_POOL_2D),
    "GlobalAveragePool": global_pool(OpKind.MEAN), "GlobalMaxPool": global_pool(OpKind.MAX_POOL_2D),
}
