"""GRU and RNN (SimpleRNN): recurrent cells over a sequence, tinygen's own op kinds (TFLite has no GRU
builtin; TF's converter unrolls a Keras GRU into plain ops or a WHILE loop).

IR inputs: x [1, time, features], W (gates * units, features) and R (gates * units, units) with the
gate blocks in the order z, r, h (GRU; one block for an RNN), the input-side bias bx and the recurrent
bias bh ((gates * units,) each, bh optional), then optionally the hidden state h [1, units]: a variable
tensor (Keras stateful=True) that carries over to the next invoke; without it every invoke starts from
zero. The output is h after every step ([1, time, units], return_sequences) or after the last ([1, units]).

The int8 (and 16x8) cell is defined as a composition of standard TFLite operators per time step
(tinygen/quant/gru.py, docs/quantization.md): the C kernel runs that program (tinygen/lower/gru.py,
runtime_c/recurrent/tg_rnn_s8.c) and the .tflite export writes it unrolled, one set of builtins per
step (tinygen/verify/export_gru.py), so TFLM checks the C byte for byte.
"""
from __future__ import annotations

import numpy as np

from tinygen.ir import OpKind
from tinygen.ops.checks import CheckContext
from tinygen.ops.common import acc_limit, input_range
from tinygen.ops.spec import KerasLayer, Lowering, NotApplicable, OpSpec, register
from tinygen.quant.gru import BH, BX, R, STATE, W, X, CellAttrs, float_cell, gates

_NO_TFLITE = NotApplicable("TFLite has no GRU / RNN builtin (TF's converter unrolls them); .tflite files "
                           "bring the unrolled ops, which compile as they are")


def sizes(op, graph) -> tuple:
    """(time steps, features, units) of a GRU / RNN op."""
    x, r = graph.tensors[op.inputs[X]], graph.tensors[op.inputs[R]]
    return int(x.shape[1]), int(x.shape[2]), int(r.shape[1])


# ---- checks --------------------------------------------------------------------------------------


def check_cell_shapes(c: CheckContext) -> None:
    """x is [1, time, features] (batch 1, time >= 1); W is (gates * units, features), R (gates * units,
    units), the biases (gates * units,) with gates 3 (GRU) or 1 (RNN); the state holds units values; the
    output is [1, time, units] with return_sequences, else [1, units]"""
    x = c.ins[X]
    c.rank(x, 3, "input")
    if x.shape[0] != 1 or x.shape[1] < 1:
        raise c.unsupported(f"input '{x.name}' {list(x.shape)}: batch must be 1 and time at least 1")
    steps, features, units = sizes(c.op, c.graph)
    rows = gates(c.op.kind) * units
    want = ((W, (rows, features), "input weights"), (R, (rows, units), "recurrent weights"),
            (BX, (rows,), "input bias"), (BH, (rows,), "recurrent bias"))
    for k, shape, role in want:
        t = c.ins[k] if k < len(c.ins) else None
        if t is not None and tuple(t.shape) != shape:
            raise c.bad(f"{role} '{t.name}' has shape {list(t.shape)}, expected {list(shape)}")
    if len(c.ins) > STATE and c.ins[STATE] is not None and c.ins[STATE].size != units:
        raise c.bad(f"state '{c.ins[STATE].name}' {list(c.ins[STATE].shape)} does not hold {units} values")
    c.out_is((1, steps, units) if c.a.return_sequences else (1, units))


def check_cell_operands(c: CheckContext) -> None:
    """the weights and biases are constants; the state, when given, is a variable tensor"""
    for k, role in ((W, "input weights"), (R, "recurrent weights"), (BX, "input bias"), (BH, "recurrent bias")):
        if k < len(c.ins) and c.ins[k] is not None:
            c.const(c.ins[k], role)
    if c.ins[W] is None or c.ins[R] is None:
        raise c.bad("input and recurrent weights are required")
    if len(c.ins) > STATE and c.ins[STATE] is not None and not c.ins[STATE].variable:
        raise c.unsupported(f"state '{c.ins[STATE].name}' must be a variable tensor")


