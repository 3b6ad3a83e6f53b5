"""ONNX activations and element-wise nodes -> IR ops that keep their input's layout (a constant operand is
permuted to it). Shape nodes live in `convert_shape.py`."""
from __future__ import annotations

import dataclasses

import numpy as np

from tinygen import ir
from tinygen.frontend.onnx.builder import Builder, Val
from tinygen.frontend.onnx.convert_shape import CONVERTERS as _SHAPE
from tinygen.frontend.onnx.fold import attrs
from tinygen.ir import OpKind


def _same_layout(b: Builder, v: Val, kind, attrs_=None, extra=(), suffix="") -> Val:
    y = b.op(kind, [v.ir, *extra], b.ir_shape(v), attrs_, suffix)
    return dataclasses.replace(v, ir=y)


def unary(kind, make_attrs=lambda a: ir.NoAttrs()):
    def convert(b: Builder) -> None:
        b.set(0, _same_layout(b, b.act_input(0), kind, make_attrs(attrs(b.node))))
    return convert


def clip(b: Builder) -> None:
    x = b.act_input(0)
    a = attrs(b.node)
    lo, hi = b.const_input(1, "min"), b.const_input(2, "max")
    lo = float(lo) if lo is not None else a.get("min", -np.inf)
    hi = float(hi) if hi is not None else a.get("max", np.inf)
    if (lo, hi) == (0.0, 6.0):
        b.set(0, _same_layout(b, x, OpKind.RELU6))
    elif lo == 0.0 and hi == np.inf:
        b.set(0, _same_layout(b, x, OpKind.RELU))
    else:
        _clamp(b, x, lo, hi)


def _clamp(b: Builder, x: Val, lo: float, hi: float) -> None:
    y = x
    if lo > -np.inf:
        y = _same_layout(b, y, OpKind.MAXIMUM, ir.NoAttrs(), [b.const(f"{b.name}/min", np.float32(lo))],
                         "/max" if hi < np.inf else "")
    if hi < np.inf:
        y = _same_layout(b, y, OpKind.MINIMUM, ir.NoAttrs(), [b.const(f"{b.name}/max", np.float32(hi))])
    b.set(0, y)


def hard_sigmoid(b: Builder) -> None:
    """max(0, min(1, alpha * x + beta)): MUL, ADD, then the clamp."""
    a = attrs(b.node)
    x = b.act_input(0)
    y = _same_layout(b, x, OpKind.MUL, ir.ElementwiseAttrs(), [b.const(f"{b.name}/alpha", np.float32(a.get("alpha", 0.2)))], "/mul")
    y = _same_layout(b, y, OpKind.ADD, ir.ElementwiseAttrs(), [b.const(f"{b.name}/beta", np.float32(a.get("beta", 0.5)))], "/add")
    _clamp(b, y, 0.0, 1.0)


def elu(b: Builder) -> None:
    if abs(attrs(b.node).get("alpha", 1.0) - 1.0) > 1e-7:
        raise b.fail(f"alpha {attrs(b.node)['alpha']} is not supported (only 1.0)")
    b.set(0, _same_layout(b, b.act_input(0), OpKind.ELU))


def softmax(kind):
    def convert(b: Builder) -> None:
        x = b.act_input(0)
        axis = attrs(b.node).get("axis", -1)
        if x.order is not None or b.ir_axis(x, axis) != len(x.shape) - 1:
            x = b.plain(x)
            if axis % len(x.shape) != len(x.shape) - 1:
                raise b.fail(f"softmax over axis {axis} is not supported (only the last axis)")
        y = b.op(kind, [x.ir], b.ir_shape(x), ir.SoftmaxAttrs(1.0) if kind == OpKind.SOFTMAX else ir.NoAttrs())
        b.set(0, Val(x.shape, ir=y, perm=x.perm))
    return convert


def prelu(b: Builder) -> None:
    x = b.act_input(0)
    slope = b.const_input(1, "slope")  # broadcast NumPy-style (PyTorch exports a per-channel slope as (C, 1, 1))
    b.set(0, _same_layout(b, x, OpKind.PRELU, ir.NoAttrs(), [b.const_like(x, slope, "slope")]))


def binary(kind: OpKind):
    def convert(b: Builder) -> None:
        if len(b.node.input) != 2:
            raise b.fail(f"{len(b.node.input)} inputs are not supported (2)")
        va, vb = b.input(0), b.input(1)
        if va.is_const and vb.is_const:
            raise b.fail("both operands are constants")
        if vb.is_const or va.is_const:
            _with_const(b, kind, va, vb)
            return
        if va.perm != vb.perm or len(va.shape) != len(vb.shape) or not _same_order(va, vb):
            va, vb = b.plain(va), b.plain(vb)
        shape = np.broadcast_shapes(va.shape, vb.shape)
        ir_shape = np.broadcast_shapes(b.ir_shape(va), b.ir_shape(vb))
        y = b.op(kind, [va.ir, vb.ir], ir_shape, _binary_attrs(kind))
        b.set(0, dataclasses.replace(va, shape=tuple(shape), ir=y))
    return convert


def _binary_attrs(kind: OpKind):
    return ir.NoAttrs() if kind in (OpKind.MAXIMUM, OpKind.MINIMUM) else ir.ElementwiseAttrs()


def _same_order(va: Val, vb: Val) -> bool:
    if va.order is None and vb.order is None:
        return True
    return va.order is not None and vb.order is not None and np.array_equal(va.order, vb.order)


def _with_const(b: Builder, kind: OpKind, va: Val, vb: Val) -> None:
    x, c, const_first = (va, vb.const, False) if vb.is_const else (vb, va.const, True)
    c = np.asarray(c, np.float32)
    if kind == OpKind.DIV:
        if const_first:
            raise b.fail("division of a constant by a computed tensor is not supported")
        kind, c = OpKind.MUL, (1.0 / c).astype(np.float32)
    shape = tuple(np.broadcast_shapes(x.shape, c.shape))
    if shape != tuple(x.shape):
        raise b.fail(f"constant {list(c.shape)} broadcasts the input {list(x.shape)} to {list(shape)}")
    cname = b.const_like(x, c, "const")
    ins = [cname, x.ir] if const_first else [x.ir, cname]
    y = b.op(kind, ins, b.ir_shape(x), _binary_attrs(kind))
    b.set(0, dataclasses.replace(x, ir=y))


def neg(b: Builder) -> None:
    x = b.act_input(0)
    b.set(0, _same_layout(b, x, OpKind.MUL, ir.ElementwiseAttrs(), [b.const(f"{b.name}/minus_one", np.float32(-1))]))


CONVERTERS = {
    "Neg": neg, "Abs": unary(OpKind.ABS),
    "Max": binary(OpKind.MAXIMUM), "Min": binary(OpKind.MINIMUM),
    "Relu": unary(OpKind.RELU), "Sigmoid": unary(OpKind.LOGISTIC), "Tanh": unary(OpKind.TANH),
    "HardSwish": unary(OpKind.HARD_SWISH),
    "LeakyRelu": unary(OpKind.LEAKY_RELU, lambda a: ir.LeakyReluAttrs(float(a.get("alpha", 0.01)))),
    "Clip": clip, "HardSigmoid": hard_sigmoid, "Elu": elu, "PRelu": prelu,
    "Softmax": softmax(OpKind.SOFTMAX), "LogSoftmax": softmax(OpKind.LOG_SOFTMAX),
    "Add": binary(OpKind.ADD), "Sub": binary(OpKind.SUB), "Mul": binary(OpKind.MUL), "Div": binary(OpKind.DIV),
}
CONVERTERS.update(_SHAPE)
