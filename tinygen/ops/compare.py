"""Comparisons and masks: EQUAL, NOT_EQUAL, LESS, LESS_EQUAL, GREATER, GREATER_EQUAL (int8; EQUAL /
NOT_EQUAL also bool) producing bool (the pinned TFLM accepts int16 GREATER but sets every output false, so
tinygen refuses it); SELECT_V2 (bool condition, int8 / int16 values);
LOGICAL_AND, LOGICAL_OR, LOGICAL_NOT on bool. All broadcast (rank <= 4; SELECT_V2 rank <= 5).

Quantized comparisons rescale both inputs to a common real scale before comparing, as TFLM does: each
(x - zp) << 8 is multiplied by its own scale as a Q0.31 multiplier. SELECT_V2 copies the stored values
of x or y (TFLM does not requantize them). bool tensors are one byte, 0 or 1.
"""
from __future__ import annotations

import numpy as np

from tinygen import ir
from tinygen.ir import OpKind
from tinygen.ops.checks import CheckContext
from tinygen.ops.common import export_no_options
from tinygen.ops.elementwise import check_broadcast_output, check_inputs_broadcast
from tinygen.ops.prelu_minmax import check_rank4
from tinygen.ops.spec import Lowering, NotApplicable, OpSpec, TfliteOp, register
from tinygen.ops.tflite_context import OpContext, tflite_unary

BOOL_ANY = "bool (int8 and 16x8 models)"


def check_bool_output(c: CheckContext) -> None:
    """the output is bool"""
    if c.out.dtype != "bool":
        raise c.bad(f"output '{c.out.name}' is {c.out.dtype}, not bool")


def check_same_input_types(c: CheckContext) -> None:
    """both inputs have one type"""
    if c.ins[0].dtype != c.ins[1].dtype:
        raise c.bad(f"input types ({c.ins[0].dtype}, {c.ins[1].dtype}) differ")


def check_bool_inputs(c: CheckContext) -> None:
    """every input is bool"""
    types = [t.dtype for t in c.ins]
    if any(t != "bool" for t in types):
        raise c.bad(f"input types {types} are not all bool")


def check_select_operands(c: CheckContext) -> None:
    """the condition is bool; x, y and the output have one type; the three inputs broadcast to the output"""
    cond, x, y = c.ins
    if cond.dtype != "bool" or not (x.dtype == y.dtype == c.out.dtype):
        raise c.bad(f"types ({cond.dtype}, {x.dtype}, {y.dtype}) -> {c.out.dtype}: need (bool, T, T) -> T")
    try:
        shape = np.broadcast_shapes(tuple(cond.shape), tuple(x.shape), tuple(y.shape))
    except ValueError:
        raise c.bad(f"shapes {[list(t.shape) for t in c.ins]} do not broadcast") from None
    c.out_is(shape)


def check_rank5(c: CheckContext) -> None:
    """inputs and output have rank <= 5 (TFLM's SELECT_V2 broadcasts up to rank 5)"""
    shapes = [list(t.shape) for t in c.ins] + [list(c.out.shape)]
    if max(len(s) for s in shapes) > 5:
        raise c.unsupported(f"shapes {shapes} have rank > 5")


def check_same_shape_bool(c: CheckContext) -> None:
    """the output has the input's shape"""
    c.out_is(c.ins[0].shape)


# ---- float references --------------------------------------------------------------------------

_FNS = {OpKind.EQUAL: np.equal, OpKind.NOT_EQUAL: np.not_equal, OpKind.LESS: np.less,
        OpKind.LESS_EQUAL: np.less_equal, OpKind.GREATER: np.greater, OpKind.GREATER_EQUAL: np.greater_equal,
        OpKind.LOGICAL_AND: np.logical_and, OpKind.LOGICAL_OR: np.logical_or}


def float_binary_bool(op, ins, out_shape, graph):
    return np.broadcast_to(_FNS[op.kind](ins[0], ins[1]), out_shape)


