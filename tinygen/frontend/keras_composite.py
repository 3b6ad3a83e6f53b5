"""Keras layers that become several IR ops, laid out as TF's converter writes them: LayerNormalization,
RepeatVector, Average (MultiHeadAttention: frontend/keras_attention.py; transposed convolutions:
frontend/keras_deconv.py).

LayerNormalization over the last axis: MEAN (keep dims), SQUARED_DIFFERENCE with the mean, MEAN, ADD
epsilon, RSQRT, MUL gamma (scale=True), then x * inv + (beta - mean * inv) (center=True) or
x * inv - mean * inv. TF's converter writes the same chain with NEG of the mean in float between
DEQUANTIZE / QUANTIZE (TFLM has no integer NEG) and ADDs; tinygen SUBtracts instead, so the whole chain
stays integer.
"""
from __future__ import annotations

import numpy as np

from tinygen import ir
from tinygen.frontend import keras_attention
from tinygen.ir import OpKind
from tinygen.ops.common import keras_fail


def _last_axis(layer, axis, rank: int) -> None:
    axes = axis if isinstance(axis, (list, tuple)) else [axis]
    if len(axes) != 1 or int(axes[0]) % rank != rank - 1:
        raise keras_fail(layer, f"axis={axis} is not supported (only the last axis)")


def layer_norm(b, layer, cfg, ins, out_shape) -> str:
    x, n = ins[0], layer.name
    shape = b.shape(x)
    _last_axis(layer, cfg.get("axis", -1), len(shape))
    if cfg.get("rms_scaling"):
        raise keras_fail(layer, "rms_scaling=True is not supported")
    weights = {w.path.split("/")[-1]: np.asarray(w.numpy(), np.float32) for w in layer.weights}
    red = tuple(shape[:-1]) + (1,)
    ew = ir.ElementwiseAttrs
    mean = b.op(OpKind.MEAN, f"{n}/mean", [x], red, ir.MeanAttrs((len(shape) - 1,), True))
    sq = b.op(OpKind.SQUARED_DIFFERENCE, f"{n}/squared_difference", [x, mean], shape)
    var = b.op(OpKind.MEAN, f"{n}/variance", [sq], red, ir.MeanAttrs((len(shape) - 1,), True))
    var = b.op(OpKind.ADD, f"{n}/add_epsilon", [var, b.const(f"{n}/epsilon", np.float32(cfg["epsilon"]))],
               red, ew())
    inv = b.op(OpKind.RSQRT, f"{n}/rsqrt", [var], red)
    if cfg.get("scale", True):
        inv = b.op(OpKind.MUL, f"{n}/mul_gamma", [inv, b.const(f"{n}/gamma", weights["gamma"])], shape, ew())
    scaled = b.op(OpKind.MUL, f"{n}/mul_x", [x, inv], shape, ew())
    shift = b.op(OpKind.MUL, f"{n}/mul_mean", [mean, inv], b.shape(inv), ew())
    if not cfg.get("center", True):
        return b.op(OpKind.SUB, n, [scaled, shift], shape, ew())
    res = b.op(OpKind.SUB, f"{n}/beta_sub", [b.const(f"{n}/beta", weights["beta"]), shift], shape, ew())
    return b.op(OpKind.ADD, n, [scaled, res], shape, ew())


def repeat_vector(b, layer, cfg, ins, out_shape) -> str:
    """(1, d) -> (1, n, d): RESHAPE to (1, 1, d), then BROADCAST_TO (TF's converter: TILE, which TFLM
    lacks for int8)."""
    x = ins[0]
    r = b.op(OpKind.RESHAPE, f"{layer.name}/reshape", [x], (1, 1) + tuple(b.shape(x)[1:]), ir.ReshapeAttrs())
    return b.op(OpKind.BROADCAST_TO, layer.name, [r], out_shape, ir.NoAttrs())


def average(b, layer, cfg, ins, out_shape) -> str:
    """Average of n tensors: ADDs, then MUL by 1/n (as TF's converter writes keras Average)."""
    if len(ins) < 2:
        raise keras_fail(layer, f"{len(ins)} inputs are not supported (needs 2 or more)")
    acc = ins[0]
    for k, t in enumerate(ins[1:]):
        acc = b.op(OpKind.ADD, f"{layer.name}/add{k}", [acc, t], out_shape, ir.ElementwiseAttrs())
    inv = b.const(f"{layer.name}/inverse_count", np.float32(1.0 / len(ins)))
    return b.op(OpKind.MUL, layer.name, [acc, inv], out_shape, ir.ElementwiseAttrs())


HANDLERS = {"LayerNormalization": layer_norm, "RepeatVector": repeat_vector, "Average": average,
            **keras_attention.HANDLERS}
