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

KERNEL_RANK = 4  # the kernels walk both operands in 4-D, after merging dimensions that broadcast alike
MAX_RANK = 8  # TFLM's broadcast loop takes up to 8 dimensions


def fuse_broadcast(a_shape: tuple, b_shape: tuple, out_shape: tuple) -> tuple:
    """(dims, a strides, b strides), outermost first: the broadcast of `a` and `b` to `out_shape` with
    neighbouring dimensions merged where both operands step through them alike (dense together, or
    broadcast together), as TFLM's broadcast loop does. Element strides are 0 along broadcast dims."""
    rank = max(len(a_shape), len(b_shape), len(out_shape))
    ext = [(1,) * (rank - len(s)) + tuple(int(d) for d in s) for s in (a_shape, b_shape, out_shape)]
    dims, a_st, b_st = [], [], []  # innermost first
    a_acc = b_acc = 1
    for i in range(rank - 1, -1, -1):
        a_d, b_d, o_d = ext[0][i], ext[1][i], ext[2][i]
        sa = 0 if (a_d == 1 and o_d != 1) else a_acc
        sb = 0 if (b_d == 1 and o_d != 1) else b_acc
        if dims and all(o_d == 1 or (s == acc if nxt else s == 0)
                        for s, acc, nxt in ((sa, a_acc, a_st[-1]), (sb, b_acc, b_st[-1]))):
            dims[-1] *= o_d
        else:
            dims.append(o_d)
            a_st.append(sa)
            b_st.append(sb)
        a_acc, b_acc = a_acc * a_d, b_acc * b_d
    return tuple(reversed(dims)), tuple(reversed(a_st)), tuple(reversed(b_st))


def check_rank4(c: CheckContext) -> None:  # for ops whose kernels take rank <= 4 only (ops/math.py)
    """inputs and output have rank <= 4"""
    shapes = [list(t.shape) for t in c.ins if t is not None] + [list(c.out.shape)]
    if max(len(s) for s in shapes) > KERNEL_RANK:
        raise c.unsupported(f"shapes {shapes} have rank > {KERNEL_RANK}")


def check_broadcast_rank(c: CheckContext) -> None:
    """inputs and output have rank <= 8, and their broadcast, neighbouring dimensions that broadcast
    alike merged, has at most 4 dimensions"""
    shapes = [tuple(t.shape) for t in c.ins[:2]] + [tuple(c.out.shape)]
    if max(len(s) for s in shapes) > MAX_RANK:
        raise c.unsupported(f"shapes {[list(s) for s in shapes]} have rank > {MAX_RANK}")
    dims, _, _ = fuse_broadcast(*shapes)
    if len(dims) > KERNEL_RANK:
        raise c.unsupported(f"shapes {[list(s) for s in shapes]} broadcast over {len(dims)} separate "
                            f"dimensions (at most {KERNEL_RANK})")


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
_CHECKS = (check_inputs_broadcast, check_broadcast_output, check_broadcast_rank, check_same_dtype)


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
