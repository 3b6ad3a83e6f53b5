"""FULLY_CONNECTED: rows of the input times (units, depth) weights."""
from __future__ import annotations

from tinygen import ir
from tinygen.fmath import matmul
from tinygen.ir import OpKind
from tinygen.ops.checks import CheckContext
from tinygen.ops.common import TFLITE_ACT, act
from tinygen.ops.conv import bias_of, with_export_bias, bounds_weighted, check_bias, check_weights_quant
from tinygen.ops.spec import KerasLayer, Lowering, OpSpec, TfliteOp, register
from tinygen.ops.tflite_context import OpContext

# ---- checks ------------------------------------------------------------------------------------


def check_weights_2d(c: CheckContext) -> None:
    """the weights are a constant 2-D (units, depth) tensor"""
    c.rank(c.ins[1], 2, "weights")
    c.const(c.ins[1], "weights")


def check_fc_rows(c: CheckContext) -> None:
    """the input is a whole number of rows of the weights' depth, the output one row of units per input row"""
    x, out = c.ins[0], c.out
    units, depth = c.ins[1].shape
    if depth == 0 or x.size % depth != 0:
        raise c.bad(f"input '{x.name}' {list(x.shape)} is not a whole number of rows of {depth}")
    if not out.shape or out.shape[-1] != units or out.size != (x.size // depth) * units:
        raise c.bad(f"output '{out.name}' {list(out.shape)} is not {x.size // depth} rows of {units}")


# ---- float reference, export -------------------------------------------------------------------


def float_fully_connected(op, ins, out_shape, graph):
    x, w, b = ins[0], ins[1], bias_of(ins)
    y = matmul(x.reshape(-1, w.shape[1]), w.T)
    return act(op.attrs.activation, y + b if b is not None else y)


def export_fully_connected(w, op, ins, outs) -> None:
    a = op.attrs
    w.emit("FULLY_CONNECTED", with_export_bias(w, op, ins), outs, "FullyConnectedOptions",
           (("FusedActivationFunction", TFLITE_ACT[a.activation]), ("KeepNumDims", bool(a.keep_num_dims))))


# ---- frontends ---------------------------------------------------------------------------------


def keras_dense(b, layer, cfg, ins, out_shape) -> str:
    x = ins[0]
    wname = b.const(f"{layer.name}/kernel", layer.kernel.numpy().T)
    bname = b.const(f"{layer.name}/bias", layer.bias.numpy()) if cfg.get("use_bias", True) else None
    attrs = ir.FullyConnectedAttrs(keep_num_dims=len(b.shape(x)) > 2)
    y = b.op(OpKind.FULLY_CONNECTED, layer.name, [x, wname, bname], tuple(out_shape), attrs)
    return b.activation(layer, cfg.get("activation"), y)


def tflite_fully_connected(c: OpContext):
    c.input(0)
    c.input(1, rank=2)
    if int(c.op.options["WeightsFormat"]) != 0:
        raise c.unsupported(f"weights_format {c.op.options['WeightsFormat']} (only DEFAULT is supported)")
    attrs = ir.FullyConnectedAttrs(c.activation(), bool(c.op.options["KeepNumDims"]))
    return OpKind.FULLY_CONNECTED, attrs, c.inputs_with_bias()


# ---- spec --------------------------------------------------------------------------------------

register(
    OpSpec(OpKind.FULLY_CONNECTED, "dense layer: rows of the input times (units, depth) weights",
           tflite=(TfliteOp("FULLY_CONNECTED", tflite_fully_connected,
                           ("FullyConnectedOptions", ("FusedActivationFunction", "WeightsFormat", "KeepNumDims"))),), keras=(KerasLayer("Dense", keras_dense),),
           checks=(check_weights_2d, check_fc_rows, check_bias, check_weights_quant),
           float_ref=float_fully_connected, bounds=bounds_weighted, export=export_fully_connected,
           kernels=Lowering(("int8", "int8 with low-bit weights", "int16x8")), inputs=(2, 3), weights_axis=0,
           fuses_activation=True),
)
