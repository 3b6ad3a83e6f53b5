"""BATCH_MATMUL: out[..., a, c] = sum_k lhs[..., a, k] * rhs[..., k, c] over broadcast batch dimensions
(ranks 2-5), lhs read transposed with adj_x, rhs with adj_y; the right operand may be an activation or a
constant.

What TFLM runs, and so what tinygen accepts: both operands and the output int8 (any zero points, per-tensor
scales) or all int16 (zero points 0); the result is rescaled by lhs_scale * rhs_scale / out_scale.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from tinygen.fmath import matmul
from tinygen.ir import OpKind
from tinygen.ops.checks import CheckContext
from tinygen.ops.common import INT32_MAX, INT64_ACC_LIMIT, input_range
from tinygen.ops.spec import Lowering, NotApplicable, OpSpec, TfliteOp, register
from tinygen.ops.tflite_context import OpContext


@dataclass(frozen=True)
class BatchMatMulAttrs:
    """adj_x: lhs is stored [..., k, a] (read transposed); adj_y: rhs is stored [..., c, k]."""
    adj_x: bool = False
    adj_y: bool = False


def matmul_shape(lhs: tuple, rhs: tuple, adj_x: bool, adj_y: bool):
    """(batch shape, a, k, c) of the product, or a string saying why the shapes do not multiply."""
    if not 2 <= len(lhs) <= 5 or not 2 <= len(rhs) <= 5:
        return f"ranks {len(lhs)} and {len(rhs)} must be 2 to 5"
    a, k = (lhs[-1], lhs[-2]) if adj_x else (lhs[-2], lhs[-1])
    k2, c = (rhs[-1], rhs[-2]) if adj_y else (rhs[-2], rhs[-1])
    if k != k2:
        return f"inner dimensions differ: lhs {list(lhs)} (adj_x={adj_x}) and rhs {list(rhs)} (adj_y={adj_y})"
    n = max(len(lhs), len(rhs)) - 2
    lb = (1,) * (n - len(lhs) + 2) + tuple(lhs[:-2])
    rb = (1,) * (n - len(rhs) + 2) + tuple(rhs[:-2])
    batch = []
    for p, q in zip(lb, rb):
        if p != q and 1 not in (p, q):
            return f"batch dimensions {list(lhs[:-2])} and {list(rhs[:-2])} do not broadcast"
        batch.append(max(p, q))
    return tuple(batch), int(a), int(k), int(c)


# ---- checks ------------------------------------------------------------------------------------


def check_matmul_shapes(c: CheckContext) -> None:
    """ranks 2-5, equal inner dimensions, broadcastable batch dimensions; the output is batch x a x c"""
    r = matmul_shape(c.ins[0].shape, c.ins[1].shape, c.a.adj_x, c.a.adj_y)
    if isinstance(r, str):
        raise c.bad(r)
    batch, a, _, cols = r
    c.out_is(batch + (a, cols))


def check_matmul_types(c: CheckContext) -> None:
    """both operands and the output have one type, int8 or int16 (zero points 0), with per-tensor scales"""
    x, y, o = c.ins[0], c.ins[1], c.out
    if x.dtype == "float32" and y.dtype == "float32" and o.dtype == "float32":
        return
    if not x.dtype == y.dtype == o.dtype or x.dtype not in ("int8", "int16"):
        raise c.unsupported(f"types {x.dtype} x {y.dtype} -> {o.dtype}: TFLM multiplies int8 x int8 -> int8 "
                            f"or int16 x int16 -> int16")
    for t in (x, y, o):
        if t.quant is not None and t.quant.per_axis:
            raise c.unsupported(f"tensor '{t.name}' is quantized per axis; TFLM takes one scale per operand")
        if x.dtype == "int16" and t.quant is not None and t.zero_point != 0:
            raise c.unsupported(f"int16 tensor '{t.name}' has zero point {t.zero_point}, TFLM requires 0")


# ---- float reference, bounds, TFLite ----------------------------------------------------------------


def float_matmul(op, ins, out_shape, graph):
    x, y = ins
    if op.attrs.adj_x:
        x = np.swapaxes(x, -1, -2)
    if op.attrs.adj_y:
        y = np.swapaxes(y, -1, -2)
    return matmul(x, y).reshape(out_shape)


def bounds_matmul(graph, op, ranges):
    """TFLM accumulates (lhs - zp) * (rhs - zp) in int32 (int8) or int64 (int16), k terms per output."""
    x, y = graph.tensors[op.inputs[0]], graph.tensors[op.inputs[1]]
    if x.dtype == "float32":
        return None
    k = matmul_shape(x.shape, y.shape, op.attrs.adj_x, op.attrs.adj_y)[2]
    lo, hi = input_range(graph, x.name, ranges)
    wlo, whi = input_range(graph, y.name, ranges) if not y.is_const else (int(y.data.min()), int(y.data.max()))
    xm = max(abs(lo - x.zero_point), abs(hi - x.zero_point))
    ym = max(abs(wlo - y.zero_point), abs(whi - y.zero_point))
    limit = INT64_ACC_LIMIT if x.dtype == "int16" else INT32_MAX
    return dict(max_abs_acc=k * xm * ym, worst_channel=0, acc_len=k, input_range=[lo, hi], limit=limit)


def tflite_batch_matmul(c: OpContext):
    x, y = c.input(0), c.input(1)
    o = c.op.options
    attrs = BatchMatMulAttrs(bool(o.get("AdjX", False)), bool(o.get("AdjY", False)))
    if bool(o.get("AsymmetricQuantizeInputs", False)) and x.dtype == "float32":
        raise c.unsupported("hybrid (asymmetric_quantize_inputs) BATCH_MATMUL is not supported")
    r = matmul_shape(x.shape, y.shape, attrs.adj_x, attrs.adj_y)
    if isinstance(r, str):
        raise c.bad(r)
    return OpKind.BATCH_MATMUL, attrs, [c.op.inputs[0], c.op.inputs[1]]


def export_batch_matmul(w, op, ins, outs) -> None:
    w.emit("BATCH_MATMUL", ins, outs, "BatchMatMulOptions",
           (("AdjX", bool(op.attrs.adj_x)), ("AdjY", bool(op.attrs.adj_y))))


register(
    OpSpec(OpKind.BATCH_MATMUL, "batched matrix product with broadcast batch dimensions, adj_x / adj_y "
                                "(int8; int16 x int16)",
           tflite=(TfliteOp("BATCH_MATMUL", tflite_batch_matmul,
                            ("BatchMatMulOptions", ("AdjX", "AdjY", "AsymmetricQuantizeInputs"))),),
           keras=NotApplicable("Keras has no matmul layer; keras.ops.matmul models arrive as .tflite through "
                               "TF's converter"),
           checks=(check_matmul_shapes, check_matmul_types), float_ref=float_matmul, bounds=bounds_matmul,
           export=export_batch_matmul, kernels=Lowering(("int8", "int16")), inputs=(2, 2), attrs=BatchMatMulAttrs,
           float_batchable=lambda op: False),
)
