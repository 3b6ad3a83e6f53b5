"""Data movement: CONCATENATION, PAD, RESHAPE (STRIDED_SLICE and the other slices: ops/layout.py)."""
from __future__ import annotations

import numpy as np

from tinygen import ir
from tinygen.ir import OpKind
from tinygen.ops.checks import MAX_PAD, CheckContext
from tinygen.ops.common import TFLITE_ACT, act, keras_fail
from tinygen.ops.spec import QAT_SHARED, KerasLayer, Lowering, NotApplicable, OpSpec, TfliteOp, register
from tinygen.ops.tflite_context import OpContext

_NO_BOUNDS = NotApplicable("no arithmetic: values are copied")

# ---- CONCATENATION -----------------------------------------------------------------------------


def check_concat_axis(c: CheckContext) -> None:
    """the axis is a dimension of the output"""
    r = len(c.out.shape)
    if not isinstance(c.a.axis, int) or not 0 <= c.a.axis < r:
        raise c.bad(f"axis {c.a.axis} is out of range for rank {r}")


def check_concat_inputs(c: CheckContext) -> None:
    """every input has the output's rank and the output's size on every other axis"""
    out, axis = c.out, c.a.axis
    r = len(out.shape)
    for t in c.ins:
        if t is None or len(t.shape) != r or any(t.shape[d] != out.shape[d] for d in range(r) if d != axis):
            raise c.bad(f"input {list(t.shape) if t else None} does not concatenate into {list(out.shape)} "
                        f"on axis {axis}")


def check_concat_total(c: CheckContext) -> None:
    """the inputs' sizes along the axis add up to the output's"""
    axis = c.a.axis
    total = sum(t.shape[axis] for t in c.ins)
    if total != c.out.shape[axis]:
        raise c.bad(f"inputs add up to {total} on axis {axis}, output has {c.out.shape[axis]}")


def float_concat(op, ins, out_shape, graph):
    return act(op.attrs.activation, np.concatenate(ins, axis=op.attrs.axis))


def export_concat(w, op, ins, outs) -> None:
    w.emit("CONCATENATION", ins, outs, "ConcatenationOptions",
           (("Axis", op.attrs.axis), ("FusedActivationFunction", TFLITE_ACT[op.attrs.activation])))


def keras_concat(b, layer, cfg, ins, out_shape) -> str:
    axis = int(cfg.get("axis", -1)) % len(out_shape)
    if axis == 0:
        raise keras_fail(layer, "concatenation over the batch axis is not supported")
    return b.op(OpKind.CONCATENATION, layer.name, ins, out_shape, ir.ConcatAttrs(axis))


# ---- PAD ---------------------------------------------------------------------------------------


def check_paddings_pairs(c: CheckContext) -> None:
    """paddings are one (before, after) pair per input dimension"""
    pads, r = c.a.paddings, len(c.ins[0].shape)
    if len(pads) != r or any(len(p) != 2 for p in pads):
        raise c.bad(f"paddings {pads} must be {r} (before, after) pairs")


def check_padding_amounts(c: CheckContext) -> None:
    """every padding amount is an integer in [0, 65536]"""
    for p in c.a.paddings:
        for v in p:
            if not isinstance(v, int) or not 0 <= v <= MAX_PAD:
                raise c.bad(f"padding {v!r} must be an integer in [0, {MAX_PAD}]")


def check_pad_output(c: CheckContext) -> None:
    """the output is the input grown by the paddings"""
    c.out_is(tuple(d + b + e for d, (b, e) in zip(c.ins[0].shape, c.a.paddings)))


def float_pad(op, ins, out_shape, graph):
    return np.pad(ins[0], op.attrs.paddings)


def export_pad(w, op, ins, outs) -> None:
    """PAD, or PADV2 when the op keeps its constant-value input."""
    pads = w.new_const(f"{op.name}/paddings", np.asarray(op.attrs.paddings, dtype=np.int32).reshape(-1, 2))
    if len(ins) > 1:
        w.emit("PADV2", [ins[0], pads, ins[1]], outs, "PadV2Options")
    else:
        w.emit("PAD", [ins[0], pads], outs, "PadOptions")


def keras_zeropad(b, layer, cfg, ins, out_shape) -> str:
    pad = cfg["padding"]  # Keras normalizes it: (left, right) in 1D, ((top, bottom), (left, right)) in 2D
    pairs = [tuple(pad)] if len(b.shape(ins[0])) == 3 else [tuple(p) for p in pad]
    paddings = ((0, 0),) + tuple((int(a), int(c)) for a, c in pairs) + ((0, 0),)
    if len(paddings) != len(out_shape):
        raise keras_fail(layer, f"padding {pad} does not match input rank {len(b.shape(ins[0]))}")
    return b.op(OpKind.PAD, layer.name, ins, out_shape, ir.PadAttrs(paddings))


