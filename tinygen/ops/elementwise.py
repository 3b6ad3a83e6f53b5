"""Binary ops with NumPy broadcasting: ADD, SUB, MUL."""
from __future__ import annotations

import numpy as np

from tinygen import ir
from tinygen.ir import OpKind
from tinygen.ops.checks import CheckContext
from tinygen.ops.common import TFLITE_ACT, act, keras_fail
from tinygen.ops.spec import QAT_RANGED_RELU, KerasLayer, Lowering, NotApplicable, OpSpec, TfliteOp, register
from tinygen.ops.tflite_context import OpContext


def _broadcast(c: CheckContext) -> tuple:
    """The broadcast shape (NumPy rules), checked dimension by dimension before anything computes it."""
    x, y = tuple(c.ins[0].shape), tuple(c.ins[1].shape)
    out = []
    for k in range(1, max(len(x), len(y)) + 1):
        a = x[-k] if k <= len(x) else 1
        b = y[-k] if k <= len(y) else 1
        if a != b and 1 not in (a, b):
            raise c.bad(f"inputs {list(x)} and {list(y)} do not broadcast")
        out.append(max(a, b))
    return tuple(reversed(out))


def check_inputs_broadcast(c: CheckContext) -> None:
    """the two input shapes broadcast against each other (NumPy rules)"""
    _broadcast(c)


def check_broadcast_output(c: CheckContext) -> None:
    """the output has the broadcast shape of the inputs"""
    c.out_is(_broadcast(c))


def float_binary(fn):
    def run_op(op, ins, out_shape, graph):
        return act(op.attrs.activation, fn(ins[0], ins[1]).reshape(out_shape))
    run_op.__name__ = f"float_{fn.__name__}"
    return run_op


_OPTIONS = {OpKind.ADD: "AddOptions", OpKind.SUB: "SubOptions", OpKind.MUL: "MulOptions"}


def export_binary(w, op, ins, outs) -> None:
    w.emit(op.kind.value, ins, outs, _OPTIONS[op.kind], (("FusedActivationFunction", TFLITE_ACT[op.attrs.activation]),))


def keras_merge(kind: OpKind):
    """Add / Subtract / Multiply: a chain of binary ops over the layer's inputs (Subtract takes exactly two)."""
    def convert(b, layer, cfg, ins, out_shape) -> str:
        if len(ins) < 2 or (kind == OpKind.SUB and len(ins) != 2):
            raise keras_fail(layer, f"{len(ins)} inputs are not supported")
        y = ins[0]
        for i, x in enumerate(ins[1:]):
            last = i == len(ins) - 2
            y = b.op(kind, layer.name if last else f"{layer.name}/{i}", [y, x], out_shape, ir.ElementwiseAttrs())
        return y
    return convert


def _affine(b, layer, x: str, scale, offset, out_shape) -> str:
    """x * scale + offset (constants broadcast against x), skipping a scale of 1 and an offset of 0."""
    scale, offset = np.asarray(scale, np.float32), np.asarray(offset, np.float32)
    if np.all(scale == 1) and np.all(offset == 0):
        return b.op(OpKind.RESHAPE, layer.name, [x], out_shape, ir.ReshapeAttrs())  # the passes drop it
    if not np.all(scale == 1):
        x = b.op(OpKind.MUL, layer.name if np.all(offset == 0) else f"{layer.name}/scale",
                 [x, b.const(f"{layer.name}/scale", scale)], out_shape, ir.ElementwiseAttrs())
    if not np.all(offset == 0):
        x = b.op(OpKind.ADD, layer.name, [x, b.const(f"{layer.name}/offset", offset)], out_shape,
                 ir.ElementwiseAttrs())
    return x


def keras_rescaling(b, layer, cfg, ins, out_shape) -> str:
    """Rescaling: x * scale + offset as MUL and ADD with constant operands."""
    return _affine(b, layer, ins[0], cfg.get("scale", 1.0), cfg.get("offset", 0.0), out_shape)


def keras_normalization(b, layer, cfg, ins, out_shape) -> str:
    """Normalization: (x - mean) / max(sqrt(variance), 1e-7) (Keras's epsilon), or its inverse with
    invert=True, as MUL and ADD with per-channel constants broadcast like the layer's statistics."""
    mean = np.asarray(layer.mean, np.float64)
    std = np.maximum(np.sqrt(np.asarray(layer.variance, np.float64)), 1e-7)
    rank = len(out_shape)
    if mean.ndim > rank:
        raise keras_fail(layer, f"statistics of shape {list(mean.shape)} do not fit a rank-{rank} input")
    if cfg.get("invert", False):
        return _affine(b, layer, ins[0], std, mean, out_shape)
    return _affine(b, layer, ins[0], 1.0 / std, -mean / std, out_shape)


def tflite_binary(kind: OpKind):
    def convert(c: OpContext):
        c.check_broadcast(c.input(0), c.input(1))
        # ADD / SUB carry pot_scale_int16 (schema default true); MUL has no such option
        pot = bool(c.op.options.get("PotScaleInt16", True))
        return kind, ir.ElementwiseAttrs(c.activation(), pot), c.op.inputs[:2]
    return convert


# ADD / SUB carry pot_scale_int16 (for int16); MUL has no such option
_TFLITE_FIELDS = {OpKind.ADD: ("FusedActivationFunction", "PotScaleInt16"),
                  OpKind.SUB: ("FusedActivationFunction", "PotScaleInt16"),
                  OpKind.MUL: ("FusedActivationFunction",)}


def _spec(kind: OpKind, summary: str, layer: str, fn, dtypes: tuple, more_keras=()) -> OpSpec:
    return OpSpec(kind, summary, tflite=(TfliteOp(kind.value, tflite_binary(kind), (_OPTIONS[kind], _TFLITE_FIELDS[kind])),),
                  keras=(KerasLayer(layer, keras_merge(kind), QAT_RANGED_RELU),) + more_keras,
                  checks=(check_inputs_broadcast, check_broadcast_output), float_ref=float_binary(fn),
                  bounds=NotApplicable("no accumulator: each output rescales one pair of inputs"),
                  export=export_binary, kernels=Lowering(dtypes), inputs=(2, 2), activation_input=False,
                  fuses_activation=True)


register(
    _spec(OpKind.ADD, "x + y with broadcasting, fused ReLU/ReLU6", "Add", np.add, ("int8", "int16")),
    _spec(OpKind.SUB, "x - y with broadcasting, fused ReLU/ReLU6", "Subtract", np.subtract, ("int8", "int16")),
    _spec(OpKind.MUL, "x * y with broadcasting, fused ReLU/ReLU6", "Multiply", np.multiply, ("int8", "int16"),
          (KerasLayer("Rescaling", keras_rescaling), KerasLayer("Normalization", keras_normalization))),
)
