"""Element-wise math: ABS, RSQRT, ELU (one input); SQUARED_DIFFERENCE, DIV (two inputs, broadcasting);
LOG_SOFTMAX and L2_NORMALIZATION (over the last axis).

Types follow what the pinned TFLM runs: ABS int8 / int16, RSQRT int8 / int16, ELU int8, SQUARED_DIFFERENCE
int8 / int16, DIV int8, LOG_SOFTMAX int8, L2_NORMALIZATION int8. TFLM runs NEG, EXP, LOG and SQRT on
float32 only (docs/coverage.md says so), so no integer model can contain them.
"""
from __future__ import annotations

import numpy as np

from tinygen import ir
from tinygen.ir import OpKind
from tinygen.ops.checks import CheckContext, check_same_shape
from tinygen.ops.common import TFLITE_ACT, act, export_no_options
from tinygen.ops.elementwise import check_broadcast_output, check_inputs_broadcast
from tinygen.ops.prelu_minmax import check_rank4
from tinygen.ops.spec import KerasLayer, Lowering, NotApplicable, OpSpec, TfliteOp, register
from tinygen.ops.tflite_context import OpContext, tflite_unary

# ---- checks ------------------------------------------------------------------------------------


def check_same_types(c: CheckContext) -> None:
    """the inputs and the output have one type"""
    types = [t.dtype for t in c.ins if t is not None] + [c.out.dtype]
    if len(set(types)) != 1:
        raise c.bad(f"types {types} differ")


def check_last_axis(c: CheckContext) -> None:
    """the input has a last axis of at least one element"""
    x = c.ins[0]
    if not x.shape or x.shape[-1] < 1:
        raise c.bad(f"input '{x.name}' {list(x.shape)} has no last axis")


def check_no_activation(c: CheckContext) -> None:
    """no fused activation (TFLM's L2_NORMALIZATION applies none)"""
    if c.a.activation != ir.Activation.NONE:
        raise c.unsupported(f"fused activation {c.a.activation.value} is not supported")


# ---- float references --------------------------------------------------------------------------


def float_abs(op, ins, out_shape, graph):
    return np.abs(ins[0])


def float_rsqrt(op, ins, out_shape, graph):
    with np.errstate(divide="ignore", invalid="ignore"):
        return 1.0 / np.sqrt(ins[0])


def float_elu(op, ins, out_shape, graph):
    return np.where(ins[0] < 0, np.expm1(np.minimum(ins[0], 0)), ins[0])


def float_squared_difference(op, ins, out_shape, graph):
    return np.broadcast_to(np.square(ins[0] - ins[1]), out_shape)


def float_div(op, ins, out_shape, graph):
    with np.errstate(divide="ignore", invalid="ignore"):
        return act(op.attrs.activation, np.broadcast_to(ins[0] / ins[1], out_shape))


def float_log_softmax(op, ins, out_shape, graph):
    z = ins[0] - ins[0].max(axis=-1, keepdims=True)
    return z - np.log(np.exp(z).sum(axis=-1, keepdims=True))


def float_l2_normalization(op, ins, out_shape, graph):
    x = ins[0]
    return x / np.sqrt(np.maximum((x * x).sum(axis=-1, keepdims=True), 1e-6))


# ---- TFLite ------------------------------------------------------------------------------------


def tflite_binary_plain(kind: OpKind):
    def convert(c: OpContext):
        c.check_broadcast(c.input(0), c.input(1))
        return kind, ir.NoAttrs(), list(c.op.inputs[:2])
    return convert


def tflite_div(c: OpContext):
    c.check_broadcast(c.input(0), c.input(1))
    return OpKind.DIV, ir.ElementwiseAttrs(c.activation()), list(c.op.inputs[:2])


def tflite_l2norm(c: OpContext):
    c.input(0)
    return OpKind.L2_NORMALIZATION, ir.ElementwiseAttrs(c.activation()), [c.op.inputs[0]]


def export_squared_difference(w, op, ins, outs) -> None:
    w.emit("SQUARED_DIFFERENCE", ins, outs, "SquaredDifferenceOptions")


def export_div(w, op, ins, outs) -> None:
    w.emit("DIV", ins, outs, "DivOptions", (("FusedActivationFunction", TFLITE_ACT[op.attrs.activation]),))


def export_log_softmax(w, op, ins, outs) -> None:
    w.emit("LOG_SOFTMAX", ins, outs, "LogSoftmaxOptions")


def export_l2norm(w, op, ins, outs) -> None:
    w.emit("L2_NORMALIZATION", ins, outs, "L2NormOptions",
           (("FusedActivationFunction", TFLITE_ACT[op.attrs.activation]),))


