"""Keras 3 operation layers: `keras.ops` calls (and operators such as `x + 3.0`) on a symbolic tensor.

A functional Keras 3 model records `x + 3.0` as a node whose operation is `keras.src.ops.numpy.Add`, not
a layer: its node arguments mix the symbolic tensors with Python or NumPy constants. Each operation
class maps onto an existing IR op; the constant operands become constant tensors. An operation with no
mapping is refused in one line naming it.
"""
from __future__ import annotations

import numpy as np

from tinygen import ir
from tinygen.errors import UnsupportedError
from tinygen.ir import OpKind


def is_operation(layer) -> bool:
    """A keras.ops operation recorded in a functional model (not a Layer)."""
    import keras

    return not isinstance(layer, keras.layers.Layer) and type(layer).__module__.startswith("keras.src.ops")


def _fail(op, why: str) -> UnsupportedError:
    return UnsupportedError(f"layer '{op.name}' (keras.ops {type(op).__name__}): {why}")


def _operands(b, op, node) -> list:
    """The node's positional arguments: IR names for symbolic tensors, constant tensors for numbers."""
    out = []
    for k, a in enumerate(node.arguments.args):
        if id(a) in b.names:
            out.append(b.names[id(a)])
        elif isinstance(a, (int, float, np.number, np.ndarray)):
            out.append(b.const(f"{op.name}/operand{k}", np.asarray(a, np.float32)))
        else:
            raise _fail(op, f"argument {k} of type {type(a).__name__} is not supported")
    return out


def _binary(kind: OpKind):
    def convert(b, op, node, out_shape) -> str:
        ins = _operands(b, op, node)
        if len(ins) != 2 or all(b.g.tensors[t].is_const for t in ins):
            raise _fail(op, "needs two operands, at least one of them a tensor")
        return _binary_op(b, op, kind, ins, out_shape)
    return convert


def _binary_op(b, op, kind, ins, out_shape) -> str:
    if kind in (OpKind.ADD, OpKind.MUL, OpKind.MAXIMUM, OpKind.MINIMUM) and b.g.tensors[ins[0]].is_const:
        ins = ins[::-1]  # commutative: the tensor first, as TF's converter emits it
    attrs = ir.NoAttrs() if kind in (OpKind.MAXIMUM, OpKind.MINIMUM) else ir.ElementwiseAttrs()
    return b.op(kind, op.name, ins, out_shape, attrs)


def _divide(b, op, node, out_shape) -> str:
    """x / c is x * (1 / c); a tensor divisor is DIV."""
    ins = _operands(b, op, node)
    if len(ins) != 2 or b.g.tensors[ins[0]].is_const:
        raise _fail(op, "only a tensor divided by a constant or a tensor is supported")
    d = b.g.tensors[ins[1]]
    if d.is_const:
        if np.any(d.data == 0):
            raise _fail(op, "division by zero")
        ins[1] = b.const(f"{op.name}/reciprocal", (1.0 / d.data.astype(np.float64)).astype(np.float32))
        return _binary_op(b, op, OpKind.MUL, ins, out_shape)
    return b.op(OpKind.DIV, op.name, ins, out_shape, ir.ElementwiseAttrs())


def _unary(kind: OpKind, attrs=None):
    def convert(b, op, node, out_shape) -> str:
        ins = _operands(b, op, node)
        return b.op(kind, op.name, ins[:1], out_shape, attrs if attrs is not None else ir.NoAttrs())
    return convert


def _activation(name: str):
    def convert(b, op, node, out_shape) -> str:
        return b.activation_op(op, name, _operands(b, op, node)[0], op.name)
    return convert


def _axes(op, rank: int, axis) -> tuple:
    if axis is None:
        return tuple(range(1, rank))
    axes = tuple(int(a) % rank for a in (axis if isinstance(axis, (list, tuple)) else (axis,)))
    if 0 in axes:
        raise _fail(op, "an operation over the batch axis is not supported")
    return tuple(sorted(axes))


def _mean(b, op, node, out_shape) -> str:
    x = _operands(b, op, node)[0]
    axes = _axes(op, len(b.shape(x)), op.axis)
    return b.op(OpKind.MEAN, op.name, [x], out_shape, ir.MeanAttrs(axes, bool(op.keepdims)))


def _concatenate(b, op, node, out_shape) -> str:
    xs = node.arguments.args[0]
    names = []
    for k, t in enumerate(xs):
        if id(t) not in b.names:
            raise _fail(op, f"operand {k} is a constant; only tensors are concatenated")
        names.append(b.names[id(t)])
    axis = _axes(op, len(out_shape), op.axis)[0]
    return b.op(OpKind.CONCATENATION, op.name, names, out_shape, ir.ConcatAttrs(axis))


def _reshape(b, op, node, out_shape) -> str:
    """Reshape, ExpandDims, Squeeze, Flatten-like ops: Keras's output shape is the RESHAPE's."""
    return b.op(OpKind.RESHAPE, op.name, _operands(b, op, node)[:1], out_shape, ir.ReshapeAttrs())


def _transpose(b, op, node, out_shape) -> str:
    from tinygen.ops.layout_moves import TransposeAttrs

    x = _operands(b, op, node)[0]
    rank = len(b.shape(x))
    perm = tuple(range(rank))[::-1] if op.axes is None else tuple(int(a) % rank for a in op.axes)
    if perm[0] != 0:
        raise _fail(op, "a transpose that moves the batch axis is not supported")
    return b.op(OpKind.TRANSPOSE, op.name, [x], out_shape, TransposeAttrs(perm))


