"""Keras activations (the `activation=` argument, the Activation layer, keras.ops activation calls) as IR ops.

Where TFLite has an integer op the graph is what TF's converter writes: relu, relu6, sigmoid, tanh,
softmax, log_softmax, leaky_relu, hard_swish / hard_silu, elu are one op each; silu / swish is LOGISTIC
then MUL; hard_sigmoid is ADD 3 (fused RELU6) then MUL 1/6; softsign is ABS, ADD 1, DIV. The functions
TF's converter writes with float-only ops (EXP, LOG, GELU) become tinygen's LUT op (tinygen/ops/lut.py).
"""
from __future__ import annotations

import numpy as np

from tinygen import ir
from tinygen.ir import OpKind
from tinygen.ops.common import keras_fail
from tinygen.ops.lut import LutAttrs
from tinygen.ops.spec import keras_activations

# activations that are not element-wise functions of one value
_NOT_ELEMENTWISE = {"glu": "it halves the last axis", "sparsemax": "it normalises over the last axis"}


def _const(b, name: str, value: float) -> str:
    return b.const(name, np.float32(value))


def _silu(b, x, op_name):
    sig = b.op(OpKind.LOGISTIC, f"{op_name}/sigmoid", [x], b.shape(x))
    return b.op(OpKind.MUL, op_name, [x, sig], b.shape(x), ir.ElementwiseAttrs())


def _hard_sigmoid(b, x, op_name):
    """relu6(x + 3) / 6, as TF's converter writes it: ADD with a fused RELU6, then MUL by 1/6."""
    y = b.op(OpKind.ADD, f"{op_name}/add", [x, _const(b, f"{op_name}/three", 3.0)], b.shape(x),
             ir.ElementwiseAttrs(ir.Activation.RELU6))
    return b.op(OpKind.MUL, op_name, [y, _const(b, f"{op_name}/sixth", 1.0 / 6.0)], b.shape(x),
                ir.ElementwiseAttrs())


def _softsign(b, x, op_name):
    """x / (|x| + 1), as TF's converter writes it: ABS, ADD 1, DIV."""
    a = b.op(OpKind.ABS, f"{op_name}/abs", [x], b.shape(x))
    d = b.op(OpKind.ADD, f"{op_name}/add", [a, _const(b, f"{op_name}/one", 1.0)], b.shape(x),
             ir.ElementwiseAttrs())
    return b.op(OpKind.DIV, op_name, [x, d], b.shape(x), ir.ElementwiseAttrs())


def _log_softmax(b, x, op_name):
    return b.op(OpKind.LOG_SOFTMAX, op_name, [x], b.shape(x))


_COMPOSITE = {"silu": _silu, "swish": _silu, "hard_sigmoid": _hard_sigmoid, "softsign": _softsign,
              "log_softmax": _log_softmax}
COMPOSITE_NAMES = tuple(_COMPOSITE)  # for docs/operators.md


def activation_op(b, layer, name: str, x: str, op_name: str) -> str:
    """The op(s) of the Keras activation `name` (default parameters) on x."""
    if name == "linear":
        return x
    if name in _COMPOSITE:
        return _COMPOSITE[name](b, x, op_name)
    if name in _NOT_ELEMENTWISE:
        raise keras_fail(layer, f"activation '{name}' is not supported ({_NOT_ELEMENTWISE[name]})")
    activations = keras_activations()
    if name not in activations:
        raise keras_fail(layer, f"activation '{name}' is not supported")
    kind, attrs = activations[name]
    return b.op(kind, op_name, [x], b.shape(x), attrs)


def relu_op(b, layer, x: str, op_name: str, negative_slope=0.0, max_value=None, threshold=0.0) -> str:
    """Keras relu with its options: RELU, RELU6, LEAKY_RELU, RELU + MINIMUM (a max_value other than 6, as
    TF's converter writes it), and the LUT for a threshold or a negative slope with a max_value."""
    slope, thr = float(negative_slope or 0.0), float(threshold or 0.0)
    mx = None if max_value is None else float(max_value)
    shape = b.shape(x)
    if thr == 0.0 and slope == 0.0:
        if mx is None:
            return b.op(OpKind.RELU, op_name, [x], shape)
        if mx == 6.0:
            return b.op(OpKind.RELU6, op_name, [x], shape)
        if mx > 0.0:
            y = b.op(OpKind.RELU, f"{op_name}/relu", [x], shape)
            return b.op(OpKind.MINIMUM, op_name, [y, _const(b, f"{op_name}/max_value", mx)], shape)
    if thr == 0.0 and mx is None:
        return b.op(OpKind.LEAKY_RELU, op_name, [x], shape, ir.LeakyReluAttrs(slope))
    return b.op(OpKind.LUT, op_name, [x], shape, LutAttrs("relu", (slope, mx, thr)))


def lut_op(b, x: str, op_name: str, function: str, *params) -> str:
    return b.op(OpKind.LUT, op_name, [x], b.shape(x), LutAttrs(function, tuple(float(p) for p in params)))