def float_select(op, ins, out_shape, graph):
    return np.broadcast_to(np.where(np.asarray(ins[0]).astype(bool), ins[1], ins[2]), out_shape)


def float_logical_not(op, ins, out_shape, graph):
    return np.logical_not(np.asarray(ins[0]).astype(bool))


# ---- TFLite ------------------------------------------------------------------------------------


def tflite_binary_plain(kind: OpKind):
    def convert(c: OpContext):
        c.check_broadcast(c.input(0), c.input(1))
        return kind, ir.NoAttrs(), list(c.op.inputs[:2])
    return convert


def tflite_select(c: OpContext):
    for k in range(3):
        c.input(k)
    return OpKind.SELECT_V2, ir.NoAttrs(), list(c.op.inputs[:3])


# ---- specs -------------------------------------------------------------------------------------

_NO_LAYER = NotApplicable("no Keras layer: reached from .tflite models (TF's converter makes them from tf.math ops)")
_NO_BOUNDS = NotApplicable("no accumulator: each output compares or copies single elements")
_COMPARE_CHECKS = (check_inputs_broadcast, check_broadcast_output, check_rank4, check_same_input_types,
                   check_bool_output)


def _compare(kind: OpKind, summary: str, dtypes: tuple) -> OpSpec:
    return OpSpec(kind, summary, tflite=(TfliteOp(kind.value, tflite_binary_plain(kind)),), keras=_NO_LAYER,
                  checks=_COMPARE_CHECKS, float_ref=float_binary_bool, bounds=_NO_BOUNDS,
                  export=export_no_options, kernels=Lowering(dtypes), inputs=(2, 2), activation_input=False)


def _logical(kind: OpKind, summary: str) -> OpSpec:
    return OpSpec(kind, summary, tflite=(TfliteOp(kind.value, tflite_binary_plain(kind)),), keras=_NO_LAYER,
                  checks=(check_inputs_broadcast, check_broadcast_output, check_rank4, check_bool_inputs,
                          check_bool_output),
                  float_ref=float_binary_bool, bounds=_NO_BOUNDS, export=export_no_options,
                  kernels=Lowering((BOOL_ANY,)), inputs=(2, 2), activation_input=False)


register(
    _compare(OpKind.EQUAL, "x == y after rescaling both to one scale, with broadcasting -> bool",
             ("int8", "bool inputs")),
    _compare(OpKind.NOT_EQUAL, "x != y after rescaling, with broadcasting -> bool", ("int8", "bool inputs")),
    _compare(OpKind.LESS, "x < y after rescaling, with broadcasting -> bool", ("int8",)),
    _compare(OpKind.LESS_EQUAL, "x <= y after rescaling, with broadcasting -> bool", ("int8",)),
    _compare(OpKind.GREATER, "x > y after rescaling, with broadcasting -> bool", ("int8",)),
    _compare(OpKind.GREATER_EQUAL, "x >= y after rescaling, with broadcasting -> bool", ("int8",)),
    OpSpec(OpKind.SELECT_V2, "condition ? x : y (stored values), with broadcasting",
           tflite=(TfliteOp("SELECT_V2", tflite_select),), keras=_NO_LAYER,
           checks=(check_select_operands, check_rank5), float_ref=float_select, bounds=_NO_BOUNDS,
           export=export_no_options, kernels=Lowering(("int8", "int16")), inputs=(3, 3),
           activation_input=False),
    _logical(OpKind.LOGICAL_AND, "x and y on bool, with broadcasting"),
    _logical(OpKind.LOGICAL_OR, "x or y on bool, with broadcasting"),
    OpSpec(OpKind.LOGICAL_NOT, "not x on bool", tflite=(TfliteOp("LOGICAL_NOT", tflite_unary(OpKind.LOGICAL_NOT)),),
           keras=_NO_LAYER, checks=(check_same_shape_bool, check_bool_inputs, check_bool_output),
           float_ref=float_logical_not, bounds=_NO_BOUNDS, export=export_no_options,
           kernels=Lowering((BOOL_ANY,))),
)
