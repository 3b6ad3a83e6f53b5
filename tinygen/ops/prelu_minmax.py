"""Two-input selections with broadcasting: PRELU (x or alpha * x), MAXIMUM, MINIMUM.

MAXIMUM / MINIMUM compare the stored integers as TFLM does, without requantizing: the converter gives
both inputs and the output one scale and zero point. PRELU rescales both branches to the output.
"""
from __future__ import annotations

import numpy as np

from tinygen import ir
from tinygen.ir import OpKind
from tinygen.ops.checks import CheckContext
from tinygen.ops.common import export_no_options, keras_fail
from tinygen.ops.elementwise import check_broadcast_output, check_inputs_broadcast
from tinygen.ops.spec import KerasLayer, Lowering, NotApplicable, OpSpec, TfliteOp, register
from tinygen.ops.tflite_context import OpContext

MAX_RANK = 4  # the kernels address both operands with a 4-D broadcast walk (TFLM's PRELU is 4-D)


def check_rank4(c: CheckContext) -> None:
    """inputs and output have rank <= 4"""
    shapes = [list(t.shape) for t in c.ins if t is not None] + [list(c.out.shape)]
    if max(len(s) for s in shapes) > MAX_RANK:
        raise c.unsupported(f"shapes {shapes} have rank > {MAX_RANK}")


def check_same_dtype(c: CheckContext) -> None:
    """both inputs and the output have one type (PRELU: an int16 input takes an int8 alpha)"""
    x, y, out = c.ins[0], c.ins[1], c.out
    alpha_ok = y.dtype == x.dtype or (c.op.kind == OpKind.PRELU and (x.dtype, y.dtype) == ("int16", "int8"))
    if x.dtype != out.dtype or not alpha_ok:
        raise c.bad(f"input types ({x.dtype}, {y.dtype}) -> {out.dtype} do not match")


# ---- float references --------------------------------------------------------------------------


def float_prelu(op, ins, out_shape, graph):
    x, alpha = ins
    return np.broadcast_to(np.where(x >= 0, x, x * alpha), out_shape)


def float_maximum(op, ins, out_shape, graph):
    return np.broadcast_to(np.maximum(ins[0], ins[1]), out_shape)


def float_minimum(op, ins, out_shape, graph):
    return np.broadcast_to(np.minimum(ins[0], ins[1]), out_shape)


# ---- TFLite ------------------------------------------------------------------------------------


def tflite_binary_select(kind: OpKind):
    def convert(c: OpContext):
        c.check_broadcast(c.input(0), c.input(1))
        return kind, ir.NoAttrs(), list(c.op.inputs[:2])
    return convert


def export_minmax(w, op, ins, outs) -> None:
    w.emit(op.kind.value, ins, outs, "MaximumMinimumOptions")


# ---- Keras -------------------------------------------------------------------------------------


def keras_minmax(kind: OpKind):
    """Maximum / Minimum: a chain of binary ops over the layer's inputs."""
    def convert(b, layer, cfg, ins, out_shape) -> str:
        if len(ins) < 2:
            raise keras_fail(layer, f"{len(ins)} inputs are not supported")
        y = ins[0]
        for i, x in enumerate(ins[1:]):
            last = i == len(ins) - 2
            y = b.op(kind, layer.name if last else f"{layer.name}/{i}", [y, x], out_shape, ir.NoAttrs())
        return y
    return convert


def keras_prelu(b, layer, cfg, ins, out_shape) -> str:
    """PReLU: the learned alpha (the input's shape without batch, 1 along shared axes) is a constant
    second operand, broadcast against the input."""
    alpha = b.const(f"{layer.name}/alpha", layer.alpha.numpy())
    return b.op(OpKind.PRELU, layer.name, [ins[0], alpha], out_shape, ir.NoAttrs())


# ---- specs -------------------------------------------------------------------------------------

_NO_BOUNDS = NotApplicable("no accumulator: each output is one input or one product rescaled")
_CHECKS = (check_inputs_broadcast, check_broadcast_output, check_rank4, check_same_dtype)


def _minmax(kind: OpKind, summary: str, layer: str, fn) -> OpSpec:
    return OpSpec(kind, summary, tflite=(TfliteOp(kind.value, tflite_binary_select(kind)),),
                  keras=(KerasLayer(layer, keras_minmax(kind)),), checks=_CHECKS, float_ref=fn,
                  bounds=_NO_BOUNDS, export=export_minmax, kernels=Lowering(("int8", "int16")), inputs=(2, 2),
                  activation_input=False)


register(
    OpSpec(OpKind.PRELU, "x for x >= 0, alpha * x below; alpha a tensor broadcast against x",
           tflite=(TfliteOp("PRELU", tflite_binary_select(OpKind.PRELU)),),
           keras=(KerasLayer("PReLU", keras_prelu),),
           checks=_CHECKS, float_ref=float_prelu, bounds=_NO_BOUNDS, export=export_no_options,
           kernels=Lowering(("int8", "int16 (alpha int8)")), inputs=(2, 2)),
    _minmax(OpKind.MAXIMUM, "element-wise larger of two inputs, with broadcasting", "Maximum", float_maximum),
    _minmax(OpKind.MINIMUM, "element-wise smaller of two inputs, with broadcasting", "Minimum", float_minimum),
)
