"""Keras MultiHeadAttention -> IR, laid out as TF's converter writes it (batch 1, rank-3 inputs, the
default attention axis, no mask):

    q = FULLY_CONNECTED(query)  -> RESHAPE (1, T, H, dk) -> TRANSPOSE (1, H, T, dk)
    k = FULLY_CONNECTED(key)    -> RESHAPE (1, S, H, dk) -> TRANSPOSE (1, H, dk, S)
    v = FULLY_CONNECTED(value)  -> RESHAPE (1, S, H, dv) -> TRANSPOSE (1, H, S, dv)
    p = SOFTMAX(BATCH_MATMUL(q, k))                          (1, H, T, S)
    y = BATCH_MATMUL(p, v) -> TRANSPOSE (1, T, H, dv) -> RESHAPE (1, T, H * dv) -> FULLY_CONNECTED

Keras scales the query by 1 / sqrt(key_dim) before the scores; TF's converter keeps that as a MUL of the
scores, tinygen folds it into the query projection's weights and bias (the same real function, one
requantization fewer). Dropout is the identity at inference.
"""
from __future__ import annotations

import math

import numpy as np

from tinygen import ir
from tinygen.ir import OpKind
from tinygen.ops.common import keras_fail


def _inputs(b, layer) -> tuple:
    """(query, value, key) IR names from the functional node; refuses masks and attention scores."""
    node = getattr(b, "node", None)
    if node is None or node.operation is not layer:
        raise keras_fail(layer, "is supported in functional models only")
    args, kwargs = list(node.arguments.args), dict(node.arguments.kwargs)
    names = ("query", "value", "key")
    for k, a in enumerate(args[:3]):
        kwargs.setdefault(names[k], a)
    for opt in ("attention_mask", "query_mask", "value_mask", "key_mask"):
        if kwargs.get(opt) is not None:
            raise keras_fail(layer, f"{opt} is not supported")
    for opt in ("use_causal_mask", "return_attention_scores"):
        if kwargs.get(opt):
            raise keras_fail(layer, f"{opt}=True is not supported")
    try:
        q, v = b.names[id(kwargs["query"])], b.names[id(kwargs["value"])]
        k = b.names[id(kwargs["key"])] if kwargs.get("key") is not None else v
    except KeyError:
        raise keras_fail(layer, "query, key and value must be tensors of the model") from None
    return q, v, k


def _check_config(layer, cfg, shapes) -> None:
    if any(len(s) != 3 for s in shapes):
        raise keras_fail(layer, f"inputs of shapes {[list(s) for s in shapes]} are not supported "
                                "(only (batch, sequence, features))")
    if tuple(cfg.get("attention_axes") or (1,)) != (1,):
        raise keras_fail(layer, f"attention_axes={cfg['attention_axes']} is not supported")
    if cfg.get("use_gate"):
        raise keras_fail(layer, "use_gate=True is not supported")
    if cfg.get("sliding_window") is not None:
        raise keras_fail(layer, f"sliding_window={cfg['sliding_window']} is not supported")


def _weights(layer) -> dict:
    return {"/".join(w.path.split("/")[-2:]): np.asarray(w.numpy(), np.float32) for w in layer.weights}


def _project(b, n, x, kernel, bias, scale=1.0) -> str:
    """FULLY_CONNECTED of x (1, T, E) with an EinsumDense kernel (E, H, d) -> (1, T, H * d)."""
    e = kernel.shape[0]
    w = (kernel.reshape(e, -1).T * np.float32(scale)).astype(np.float32)
    bias = np.zeros(w.shape[0], np.float32) if bias is None else bias.reshape(-1) * np.float32(scale)
    bname = b.const(f"{n}/bias", bias.astype(np.float32))  # zeros without one (16x8 FCs need a bias)
    shape = tuple(b.shape(x)[:-1]) + (w.shape[0],)
    return b.op(OpKind.FULLY_CONNECTED, n, [x, b.const(f"{n}/kernel", w), bname], shape,
                ir.FullyConnectedAttrs(keep_num_dims=True))


def _heads(b, n, x, heads: int, depth: int, perm: tuple) -> str:
    from tinygen.ops.layout_moves import TransposeAttrs

    s = b.shape(x)
    r = b.op(OpKind.RESHAPE, f"{n}/reshape", [x], (1, s[1], heads, depth), ir.ReshapeAttrs())
    rs = b.shape(r)
    return b.op(OpKind.TRANSPOSE, f"{n}/transpose", [r], tuple(rs[p] for p in perm), TransposeAttrs(perm))


def multi_head_attention(b, layer, cfg, ins, out_shape) -> str:
    return attention(b, layer, cfg, *_inputs(b, layer), out_shape)


def attention(b, layer, cfg, q_in: str, v_in: str, k_in: str, out_shape) -> str:
    """The layer on the IR tensors q_in, v_in, k_in (module docstring)."""
    from tinygen.ops.layout_moves import TransposeAttrs
    from tinygen.ops.matmul import BatchMatMulAttrs

    _check_config(layer, cfg, [b.shape(t) for t in (q_in, v_in, k_in)])
    n, h, dk = layer.name, int(cfg["num_heads"]), int(cfg["key_dim"])
    dv = int(cfg.get("value_dim") or dk)
    w = _weights(layer)
    bias = (lambda key: w.get(f"{key}/bias")) if cfg.get("use_bias", True) else (lambda key: None)
    q = _project(b, f"{n}/query", q_in, w["query/kernel"], bias("query"), 1.0 / math.sqrt(dk))
    k = _project(b, f"{n}/key", k_in, w["key/kernel"], bias("key"))
    v = _project(b, f"{n}/value", v_in, w["value/kernel"], bias("value"))
    q = _heads(b, f"{n}/query", q, h, dk, (0, 2, 1, 3))
    k = _heads(b, f"{n}/key", k, h, dk, (0, 2, 3, 1))
    v = _heads(b, f"{n}/value", v, h, dv, (0, 2, 1, 3))
    t, s = b.shape(q)[2], b.shape(k)[3]
    scores = b.op(OpKind.BATCH_MATMUL, f"{n}/scores", [q, k], (1, h, t, s), BatchMatMulAttrs())
    probs = b.op(OpKind.SOFTMAX, f"{n}/softmax", [scores], (1, h, t, s), ir.SoftmaxAttrs(1.0))
    ctx = b.op(OpKind.BATCH_MATMUL, f"{n}/context", [probs, v], (1, h, t, dv), BatchMatMulAttrs())
    ctx = b.op(OpKind.TRANSPOSE, f"{n}/context/transpose", [ctx], (1, t, h, dv), TransposeAttrs((0, 2, 1, 3)))
    ctx = b.op(OpKind.RESHAPE, f"{n}/context/reshape", [ctx], (1, t, h * dv), ir.ReshapeAttrs())
    ko = w["attention_output/kernel"]  # (H, dv, E_out)
    out = _project(b, f"{n}/attention_output", ctx, ko.reshape(h * dv, 1, -1), bias("attention_output"))
    if tuple(b.shape(out)) != tuple(out_shape):
        raise keras_fail(layer, f"output shape {list(b.shape(out))} differs from Keras's {list(out_shape)}")
    b.g.ops[-1].name = n  # the last op carries the layer's name
    return out


HANDLERS = {"MultiHeadAttention": multi_head_attention}
