"""Keras layers that become several IR ops, laid out as TF's converter writes them: LayerNormalization,
RepeatVector, Average, UpSampling1D, DepthwiseConv1D, SeparableConv1D
(MultiHeadAttention: frontend/keras_attention.py; transposed convolutions:
frontend/keras_deconv.py).

LayerNormalization over the last axis: MEAN (keep dims), SQUARED_DIFFERENCE with the mean, MEAN, ADD
epsilon, RSQRT, MUL gamma (scale=True), then x * inv - mean * inv (SUB), + beta (ADD, center=True).
TF's converter writes the same chain with NEG of the mean in float between DEQUANTIZE / QUANTIZE (TFLM
has no integer NEG) and ADDs (x * inv + (beta + -mean * inv)); tinygen SUBtracts instead, so the whole
chain stays integer (and 16x8 builds: beta - mean * inv as one SUB can need an output rescale above
the 1 TFLM's int16 SUB accepts).
"""
from __future__ import annotations

import numpy as np

from tinygen import ir
from tinygen.frontend import keras_attention, keras_deconv
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
    y = b.op(OpKind.SUB, f"{n}/sub", [scaled, shift], shape, ew())
    return b.op(OpKind.ADD, n, [y, b.const(f"{n}/beta", weights["beta"])], shape, ew())


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


def upsampling1d(b, layer, cfg, ins, out_shape) -> str:
    """Each step repeated `size` times: RESHAPE (1, W, 1, C), BROADCAST_TO (1, W, size, C), RESHAPE."""
    x = ins[0]
    _, w, c = b.shape(x)
    size = int(cfg["size"])
    r = b.op(OpKind.RESHAPE, f"{layer.name}/expand", [x], (1, w, 1, c), ir.ReshapeAttrs())
    r = b.op(OpKind.BROADCAST_TO, f"{layer.name}/repeat", [r], (1, w, size, c), ir.NoAttrs())
    return b.op(OpKind.RESHAPE, layer.name, [r], (1, w * size, c), ir.ReshapeAttrs())


def _conv1d_as_2d(b, layer, cfg) -> dict:
    """A 1-D conv layer's config for the 2-D converter: strides and dilation (1, k); causal is refused."""
    if cfg.get("padding") == "causal":
        raise keras_fail(layer, "padding='causal' is not supported for this layer (Conv1D takes it)")
    return dict(cfg, strides=(1, int(cfg["strides"][0])), dilation_rate=(1, int(cfg["dilation_rate"][0])))


def depthwise_conv1d(b, layer, cfg, ins, out_shape) -> str:
    """DepthwiseConv1D (any depth_multiplier): the DEPTHWISE_CONV_2D of its (1, 1, W, C) form."""
    from tinygen.ops.common import keras_expand
    from tinygen.ops.conv import keras_depthwise

    x = keras_expand(b, layer, ins[0])
    bias = layer.bias.numpy() if cfg.get("use_bias", True) else None
    y = keras_depthwise(b, layer, _conv1d_as_2d(b, layer, cfg), [x], None, kernel=layer.kernel.numpy()[None],
                        bias=bias, fuse_act=False)
    y = b.op(OpKind.RESHAPE, f"{layer.name}/squeeze", [y], tuple(out_shape), ir.ReshapeAttrs())
    return b.activation(layer, cfg.get("activation"), y)


def separable_conv1d(b, layer, cfg, ins, out_shape) -> str:
    """SeparableConv1D: DEPTHWISE_CONV_2D then a 1x1 CONV_2D on the (1, 1, W, C) form."""
    from tinygen.ops.common import keras_expand
    from tinygen.ops.conv import keras_depthwise

    x = keras_expand(b, layer, ins[0])
    dw = layer.depthwise_kernel.numpy()[None]
    zeros = np.zeros(dw.shape[2] * dw.shape[3], np.float32)  # as TF's converter (16x8: TFLM needs a bias)
    y = keras_depthwise(b, layer, _conv1d_as_2d(b, layer, cfg), [x], None, kernel=dw, bias=zeros, fuse_act=False)
    pw = layer.pointwise_kernel.numpy()  # (1, C*M, O)
    wname = b.const(f"{layer.name}/pointwise_kernel", np.transpose(pw[None], (3, 0, 1, 2)))
    bname = b.const(f"{layer.name}/bias", layer.bias.numpy()) if cfg.get("use_bias", True) else None
    y = b.op(OpKind.CONV_2D, f"{layer.name}/pointwise", [y, wname, bname], (1, 1, out_shape[1], out_shape[2]),
             ir.Conv2DAttrs(1, 1))
    y = b.op(OpKind.RESHAPE, f"{layer.name}/squeeze", [y], tuple(out_shape), ir.ReshapeAttrs())
    return b.activation(layer, cfg.get("activation"), y)


HANDLERS = {"LayerNormalization": layer_norm, "RepeatVector": repeat_vector, "Average": average,
            "UpSampling1D": upsampling1d, "DepthwiseConv1D": depthwise_conv1d, "SeparableConv1D": separable_conv1d,
            **keras_attention.HANDLERS, **keras_deconv.HANDLERS}
