"""BATCH_NORM: a float-only op of the Keras frontend that the passes fold away before quantization."""
from __future__ import annotations

import numpy as np

from tinygen import ir
from tinygen.ir import OpKind
from tinygen.ops.checks import check_same_shape
from tinygen.ops.common import keras_fail
from tinygen.ops.spec import KerasLayer, NotApplicable, OpSpec, register


def float_batch_norm(op, ins, out_shape, graph):
    x, gamma, beta, mean, var = ins
    return (x - mean) / np.sqrt(var + op.attrs.epsilon) * gamma + beta


def keras_batch_norm(b, layer, cfg, ins, out_shape) -> str:
    x = ins[0]
    rank = len(b.shape(x))
    axes = cfg["axis"] if isinstance(cfg["axis"], (list, tuple)) else [cfg["axis"]]
    if len(axes) != 1 or axes[0] % rank != rank - 1:
        raise keras_fail(layer, f"normalization over axis {cfg['axis']} is not supported (only the last axis)")
    c = b.shape(x)[-1]
    gamma = layer.gamma.numpy() if cfg.get("scale", True) else np.ones(c, np.float32)
    beta = layer.beta.numpy() if cfg.get("center", True) else np.zeros(c, np.float32)
    consts = [b.const(f"{layer.name}/{n}", v) for n, v in
              (("gamma", gamma), ("beta", beta), ("moving_mean", layer.moving_mean.numpy()),
               ("moving_variance", layer.moving_variance.numpy()))]
    return b.op(OpKind.BATCH_NORM, layer.name, [x] + consts, out_shape, ir.BatchNormAttrs(float(cfg["epsilon"])))


_FOLDED = "passes.fold_batchnorm removes it before quantization (into the producer, or a MUL + ADD)"

register(
    OpSpec(OpKind.BATCH_NORM, "inference batch normalization over the last axis (float only)",
           tflite=NotApplicable("TFLite converters fold batch norm; no builtin maps to it"),
           keras=(KerasLayer("BatchNormalization", keras_batch_norm),),
           checks=(check_same_shape,), float_ref=float_batch_norm,
           bounds=NotApplicable(_FOLDED), export=NotApplicable(_FOLDED), kernels=NotApplicable(_FOLDED),
           inputs=(5, 5), activation_input=False),
)
