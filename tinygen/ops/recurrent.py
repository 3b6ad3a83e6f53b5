"""UNIDIRECTIONAL_SEQUENCE_LSTM: TFLite's fused LSTM layer, the standard (Keras) form.

The IR op keeps 15 inputs, in this order (`LSTM_INPUTS`): the sequence x, the input weights of the
input, forget, cell and output gates ((units, features) each), the recurrent weights of the same gates
((units, units)), the four gate biases (units,), then the hidden state h and the cell state c. h and c
are TFLite variable tensors: the op reads them and writes the new h and c over them, so they carry over
to the next invoke. The output is h at every time step, [batch, time, units] ([time, batch, units] when
time_major). The TFLite variants TFLM's kernel refuses (peephole, projection, layer norm, CIFG,
diagonal recurrent weights) are refused here too, naming the operand. The operator's `intermediates`
(per-gate scales TF's converter attaches) are not read: TFLM's kernel derives every scale from the
tensors (gate pre-activations at 2^-12, gate outputs at 2^-15, the cell state's own scale).
Float LSTMs come from Keras (`LSTM`, `Bidirectional`: frontend/keras_recurrent.py) and ONNX (`LSTM`:
frontend/onnx/recurrent.py); their float reference and TF-style quantization are in quant/lstm.py.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from tinygen.ir import OpKind
from tinygen.ops.checks import CheckContext
from tinygen.ops.common import acc_limit, input_range
from tinygen.ops.spec import KerasLayer, Lowering, OpSpec, TfliteOp, register
from tinygen.ops.tflite_context import OpContext
from tinygen.quant.lstm import float_lstm  # float reference; quantized as TF's converter does (quant/lstm.py)

GATES = ("input", "forget", "cell", "output")
X, WX, WH, BIAS, H, C = 0, 1, 5, 9, 13, 14  # first IR input of each group (WX/WH/BIAS: 4 gates each)
LSTM_INPUTS = 15
TANH = 4  # TFLite ActivationFunctionType of the cell gate (the only one TFLM's kernel evaluates)

# TFLite operand index -> the field it holds, for the operands of LSTM variants TFLM does not run
_VARIANT_OPERANDS = {9: "cell_to_input_weights (peephole)", 10: "cell_to_forget_weights (peephole)",
                     11: "cell_to_output_weights (peephole)", 16: "projection_weights",
                     17: "projection_bias", 20: "input_layer_norm_coefficients",
                     21: "forget_layer_norm_coefficients", 22: "cell_layer_norm_coefficients",
                     23: "output_layer_norm_coefficients"}
_REQUIRED = {1: "input_to_input_weights", 2: "input_to_forget_weights", 3: "input_to_cell_weights",
             4: "input_to_output_weights", 5: "recurrent_to_input_weights", 6: "recurrent_to_forget_weights",
             7: "recurrent_to_cell_weights", 8: "recurrent_to_output_weights", 12: "input_gate_bias",
             13: "forget_gate_bias", 14: "cell_gate_bias", 15: "output_gate_bias"}
_TFLITE_INDEX = [0, 1, 2, 3, 4, 5, 6, 7, 8, 12, 13, 14, 15, 18, 19]  # IR input k is TFLite operand _TFLITE_INDEX[k]


@dataclass(frozen=True)
class LstmAttrs:
    """UNIDIRECTIONAL_SEQUENCE_LSTM options: the cell state is clipped to [-cell_clip, cell_clip] when
    cell_clip > 0; time_major says the sequence is [time, batch, features] (else [batch, time, features])."""
    cell_clip: float = 0.0
    time_major: bool = False


def sizes(op, graph) -> tuple:
    """(batch, time steps, features, units) of an LSTM op."""
    x = graph.tensors[op.inputs[X]]
    units = graph.tensors[op.inputs[WH]].shape[0]
    steps, batch = (x.shape[0], x.shape[1]) if op.attrs.time_major else (x.shape[1], x.shape[0])
    return int(batch), int(steps), int(x.shape[2]), int(units)


# ---- TFLite converter ----------------------------------------------------------------------------


def tflite_lstm(c: OpContext):
    ins = list(c.op.inputs) + [-1] * (24 - len(c.op.inputs))
    if len(c.op.inputs) != 24:
        raise c.bad(f"has {len(c.op.inputs)} inputs, UNIDIRECTIONAL_SEQUENCE_LSTM takes 24")
    for k, field in _VARIANT_OPERANDS.items():
        if ins[k] >= 0:
            raise c.unsupported(f"{field} (input {k}) is set: only the standard LSTM (no peephole, projection "
                                f"or layer norm) is supported, as in TFLM")
    for k, field in _REQUIRED.items():
        if ins[k] < 0:
            what = "CIFG (coupled input-forget gate) is" if k in (1, 5) else "a gate without it is"
            raise c.unsupported(f"{field} (input {k}) is missing: {what} not supported (TFLM needs all four gates)")
    o = c.op.options
    if int(o["FusedActivationFunction"]) != TANH:
        raise c.unsupported(f"fused_activation_function {int(o['FusedActivationFunction'])} of the cell gate "
                            f"is not supported (only TANH, the one TFLM's kernel evaluates)")
    if bool(o["DiagonalRecurrentTensors"]):
        raise c.unsupported("diagonal_recurrent_tensors = true is not supported (TFLM needs (units, units) "
                            "recurrent weights)")
    clip = float(o["CellClip"])
    if not clip >= 0.0:
        raise c.bad(f"cell_clip {clip} must be >= 0 (0: no clipping)")
    for k, field in ((18, "output_state"), (19, "cell_state")):
        if ins[k] < 0:
            raise c.bad(f"{field} (input {k}) is missing")
        if not c.tensors[ins[k]].variable:
            raise c.unsupported(f"{field} (input {k} '{c.tensors[ins[k]].name}') must be a variable tensor")
    c.input(0, rank=3)
    c.output(rank=3)
    attrs = LstmAttrs(float(np.float32(clip)), bool(o["TimeMajor"]))
    return OpKind.UNIDIRECTIONAL_SEQUENCE_LSTM, attrs, [ins[k] for k in _TFLITE_INDEX]


# ---- checks --------------------------------------------------------------------------------------


def check_lstm_shapes(c: CheckContext) -> None:
    """x is [batch, time, features] ([time, batch, features] when time_major), each gate has (units, features)
    input weights, (units, units) recurrent weights and a (units,) bias, h and c hold batch * units values,
    and the output is x's first two dimensions by units"""
    x = c.ins[X]
    c.rank(x, 3, "input")
    batch, steps, features, units = sizes(c.op, c.graph)
    for g, gate in enumerate(GATES):
        for t, shape, role in ((c.ins[WX + g], (units, features), f"{gate} gate input weights"),
                               (c.ins[WH + g], (units, units), f"{gate} gate recurrent weights"),
                               (c.ins[BIAS + g], (units,), f"{gate} gate bias")):
            if tuple(t.shape) != shape:
                raise c.bad(f"{role} '{t.name}' has shape {list(t.shape)}, expected {list(shape)}")
    for t, role in ((c.ins[H], "hidden state"), (c.ins[C], "cell state")):
        if t.size != batch * units:
            raise c.bad(f"{role} '{t.name}' {list(t.shape)} does not hold {batch} x {units} values")
    c.out_is((x.shape[0], x.shape[1], units))