def _softmax(b, op, node, out_shape) -> str:
    axis = op.axis if isinstance(op.axis, int) else (op.axis[0] if len(op.axis) == 1 else None)
    if axis is None or axis % len(out_shape) != len(out_shape) - 1:
        raise _fail(op, f"softmax over axis {op.axis} is not supported (only the last axis)")
    return b.op(OpKind.SOFTMAX, op.name, _operands(b, op, node)[:1], out_shape, ir.SoftmaxAttrs(1.0))


def _leaky_relu(b, op, node, out_shape) -> str:
    x = _operands(b, op, node)[0]
    return b.op(OpKind.LEAKY_RELU, op.name, [x], out_shape, ir.LeakyReluAttrs(float(op.negative_slope)))


def _clip(b, op, node, out_shape) -> str:
    """clip(x, 0, 6) is RELU6, any other clip a MAXIMUM with the lower bound then a MINIMUM with the upper."""
    x = _operands(b, op, node)[0]
    lo_v, hi_v = np.asarray(op.x_min, np.float32), np.asarray(op.x_max, np.float32)
    if lo_v.size != 1 or hi_v.size != 1:
        raise _fail(op, "only scalar bounds are supported")
    if float(lo_v) == 0.0 and float(hi_v) == 6.0:
        return b.op(OpKind.RELU6, op.name, [x], out_shape)
    lo, hi = b.const(f"{op.name}/x_min", lo_v), b.const(f"{op.name}/x_max", hi_v)
    y = b.op(OpKind.MAXIMUM, f"{op.name}/min", [x, lo], out_shape)
    return b.op(OpKind.MINIMUM, op.name, [y, hi], out_shape)


def _lut(function: str, *param_attrs):
    """An activation op tinygen tabulates (tinygen/ops/lut.py), its parameters read from the operation."""
    def convert(b, op, node, out_shape) -> str:
        from tinygen.frontend.keras_act import lut_op

        return lut_op(b, _operands(b, op, node)[0], op.name, function, *(getattr(op, a) for a in param_attrs))
    return convert


def _gelu(b, op, node, out_shape) -> str:
    return _lut("gelu_tanh" if op.approximate else "gelu")(b, op, node, out_shape)


def _elu(b, op, node, out_shape) -> str:
    if float(op.alpha) == 1.0:
        return _unary(OpKind.ELU)(b, op, node, out_shape)
    return _lut("elu", "alpha")(b, op, node, out_shape)


def _log_softmax(b, op, node, out_shape) -> str:
    axis = op.axis if isinstance(op.axis, int) else (op.axis[0] if len(op.axis) == 1 else None)
    if axis is None or axis % len(out_shape) != len(out_shape) - 1:
        raise _fail(op, f"log_softmax over axis {op.axis} is not supported (only the last axis)")
    return _activation("log_softmax")(b, op, node, out_shape)


OPS = {
    "Add": _binary(OpKind.ADD), "Subtract": _binary(OpKind.SUB), "Multiply": _binary(OpKind.MUL),
    "Maximum": _binary(OpKind.MAXIMUM), "Minimum": _binary(OpKind.MINIMUM),
    "TrueDivide": _divide, "Divide": _divide,
    "Relu": _unary(OpKind.RELU), "Relu6": _unary(OpKind.RELU6), "Sigmoid": _unary(OpKind.LOGISTIC),
    "Tanh": _unary(OpKind.TANH), "HardSilu": _unary(OpKind.HARD_SWISH), "HardSwish": _unary(OpKind.HARD_SWISH),
    "Silu": _activation("silu"), "Swish": _activation("silu"), "LeakyRelu": _leaky_relu, "Softmax": _softmax,
    "Mean": _mean, "Concatenate": _concatenate, "Reshape": _reshape, "ExpandDims": _reshape,
    "Squeeze": _reshape, "Transpose": _transpose, "Clip": _clip,
    "Gelu": _gelu, "Elu": _elu, "LogSoftmax": _log_softmax, "HardSigmoid": _activation("hard_sigmoid"),
    "Softsign": _activation("softsign"), "Selu": _lut("selu"), "Softplus": _lut("softplus"),
    "Exp": _lut("exponential"), "Celu": _lut("celu", "alpha"), "HardShrink": _lut("hard_shrink", "threshold"),
    "SoftShrink": _lut("soft_shrink", "threshold"), "HardTanh": _lut("hard_tanh"),
    "LogSigmoid": _lut("log_sigmoid"), "SparsePlus": _lut("sparse_plus"), "SparseSigmoid": _lut("sparse_sigmoid"),
    "Squareplus": _lut("squareplus", "b"), "TanhShrink": _lut("tanh_shrink"),
    "Threshold": _lut("threshold", "threshold", "default_value"),
    "Sin": _lut("sin"), "Cos": _lut("cos"), "Erf": _lut("erf"), "Expm1": _lut("expm1"), "Square": _lut("square"),
    "Negative": _lut("negative"), "Arctan": _lut("arctan"), "Sinh": _lut("sinh"), "Cosh": _lut("cosh"),
    "Arcsinh": _lut("arcsinh"),
}


def convert(b, op, node, out_shape) -> str:
    """The IR output of operation `op` (a keras.ops call) recorded at functional `node`."""
    fn = OPS.get(type(op).__name__)
    if fn is None:
        raise UnsupportedError(f"layer '{op.name}' (keras.ops {type(op).__name__}) is not supported")
    return fn(b, op, node, tuple(out_shape))
