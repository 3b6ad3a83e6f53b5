"""Elementwise activations: SOFTMAX, LOGISTIC, TANH, RELU, RELU6, LEAKY_RELU, HARD_SWISH."""
from __future__ import annotations

import math

import numpy as np

from tinygen import ir
from tinygen.fmath import sigmoid
from tinygen.ir import OpKind
from tinygen.ops.checks import CheckContext, check_same_shape
from tinygen.ops.common import export_no_options, keras_fail
from tinygen.ops.spec import QAT_RANGED, KerasLayer, Lowering, NotApplicable, OpSpec, TfliteOp, register
from tinygen.ops.tflite_context import OpContext, tflite_unary

# ---- checks ------------------------------------------------------------------------------------


def check_softmax_beta(c: CheckContext) -> None:
    """beta is finite and > 0"""
    if not (math.isfinite(c.a.beta) and c.a.beta > 0):
        raise c.bad(f"beta {c.a.beta} must be finite and > 0")


def check_softmax_class_axis(c: CheckContext) -> None:
    """the input has a last (class) axis of at least one element"""
    x = c.ins[0]
    if not x.shape or x.shape[-1] < 1:
        raise c.bad(f"input '{x.name}' {list(x.shape)} has no class axis")


def check_leaky_alpha(c: CheckContext) -> None:
    """alpha is finite"""
    if not math.isfinite(c.a.alpha):
        raise c.bad(f"alpha {c.a.alpha} must be finite")


# ---- float reference ---------------------------------------------------------------------------


def float_softmax(op, ins, out_shape, graph):
    z = ins[0] * op.attrs.beta
    e = np.exp(z - z.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


def float_logistic(op, ins, out_shape, graph):
    return sigmoid(ins[0])


def float_tanh(op, ins, out_shape, graph):
    return np.tanh(ins[0])


def float_relu(op, ins, out_shape, graph):
    return np.maximum(ins[0], 0)


def float_relu6(op, ins, out_shape, graph):
    return np.clip(ins[0], 0, 6)


def float_leaky_relu(op, ins, out_shape, graph):
    return np.where(ins[0] >= 0, ins[0], ins[0] * op.attrs.alpha)


def float_hard_swish(op, ins, out_shape, graph):
    return ins[0] * np.clip(ins[0] + 3, 0, 6) / 6


# ---- TFLite export -----------------------------------------------------------------------------


def export_softmax(w, op, ins, outs) -> None:
    w.emit("SOFTMAX", ins, outs, "SoftmaxOptions", (("Beta", float(op.attrs.beta)),))


def export_leaky_relu(w, op, ins, outs) -> None:
    w.emit("LEAKY_RELU", ins, outs, "LeakyReluOptions", (("Alpha", float(op.attrs.alpha)),))


# ---- Keras converters --------------------------------------------------------------------------


def keras_relu(b, layer, cfg, ins, out_shape) -> str:
    """ReLU layer with all its options (frontend/keras_act.relu_op: RELU, RELU6, LEAKY_RELU, RELU + MINIMUM,
    or the LUT op for a threshold)."""
    from tinygen.frontend.keras_act import relu_op

    return relu_op(b, layer, ins[0], layer.name, cfg.get("negative_slope"), cfg.get("max_value"),
                   cfg.get("threshold"))


def keras_leaky(b, layer, cfg, ins, out_shape) -> str:
    alpha = cfg.get("negative_slope", cfg.get("alpha", 0.3))
    return b.op(OpKind.LEAKY_RELU, layer.name, ins, out_shape, ir.LeakyReluAttrs(float(alpha)))


def keras_softmax(b, layer, cfg, ins, out_shape) -> str:
    axis = cfg.get("axis", -1)
    axis = axis[0] if isinstance(axis, (list, tuple)) and len(axis) == 1 else axis
    if not isinstance(axis, int) or axis % len(out_shape) != len(out_shape) - 1:
        raise keras_fail(layer, f"softmax over axis {cfg.get('axis')} is not supported (only the last axis)")
    return b.op(OpKind.SOFTMAX, layer.name, ins, out_shape, ir.SoftmaxAttrs(1.0))


# ---- TFLite converters ------------------------------------------------------------------------


def tflite_softmax(c: OpContext):
    c.input(0)
    return OpKind.SOFTMAX, ir.SoftmaxAttrs(float(np.float32(c.op.options["Beta"]))), [c.op.inputs[0]]


def tflite_leaky_relu(c: OpContext):
    c.input(0)
    return OpKind.LEAKY_RELU, ir.LeakyReluAttrs(float(np.float32(c.op.options["Alpha"]))), [c.op.inputs[0]]


# ---- specs -------------------------------------------------------------------------------------

_NO_BOUNDS = NotApplicable("no accumulator rule: the accumulator bounds (lower/bounds.py) cover weighted sums and pool/mean sums only")
_NO_LAYER = NotApplicable("no Keras layer class of its own; see keras_activations (activation=...)")


def _spec(kind, summary, float_ref, keras, activations, dtypes, checks=(check_same_shape,), export=export_no_options,
          tflite=None, options=None):
    return OpSpec(kind, summary, tflite=(TfliteOp(kind.value, tflite or tflite_unary(kind), options),), keras=keras, checks=checks, float_ref=float_ref,
                  bounds=_NO_BOUNDS, export=export, kernels=Lowering(dtypes), keras_activations=activations)


register(
    _spec(OpKind.SOFTMAX, "softmax over the last axis, exp(beta * x) normalised", float_softmax,
          (KerasLayer("Softmax", keras_softmax, QAT_RANGED),), (("softmax", ir.SoftmaxAttrs(1.0)),), ("int8", "int16"),
          checks=(check_same_shape, check_softmax_beta, check_softmax_class_axis), export=export_softmax,
          tflite=tflite_softmax,
          options=("SoftmaxOptions", ("Beta",))),
    _spec(OpKind.LOGISTIC, "sigmoid 1 / (1 + exp(-x))", float_logistic, _NO_LAYER,
          (("sigmoid", ir.NoAttrs()),), ("int8", "int16")),
    _spec(OpKind.TANH, "hyperbolic tangent", float_tanh, _NO_LAYER, (("tanh", ir.NoAttrs()),), ("int8", "int16")),
    _spec(OpKind.RELU, "max(x, 0); fused into the producer when the passes can", float_relu,
          (KerasLayer("ReLU", keras_relu, QAT_RANGED),), (("relu", ir.NoAttrs()),), ("int8", "int16")),
    _spec(OpKind.RELU6, "min(max(x, 0), 6); fused into the producer when the passes can", float_relu6,
          NotApplicable("no layer class of its own: Keras ReLU(max_value=6) (under RELU) or activation='relu6'"),
          (("relu6", ir.NoAttrs()),), ("int8", "int16")),
    _spec(OpKind.LEAKY_RELU, "x for x >= 0, alpha * x below", float_leaky_relu,
          (KerasLayer("LeakyReLU", keras_leaky, QAT_RANGED),), (("leaky_relu", ir.LeakyReluAttrs(0.2)),),
          ("int8", "int16"),
          checks=(check_same_shape, check_leaky_alpha), export=export_leaky_relu, tflite=tflite_leaky_relu,
          options=("LeakyReluOptions", ("Alpha",))),
    _spec(OpKind.HARD_SWISH, "x * relu6(x + 3) / 6", float_hard_swish, _NO_LAYER,
          (("hard_swish", ir.NoAttrs()), ("hard_silu", ir.NoAttrs())), ("int8",)),
)