def check_lstm_operands(c: CheckContext) -> None:
    """the weights and biases are constants; the hidden and cell states are variable tensors (state kept
    across invokes)"""
    for k in range(WX, H):
        c.const(c.ins[k], f"{GATES[(k - WX) % 4]} gate {'bias' if k >= BIAS else 'weights'}")
    for t, role in ((c.ins[H], "hidden state"), (c.ins[C], "cell state")):
        if not t.variable:
            raise c.unsupported(f"{role} '{t.name}' must be a variable tensor")


def check_lstm_quantized(c: CheckContext) -> None:
    """the LSTM is float (tinygen quantizes it) or already quantized (int8 or int16 activations)"""
    x = c.ins[X]
    if x.dtype not in ("float32", "int8", "int16"):
        raise c.unsupported(f"input '{x.name}' is {x.dtype}; an LSTM takes float32, int8 or int16 input")


def check_lstm_clip(c: CheckContext) -> None:
    """cell_clip is a finite number >= 0 (0: no clipping)"""
    clip = c.a.cell_clip
    if not isinstance(clip, float) or not np.isfinite(clip) or clip < 0:
        raise c.bad(f"cell_clip {clip!r} must be a finite number >= 0")


# ---- bounds, export ------------------------------------------------------------------------------


def bounds_lstm(graph, op, ranges):
    """Each gate sums two accumulators, input and recurrent, requantized apart: per gate row,
    |bias| + sum |w_x - zp| * reach(x) and sum |w_h - zp| * reach(h), the larger of the two is reported."""
    x, h = graph.tensors[op.inputs[X]], graph.tensors[op.inputs[H]]
    if x.dtype == "float32" or x.quant is None or h.quant is None:
        return None
    worst, where, length = 0, 0, 0
    for t, first, bias_at in ((x, WX, BIAS), (h, WH, None)):
        lo, hi = input_range(graph, t.name, ranges)
        reach = max(abs(lo - t.zero_point), abs(hi - t.zero_point))
        for g in range(4):
            wt = graph.tensors[op.inputs[first + g]]
            w = np.abs(np.asarray(wt.data, np.int64) - (wt.zero_point if wt.quant is not None else 0))
            b = (np.abs(np.asarray(graph.tensors[op.inputs[bias_at + g]].data, np.int64)).tolist()
                 if bias_at is not None else [0] * w.shape[0])
            rows = [int(s) * reach + int(bb) for s, bb in zip(w.sum(axis=1).tolist(), b)]
            if rows and max(rows) > worst:
                worst, where, length = max(rows), g * w.shape[0] + rows.index(max(rows)), w.shape[1]
    return dict(max_abs_acc=worst, worst_channel=where, acc_len=length,
                input_range=list(input_range(graph, x.name, ranges)), limit=acc_limit(graph, x.name))


