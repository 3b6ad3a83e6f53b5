"""SVDF: a rank-factored fully connected layer over time, whose memory is a variable tensor.

IR inputs, as TFLite's: x [batch, input_size], weights_feature [filters, input_size], weights_time
[filters, memory], bias [units] (units = filters / rank), and the activation state [batch, memory *
filters], a variable tensor the op shifts by one and appends to on every invoke (it persists across
invokes). Output [batch, units]. Full-integer form as TFLM runs it: int8 x, weights_feature and output,
int32 bias, and weights_time with the state both int8 or both int16. TFLM's integer kernel applies no
fused activation, so none is applied here either (the option is read and kept for export).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from tinygen.ir import Activation, OpKind
from tinygen.ops.checks import CheckContext
from tinygen.ops.common import TFLITE_ACT, input_range
from tinygen.ops.spec import Lowering, NotApplicable, OpSpec, TfliteOp, register
from tinygen.ops.tflite_context import OpContext

X, WF, WT, BIAS, STATE = range(5)
INT32_MAX = (1 << 31) - 1


@dataclass(frozen=True)
class SvdfAttrs:
    """SVDF options: rank (filters per output unit) and the fused activation (ignored by TFLM's integer
    kernel, and so by tinygen's)."""
    rank: int
    activation: Activation = Activation.NONE


def sizes(op, graph) -> tuple:
    """(batch, input_size, filters, units, memory) of an SVDF op."""
    x, wt = graph.tensors[op.inputs[X]], graph.tensors[op.inputs[WT]]
    filters, memory = (int(d) for d in wt.shape)
    return int(x.shape[0]), int(x.shape[1]), filters, filters // max(op.attrs.rank, 1), memory


# ---- TFLite converter ----------------------------------------------------------------------------


def tflite_svdf(c: OpContext):
    rank = int(c.op.options["Rank"])
    if rank < 1:
        raise c.bad(f"rank is {rank}, must be >= 1")
    ins = list(c.op.inputs) + [-1] * (5 - len(c.op.inputs))
    if len(c.op.inputs) != 5:
        raise c.bad(f"expected 5 inputs, found {len(c.op.inputs)}")
    state = c.input(STATE)
    if not state.variable:
        raise c.bad(f"input 4 (activation state) '{state.name}' is not a variable tensor")
    return OpKind.SVDF, SvdfAttrs(rank, c.activation()), [None if i < 0 else i for i in ins]


# ---- checks --------------------------------------------------------------------------------------


def check_svdf_shapes(c: CheckContext) -> None:
    """x is [batch, input_size], weights_feature [filters, input_size], weights_time [filters, memory],
    filters a multiple of rank, bias [filters / rank], the state [batch, memory * filters] and the output
    [batch, filters / rank]"""
    x, wf, wt, bias, state = c.ins
    for t, role in ((x, "input"), (wf, "weights_feature"), (wt, "weights_time"), (state, "activation state")):
        c.rank(t, 2, role)
    batch, n_in = x.shape
    filters, memory = wt.shape
    if tuple(wf.shape) != (filters, n_in):
        raise c.bad(f"weights_feature '{wf.name}' is {list(wf.shape)}, expected [{filters}, {n_in}]")
    if filters % c.a.rank:
        raise c.bad(f"{filters} filters are not a multiple of rank {c.a.rank}")
    units = filters // c.a.rank
    if bias is None:
        raise c.unsupported("the bias is missing (TFLM's integer kernel reads its scale)")
    if tuple(bias.shape) != (units,):
        raise c.bad(f"bias '{bias.name}' is {list(bias.shape)}, expected [{units}]")
    if tuple(state.shape) != (batch, memory * filters):
        raise c.bad(f"activation state '{state.name}' is {list(state.shape)}, expected [{batch}, {memory * filters}]")
    c.out_is((batch, units))


def check_svdf_types(c: CheckContext) -> None:
    """int8 input, weights_feature and output, int32 constant bias, weights_time and the variable state
    both int8 or both int16, constant weights, per-tensor quantization, and bias scale = state scale *
    weights_time scale (TFLM's check, within 1e-5)"""
    x, wf, wt, bias, state = c.ins
    if not state.variable:
        raise c.unsupported(f"the activation state '{state.name}' must be a variable tensor")
    want = ((x, "int8"), (wf, "int8"), (bias, "int32"), (c.out, "int8"))
    for t, dtype in want:
        if t.dtype != dtype:
            raise c.unsupported(f"tensor '{t.name}' is {t.dtype}; the integer SVDF takes {dtype}")
    if wt.dtype not in ("int8", "int16") or state.dtype != wt.dtype:
        raise c.unsupported(f"weights_time is {wt.dtype} and the state {state.dtype}: TFLM runs both int8 or "
                            f"both int16")
    for t in (wf, wt, bias):
        c.const(t, "weights and bias")
    for t in (x, wf, wt, bias, state, c.out):
        if t.quant is None or t.quant.per_axis:
            raise c.unsupported(f"tensor '{t.name}' needs per-tensor quantization")
    f32 = np.float32
    if abs(float(f32(bias.scale)) - float(f32(state.scale) * f32(wt.scale))) >= 1e-5:
        raise c.unsupported(f"bias scale {bias.scale} is not state scale * weights_time scale "
                            f"{float(f32(state.scale) * f32(wt.scale))} (TFLM refuses it)")


# ---- bounds, export ------------------------------------------------------------------------------


def bounds_svdf(graph, op, ranges):
    """The feature accumulator: per filter, sum |w_f| * reach(x). The time accumulator and the rank sum
    wrap in int32 exactly as TFLM's do (the C uses unsigned arithmetic), so they do not break equality."""
    x = graph.tensors[op.inputs[X]]
    if x.quant is None or graph.tensors[op.inputs[WF]].data is None:
        return None
    lo, hi = input_range(graph, x.name, ranges)
    reach = max(abs(lo - x.zero_point), abs(hi - x.zero_point))
    rows = np.abs(np.asarray(graph.tensors[op.inputs[WF]].data, np.int64)).sum(axis=1) * reach
    worst = int(rows.argmax()) if rows.size else 0
    return dict(max_abs_acc=int(rows.max()) if rows.size else 0, worst_channel=worst,
                acc_len=int(x.shape[1]), input_range=[lo, hi], limit=INT32_MAX)


def export_svdf(w, op, ins, outs) -> None:
    w.emit("SVDF", ins, outs, "SVDFOptions",
           (("Rank", int(op.attrs.rank)), ("FusedActivationFunction", TFLITE_ACT[op.attrs.activation]),
            ("AsymmetricQuantizeInputs", False)))


register(
    OpSpec(OpKind.SVDF, "rank-factored fully connected layer over a memory of past inputs (variable state)",
           tflite=(TfliteOp("SVDF", tflite_svdf, ("SVDFOptions", ("Rank", "FusedActivationFunction",
                                                                  "AsymmetricQuantizeInputs"))),),
           keras=NotApplicable("no Keras layer: SVDF comes from .tflite files (e.g. TFLM's keyword models)"),
           checks=(check_svdf_shapes, check_svdf_types),
           float_ref=NotApplicable("only quantized .tflite models carry it; tinygen does not quantize SVDF"),
           bounds=bounds_svdf, export=export_svdf,
           kernels=Lowering(("int8 (int8 memory)", "int8 (16-bit memory)")), inputs=(5, 5), attrs=SvdfAttrs),
)
