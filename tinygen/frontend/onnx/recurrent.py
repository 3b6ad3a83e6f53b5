"""ONNX LSTM -> UNIDIRECTIONAL_SEQUENCE_LSTM (tinygen/ops/recurrent.py), batch 1, layout 0.

X [time, 1, features] is read in its stored order (with batch 1, PyTorch's batch_first Transpose keeps
the element order: a free RESHAPE to [1, time, features]). Per direction, ONNX's gate blocks i, o, f, c
of W [4 * hidden, features] and R [4 * hidden, hidden] become the op's per-gate weights in TFLite's
order i, f, c, o; the bias of a gate is Wb + Rb. The states are zero-reset variable tensors (no
cell_clip). direction "reverse" reverses the sequence (REVERSE_V2), runs forward and reverses the
output back; "bidirectional" runs both and concatenates them on the direction axis. Y [time,
directions, 1, hidden] is stored as [1, time, directions, hidden] (perm (2, 0, 1, 3)), Y_h [directions,
1, hidden] as [1, directions, hidden] (perm (1, 0, 2)): the last step run of each direction, a slice of
its output; what nothing reads is dropped by `prune_unused` at the end of the import.
Refused, naming the node: clip, input_forget, layout 1, peepholes, other activations, a non-zero
initial_h / initial_c, sequence_lens shorter than the sequence, a [time, 1, features] graph input whose
dynamic time axis was taken as the batch. Y_c is not produced (the op keeps c in its state): a node that
reads it is refused as reading an unknown input.
"""
from __future__ import annotations

import numpy as np

from tinygen import ir
from tinygen.frontend.onnx.builder import Builder, Val, flat_order
from tinygen.frontend.onnx.fold import attrs
from tinygen.ir import OpKind

_ACTS = ("Sigmoid", "Tanh", "Tanh")
_ONNX_GATE = (0, 2, 3, 1)  # TFLite gate k (i, f, c, o) is ONNX block _ONNX_GATE[k] (blocks i, o, f, c)
_OPTIONAL = "_onnx_optional_ops"  # graph attribute: op names `prune_unused` may drop


def _options(b: Builder, a: dict) -> tuple:
    """(direction, directions, hidden) after refusing what the op cannot express."""
    if a.get("layout", 0) != 0:
        raise b.fail(f"layout {a['layout']} is not supported (only 0: [time, batch, features])")
    if a.get("clip") is not None:
        raise b.fail("clip is not supported (TFLite's LSTM clips the cell state, ONNX the gate inputs)")
    if a.get("input_forget", 0):
        raise b.fail("input_forget=1 (coupled input and forget gates) is not supported")
    direction = a.get("direction", "forward")
    if direction not in ("forward", "reverse", "bidirectional"):
        raise b.fail(f"direction '{direction}' is not supported")
    dirs = 2 if direction == "bidirectional" else 1
    acts = [x.capitalize() for x in (a.get("activations") or ())]
    if acts and acts != list(_ACTS) * dirs:
        raise b.fail(f"activations {acts} are not supported (only {list(_ACTS)} per direction)")
    return direction, dirs, int(a["hidden_size"])


def _sequence(b: Builder, x: Val) -> tuple:
    """X [time, 1, features] as an IR tensor [1, time, features] (a RESHAPE when the order allows)."""
    if len(x.shape) != 3 or x.shape[1] != 1:
        raise b.fail(f"input X {list(x.shape)} must be [time, 1, features] (batch 1, layout 0)")
    dynamic_first = any(w.startswith(f"input '{x.ir}': dynamic batch dimension") for w in b.g.warnings)
    if x.perm is None and x.ir in b.g.inputs and dynamic_first:
        raise b.fail(f"X is graph input '{x.ir}' whose dynamic first dimension (the time axis here) was taken as "
                     f"batch 1; export with batch_first=True (a [1, time, features] input)")
    if x.order is not None or not np.array_equal(flat_order(x), np.arange(int(np.prod(x.shape)))):
        x = b.plain(x)
    steps, _, features = x.shape
    if b.ir_shape(x) == (1, steps, features):
        return x.ir, steps, features
    return b.op(OpKind.RESHAPE, [x.ir], (1, steps, features), ir.ReshapeAttrs(), "/x"), steps, features


def _present(b: Builder, i: int) -> bool:
    return len(b.node.input) > i and b.node.input[i] != ""


def _check_optional(b: Builder, steps: int) -> None:
    if _present(b, 4):
        lens = np.asarray(b.const_input(4, "sequence_lens"))
        if np.any(lens != steps):
            raise b.fail(f"sequence_lens {lens.tolist()} is not supported (every sequence must be {steps} steps)")
    for i, what in ((5, "initial_h"), (6, "initial_c")):
        if _present(b, i) and np.any(np.asarray(b.const_input(i, what)) != 0):
            raise b.fail(f"a non-zero {what} is not supported (the state starts at zero)")
    if _present(b, 7):
        raise b.fail("peephole weights P are not supported (TFLM's LSTM has no peepholes)")