def export_lstm(w, op, ins, outs) -> None:
    """The 24 TFLite operands (absent variants -1); TFLM needs no intermediates for this form."""
    operands = [-1] * 24
    for k, t in enumerate(ins):
        operands[_TFLITE_INDEX[k]] = t
    w.emit("UNIDIRECTIONAL_SEQUENCE_LSTM", operands, outs, "UnidirectionalSequenceLSTMOptions",
           (("FusedActivationFunction", TANH), ("CellClip", float(op.attrs.cell_clip)), ("ProjClip", 0.0),
            ("TimeMajor", bool(op.attrs.time_major))))


def keras_lstm(b, layer, cfg, ins, out_shape) -> str:
    """Keras LSTM (frontend/keras_recurrent.py): one op, as TF's converter fuses it."""
    from tinygen.frontend.keras_recurrent import convert_lstm_layer
    return convert_lstm_layer(b, layer, cfg, ins, out_shape)


# ---- spec ----------------------------------------------------------------------------------------

register(
    OpSpec(OpKind.UNIDIRECTIONAL_SEQUENCE_LSTM,
           "fused LSTM over a sequence (standard gates, int16 cell state); h and c persist across invokes",
           tflite=(TfliteOp("UNIDIRECTIONAL_SEQUENCE_LSTM", tflite_lstm,
                            ("UnidirectionalSequenceLSTMOptions",
                             ("FusedActivationFunction", "CellClip", "ProjClip", "TimeMajor",
                              "AsymmetricQuantizeInputs", "DiagonalRecurrentTensors"))),),
           keras=(KerasLayer("LSTM", keras_lstm),),
           checks=(check_lstm_quantized, check_lstm_shapes, check_lstm_operands, check_lstm_clip),
           float_ref=float_lstm,
           bounds=bounds_lstm, export=export_lstm, kernels=Lowering(("int8 (int16 cell state)", "int16x8")),
           inputs=(LSTM_INPUTS, LSTM_INPUTS), attrs=LstmAttrs),
)