# ---- Keras -------------------------------------------------------------------------------------


def keras_unary(kind: OpKind):
    """A one-input Keras layer (keras.ops.abs makes an `Absolute` layer) as the op."""
    def convert(b, layer, cfg, ins, out_shape) -> str:
        return b.op(kind, layer.name, ins[:1], out_shape)
    return convert


def keras_elu(b, layer, cfg, ins, out_shape) -> str:
    """ELU layer: ELU for alpha 1 (TFLite's), else the LUT op."""
    alpha = float(cfg.get("alpha", 1.0))
    if alpha != 1.0:  # TFLite's ELU has alpha 1: any other is tinygen's table op (ops/lut.py)
        from tinygen.ops.lut import LutAttrs

        return b.op(OpKind.LUT, layer.name, ins[:1], out_shape, LutAttrs("elu", (alpha,)))
    return b.op(OpKind.ELU, layer.name, ins[:1], out_shape)


# ---- specs -------------------------------------------------------------------------------------

_NO_LAYER = NotApplicable("no Keras layer: reached from .tflite models")
_NO_BOUNDS = NotApplicable("no weighted accumulator: each output is computed from one element (or one row) "
                           "in fixed point")
_BINARY_CHECKS = (check_inputs_broadcast, check_broadcast_output, check_rank4, check_same_types)


def _unary(kind, summary, fn, dtypes, keras_activations=(), keras=_NO_LAYER) -> OpSpec:
    return OpSpec(kind, summary, tflite=(TfliteOp(kind.value, tflite_unary(kind)),), keras=keras,
                  checks=(check_same_shape, check_same_types), float_ref=fn, bounds=_NO_BOUNDS,
                  export=export_no_options, kernels=Lowering(dtypes), keras_activations=keras_activations)


register(
    _unary(OpKind.ABS, "|x|, rescaled to the output", float_abs, ("int8", "int16"),
           keras=(KerasLayer("Absolute", keras_unary(OpKind.ABS)),)),
    _unary(OpKind.RSQRT, "1 / sqrt(x) (TFLM fails on inputs below the zero point)", float_rsqrt,
           ("int8", "int16")),
    _unary(OpKind.ELU, "x for x >= 0, exp(x) - 1 below", float_elu, ("int8",),
           keras_activations=(("elu", ir.NoAttrs()),), keras=(KerasLayer("ELU", keras_elu),)),
    OpSpec(OpKind.SQUARED_DIFFERENCE, "(x - y)^2 with broadcasting",
           tflite=(TfliteOp("SQUARED_DIFFERENCE", tflite_binary_plain(OpKind.SQUARED_DIFFERENCE)),),
           keras=_NO_LAYER, checks=_BINARY_CHECKS, float_ref=float_squared_difference, bounds=_NO_BOUNDS,
           export=export_squared_difference, kernels=Lowering(("int8", "int16")), inputs=(2, 2),
           activation_input=False),
    OpSpec(OpKind.DIV, "x / y with broadcasting, fused ReLU/ReLU6",
           tflite=(TfliteOp("DIV", tflite_div, ("DivOptions", ("FusedActivationFunction",))),),
           keras=_NO_LAYER, checks=_BINARY_CHECKS, float_ref=float_div, bounds=_NO_BOUNDS, export=export_div,
           kernels=Lowering(("int8",)), inputs=(2, 2), activation_input=False),
    OpSpec(OpKind.LOG_SOFTMAX, "x - log(sum(exp(x))) over the last axis (int8 output scale 1/16, zero point 127)",
           tflite=(TfliteOp("LOG_SOFTMAX", tflite_unary(OpKind.LOG_SOFTMAX)),), keras=_NO_LAYER,
           checks=(check_same_shape, check_same_types, check_last_axis), float_ref=float_log_softmax,
           bounds=_NO_BOUNDS, export=export_log_softmax, kernels=Lowering(("int8",))),
    OpSpec(OpKind.L2_NORMALIZATION, "x / sqrt(sum(x^2)) over the last axis (int8 output in 1/128 steps)",
           tflite=(TfliteOp("L2_NORMALIZATION", tflite_l2norm, ("L2NormOptions", ("FusedActivationFunction",))),),
           keras=_NO_LAYER, checks=(check_same_shape, check_same_types, check_last_axis, check_no_activation,
                                    check_rank4),
           float_ref=float_l2_normalization, bounds=_NO_BOUNDS, export=export_l2norm,
           kernels=Lowering(("int8",))),
)