def _weights(b: Builder, dirs: int, hidden: int, features: int) -> tuple:
    w, r = np.asarray(b.const_input(1, "W"), np.float32), np.asarray(b.const_input(2, "R"), np.float32)
    bias = b.const_input(3, "B") if _present(b, 3) else None
    bias = np.zeros((dirs, 8 * hidden), np.float32) if bias is None else np.asarray(bias, np.float32)
    if w.shape != (dirs, 4 * hidden, features) or r.shape != (dirs, 4 * hidden, hidden) or \
            bias.shape != (dirs, 8 * hidden):
        raise b.fail(f"W {list(w.shape)}, R {list(r.shape)}, B {list(bias.shape)} do not fit {dirs} direction(s), "
                     f"hidden_size {hidden} and {features} features")
    return w, r, bias


def _direction(b: Builder, x: str, steps: int, hidden: int, wrb: tuple, d: int, backwards: bool) -> tuple:
    """One direction: (its output [1, time, hidden] in input order, the raw run's output)."""
    from tinygen.frontend.keras_recurrent import state
    from tinygen.ops.pad_extra import ReverseAttrs
    from tinygen.ops.recurrent import LstmAttrs

    w, r, bias = wrb
    tag = "backward" if backwards else "forward"
    blocks = [slice(k * hidden, (k + 1) * hidden) for k in _ONNX_GATE]
    if backwards:
        x = b.op(OpKind.REVERSE_V2, [x], b.g.tensors[x].shape, ReverseAttrs((1,)), f"/{tag}/reverse")
    ins = [x] + [b.const(f"{b.name}/{tag}/input_weights_{g}", w[d][s]) for g, s in zip("ifco", blocks)]
    ins += [b.const(f"{b.name}/{tag}/recurrent_weights_{g}", r[d][s]) for g, s in zip("ifco", blocks)]
    ins += [b.const(f"{b.name}/{tag}/bias_{g}", bias[d][s] + bias[d][4 * hidden:][s]) for g, s in zip("ifco", blocks)]
    ins += [state(b, f"{b.name}/{tag}/h", hidden), state(b, f"{b.name}/{tag}/c", hidden)]
    raw = b.op(OpKind.UNIDIRECTIONAL_SEQUENCE_LSTM, ins, (1, steps, hidden), LstmAttrs(0.0, False), f"/{tag}")
    if not backwards:
        return raw, raw
    return b.op(OpKind.REVERSE_V2, [raw], (1, steps, hidden), ReverseAttrs((1,)), f"/{tag}/unreverse"), raw


def _optional(b: Builder, name: str) -> str:
    b.g.__dict__.setdefault(_OPTIONAL, set()).add(b.g.tensors[name].name)
    return name


def lstm(b: Builder) -> None:
    direction, dirs, hidden = _options(b, attrs(b.node))
    x, steps, features = _sequence(b, b.act_input(0))
    _check_optional(b, steps)
    wrb = _weights(b, dirs, hidden, features)
    from tinygen.frontend.keras_recurrent import note_state
    note_state(b, b.name)
    runs = [_direction(b, x, steps, hidden, wrb, d, direction == "reverse" or d == 1) for d in range(dirs)]
    per = [_optional(b, b.op(OpKind.RESHAPE, [y], (1, steps, 1, hidden), ir.ReshapeAttrs(), f"/y{d}"))
           for d, (y, _) in enumerate(runs)]
    y = per[0] if dirs == 1 else _optional(b, b.op(OpKind.CONCATENATION, per, (1, steps, 2, hidden),
                                                    ir.ConcatAttrs(2), "/y"))
    b.set(0, Val((steps, dirs, 1, hidden), ir=y, perm=(2, 0, 1, 3)))
    if len(b.node.output) > 1 and b.node.output[1]:
        lasts = []
        for d, (_, raw) in enumerate(runs):
            s = ir.StridedSliceAttrs((0, steps - 1, 0), (1, steps, hidden), (1, 1, 1))
            lasts.append(_optional(b, b.op(OpKind.STRIDED_SLICE, [raw], (1, 1, hidden), s, f"/h{d}")))
        y_h = lasts[0] if dirs == 1 else _optional(b, b.op(OpKind.CONCATENATION, lasts, (1, 2, hidden),
                                                           ir.ConcatAttrs(1), "/y_h"))
        b.set(1, Val((dirs, 1, hidden), ir=y_h, perm=(1, 0, 2)))


def prune_unused(b: Builder) -> None:
    """Drop the optional ops (Y / Y_h views) whose outputs nothing reads and no graph output is."""
    optional = b.g.__dict__.get(_OPTIONAL)
    if not optional:
        return
    changed = True
    while changed:
        read = {t for op in b.g.ops for t in op.inputs if t is not None} | set(b.g.outputs)
        keep = [op for op in b.g.ops if op.outputs[0] not in optional or op.outputs[0] in read]
        changed = len(keep) != len(b.g.ops)
        b.g.ops = keep


CONVERTERS = {"LSTM": lstm}