# ---- RESHAPE -----------------------------------------------------------------------------------


def check_reshape_size(c: CheckContext) -> None:
    """the output has as many elements as the input"""
    x, out = c.ins[0], c.out
    if x.size != out.size:
        raise c.bad(f"reshape from {list(x.shape)} to {list(out.shape)} changes the element count")


def float_reshape(op, ins, out_shape, graph):
    return ins[0].reshape(out_shape)


def export_reshape(w, op, ins, outs) -> None:
    shape = np.asarray(w.graph.tensors[op.outputs[0]].shape, dtype=np.int32)
    w.emit("RESHAPE", [ins[0], w.new_const(f"{op.name}/shape", shape)], outs)


def keras_reshape(b, layer, cfg, ins, out_shape) -> str:
    return b.op(OpKind.RESHAPE, layer.name, ins, out_shape, ir.ReshapeAttrs())


# ---- TFLite converters ------------------------------------------------------------------------

def tflite_concat(c: OpContext):
    rank = len(c.output().shape)
    axis = int(c.op.options["Axis"])
    if not -rank <= axis < rank:
        raise c.bad(f"axis {axis} is out of range for rank {rank}")
    return OpKind.CONCATENATION, ir.ConcatAttrs(axis % rank, c.activation()), list(c.op.inputs)


def tflite_pad(c: OpContext):
    rank = len(c.input(0).shape)
    p = c.int_const(1, "paddings").astype(np.int64)
    if p.shape != (rank, 2) or np.any(p < 0):
        raise c.bad(f"paddings {p.tolist()} must be {rank} non-negative (before, after) pairs")
    pairs = tuple((int(a), int(b)) for a, b in p)
    keep = [c.op.inputs[0]]
    if c.op.opname == "PADV2" and len(c.op.inputs) > 2 and c.op.inputs[2] >= 0:
        keep.append(c.op.inputs[2])
    return OpKind.PAD, ir.PadAttrs(pairs), keep


def tflite_reshape(c: OpContext):
    x, out = c.input(0), c.output()
    if int(np.prod(x.shape, dtype=np.int64)) != int(np.prod(out.shape, dtype=np.int64)):
        raise c.bad(f"reshape from {list(x.shape)} to {list(out.shape)} changes the element count")
    return OpKind.RESHAPE, ir.ReshapeAttrs(), [c.op.inputs[0]]



# ---- specs -------------------------------------------------------------------------------------

register(
    OpSpec(OpKind.CONCATENATION, "join inputs along one axis",
           tflite=(TfliteOp("CONCATENATION", tflite_concat,
                           ("ConcatenationOptions", ("Axis", "FusedActivationFunction"))),), keras=(KerasLayer("Concatenate", keras_concat),),
           checks=(check_concat_axis, check_concat_inputs, check_concat_total), float_ref=float_concat,
           bounds=_NO_BOUNDS, export=export_concat, kernels=Lowering(("int8", "int16")), inputs=(1, 1 << 16),
           activation_input=False, float_batchable=lambda op: op.attrs.axis != 0),
    OpSpec(OpKind.PAD, "constant padding (the zero point) before and after each dimension",
           tflite=(TfliteOp("PAD", tflite_pad), TfliteOp("PADV2", tflite_pad)),
           keras=(KerasLayer("ZeroPadding2D", keras_zeropad, QAT_SHARED),
                  KerasLayer("ZeroPadding1D", keras_zeropad, QAT_SHARED)),
           checks=(check_paddings_pairs, check_padding_amounts, check_pad_output), float_ref=float_pad,
           bounds=_NO_BOUNDS, export=export_pad, kernels=Lowering(("int8", "int16")), inputs=(1, 2),
           float_batchable=lambda op: tuple(op.attrs.paddings[0]) == (0, 0)),
    OpSpec(OpKind.RESHAPE, "same elements, new shape (RESHAPE, EXPAND_DIMS, SQUEEZE, Flatten)",
           tflite=tuple(TfliteOp(n, tflite_reshape) for n in ("RESHAPE", "EXPAND_DIMS", "SQUEEZE")),
           keras=(KerasLayer("Flatten", keras_reshape, QAT_SHARED), KerasLayer("Reshape", keras_reshape, QAT_SHARED)),
           checks=(check_reshape_size,), float_ref=float_reshape, bounds=_NO_BOUNDS, export=export_reshape,
           kernels=Lowering(("any: the output aliases the input, no C call",))),
)