def check_cell_options(c: CheckContext) -> None:
    """an RNN's activation is tanh or relu; a GRU's is tanh (gates: sigmoid); input_order only with
    go_backwards and return_sequences"""
    a = c.a
    allowed = ("tanh", "relu") if c.op.kind == OpKind.RNN else ("tanh",)
    if a.nonlinearity not in allowed:
        raise c.unsupported(f"activation '{a.nonlinearity}' is not supported (only {', '.join(allowed)})")
    if a.input_order and not (a.go_backwards and a.return_sequences):
        raise c.bad("input_order needs go_backwards and return_sequences")


def check_cell_types(c: CheckContext) -> None:
    """the cell is float32 (tinygen quantizes it), or int8 / int16 (16x8) quantized by tinygen (calibrated
    step values)"""
    x = c.ins[X]
    if x.dtype == "float32":
        return
    if x.dtype not in ("int8", "int16"):
        raise c.unsupported(f"input '{x.name}' is {x.dtype}: recurrent cells run in float32, int8 or int16 only")
    if not c.a.params:
        raise c.unsupported("a quantized cell needs the calibrated parameters of its steps (quantize the float model)")


# ---- bounds, export ------------------------------------------------------------------------------


def bounds_cell(graph, op, ranges):
    """Per FULLY_CONNECTED row of W: |bias| + sum |w| * reach(x); of R: |bias| + sum |w| * (the width of
    the value type: the state and the reset-gated state may take any value); the larger is reported."""
    x = graph.tensors[op.inputs[X]]
    if x.dtype == "float32" or x.quant is None:
        return None
    lo, hi = input_range(graph, x.name, ranges)
    reach_x = max(abs(lo - x.zero_point), abs(hi - x.zero_point))
    worst, where, length = 0, 0, 0
    info = np.iinfo(np.dtype(x.dtype))
    for k, bk, reach in ((W, BX, reach_x), (R, BH, int(info.max) - int(info.min))):
        w = np.abs(np.asarray(graph.tensors[op.inputs[k]].data, np.int64))
        b_name = op.inputs[bk] if bk < len(op.inputs) else None
        b = np.abs(np.asarray(graph.tensors[b_name].data, np.int64)) if b_name else np.zeros(w.shape[0], np.int64)
        rows = w.sum(axis=1) * reach + b
        if rows.size and int(rows.max()) > worst:
            worst, where, length = int(rows.max()), int(rows.argmax()), w.shape[1]
    return dict(max_abs_acc=worst, worst_channel=where, acc_len=length, input_range=[lo, hi],
                limit=acc_limit(graph, x.name))


def export_cell(w, op, ins, outs) -> None:
    """The unrolled steps as TFLite builtins (tinygen/verify/export_gru.py)."""
    from tinygen.verify.export_gru import export_unrolled
    export_unrolled(w, op, ins, outs)


def keras_gru(b, layer, cfg, ins, out_shape) -> str:
    from tinygen.frontend.keras_gru import convert_gru
    return convert_gru(b, layer, cfg, ins, out_shape)


def keras_simple_rnn(b, layer, cfg, ins, out_shape) -> str:
    from tinygen.frontend.keras_gru import convert_simple_rnn
    return convert_simple_rnn(b, layer, cfg, ins, out_shape)


_CHECKS = (check_cell_types, check_cell_shapes, check_cell_operands, check_cell_options)

register(
    OpSpec(OpKind.GRU, "GRU over a sequence (gates z, r, h; reset after or before the recurrent product); "
                       "int8 / 16x8 as TFLite's ops per step, h optionally kept across invokes",
           tflite=_NO_TFLITE, keras=(KerasLayer("GRU", keras_gru),), checks=_CHECKS, float_ref=float_cell,
           bounds=bounds_cell, export=export_cell, kernels=Lowering(("int8", "int16x8")), inputs=(5, 6),
           attrs=CellAttrs, float_batchable=lambda op: True),
    OpSpec(OpKind.RNN, "SimpleRNN over a sequence (tanh or relu); int8 / 16x8 as TFLite's ops per step, "
                       "h optionally kept across invokes",
           tflite=_NO_TFLITE, keras=(KerasLayer("SimpleRNN", keras_simple_rnn),), checks=_CHECKS,
           float_ref=float_cell, bounds=bounds_cell, export=export_cell, kernels=Lowering(("int8", "int16x8")),
           inputs=(5, 6), attrs=CellAttrs, float_batchable=lambda op: True),
)
