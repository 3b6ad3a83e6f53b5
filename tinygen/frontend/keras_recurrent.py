"""Keras recurrent layers -> IR, the way TF's converter lays them out.

`LSTM` becomes one UNIDIRECTIONAL_SEQUENCE_LSTM (batch-major, cell_clip 10 as TF's converter writes it):
the fused (features, 4 * units) kernel, (units, 4 * units) recurrent kernel and bias are split into the
per-gate tensors (gate order i, f, c, o, each weight transposed to (units, depth)); the hidden and cell
states are variable tensors (state kept across invokes, as in TFLite; `<name>_reset()` restores zeros).
go_backwards reverses the time axis first (REVERSE_V2); return_sequences=False keeps the last step
(STRIDED_SLICE of the time axis).

`Bidirectional(inner)` is generic: it runs the converter registered for the inner layer's class in
`RECURRENT` twice (forward, and backward with go_backwards flipped), reverses the backward sequence back
when the inner layer returns sequences, then merges (concat: CONCATENATION on the last axis, sum: ADD,
mul: MUL, ave: ADD then MUL by 0.5). A recurrent layer plugs in with `register_recurrent(class name,
converter)`; the converter is (builder, layer, config, input tensor, op name, go_backwards,
return_sequences) -> output tensor name ([1, time, units] or [1, units]).
"""
from __future__ import annotations

import numpy as np

from tinygen import ir
from tinygen.ir import OpKind
from tinygen.ops.common import keras_fail

KERAS_CELL_CLIP = 10.0  # TF's converter writes cell_clip 10 for a Keras LSTM
RECURRENT: dict = {}  # Keras class name -> converter (module docstring)
_MERGES = ("concat", "sum", "mul", "ave")


def register_recurrent(name: str, convert) -> None:
    RECURRENT[name] = convert


def act_name(act) -> str:
    """An activation as Keras configs hold it (a name, a serialized dict or a function) -> its name."""
    if isinstance(act, str):
        return act
    if isinstance(act, dict):
        return act.get("config", {}).get("name", str(act))
    return getattr(act, "__name__", str(act))


def check_common(layer, cfg, defaults: dict) -> None:
    """Refuse what a fused recurrent op cannot express: other activations, returned states, masks."""
    for field, want in defaults.items():
        got = act_name(cfg.get(field, want))
        if got != want:
            raise keras_fail(layer, f"{field}='{got}' is not supported (only '{want}', the fused op's)")
    if cfg.get("return_state"):
        raise keras_fail(layer, "return_state=True is not supported (the layer must have one output)")
    try:
        mask = getattr(layer.input, "_keras_mask", None)
    except (AttributeError, ValueError):  # an inner layer never called, or one called more than once
        mask = None
    if mask is not None:
        raise keras_fail(layer, "masked inputs are not supported")


def reverse_time(b, x: str, name: str) -> str:
    """x [1, time, ...] with the time axis reversed (REVERSE_V2 on axis 1)."""
    from tinygen.ops.pad_extra import ReverseAttrs
    return b.op(OpKind.REVERSE_V2, name, [x], b.shape(x), ReverseAttrs((1,)))


def last_step(b, y: str, name: str) -> str:
    """[1, time, units] -> [1, units]: the last time step (STRIDED_SLICE, time axis shrunk)."""
    _, steps, units = b.shape(y)
    attrs = ir.StridedSliceAttrs((0, steps - 1, 0), (1, steps, units), (1, 1, 1), (1,))
    return b.op(OpKind.STRIDED_SLICE, name, [y], (1, units), attrs)


STATE_NOTE = ("the recurrent state carries over from one invoke to the next, as in TFLite: call <name>_reset() "
              "(tinygen run --reset-each) before each independent sequence")


def note_state(b, layer_name: str) -> None:
    """Warn once per model that a non-stateful recurrent layer's state persists across invokes."""
    if not any(w.endswith(STATE_NOTE) for w in b.g.warnings):
        b.g.warnings.append(f"layer '{layer_name}': {STATE_NOTE}")


def state(b, name: str, units: int) -> str:
    """A float variable tensor (1, units) whose reset value is zero."""
    t = b.tensor(name, (1, units), data=np.zeros((1, units), np.float32))
    b.g.tensors[t] = ir.Tensor(t, (1, units), "float32", data=np.zeros((1, units), np.float32), variable=True)
    return t


def lstm(b, layer, cfg, x: str, name: str, go_backwards: bool, return_sequences: bool) -> str:
    """One Keras LSTM layer as UNIDIRECTIONAL_SEQUENCE_LSTM (see the module docstring)."""
    from tinygen.ops.recurrent import LstmAttrs

    check_common(layer, cfg, {"activation": "tanh", "recurrent_activation": "sigmoid"})
    if len(b.shape(x)) != 3:
        raise keras_fail(layer, f"input {list(b.shape(x))} must be [batch, time, features]")
    units = int(cfg["units"])
    weights = [np.asarray(w, np.float32) for w in layer.get_weights()]
    kernel, recurrent = weights[0], weights[1]
    bias = weights[2] if cfg.get("use_bias", True) and len(weights) > 2 else np.zeros(4 * units, np.float32)
    features = b.shape(x)[2]
    if kernel.shape != (features, 4 * units) or recurrent.shape != (units, 4 * units):
        raise keras_fail(layer, f"kernel {list(kernel.shape)} / recurrent kernel {list(recurrent.shape)} do not "
                                f"match {features} features and {units} units")
    if not cfg.get("stateful"):
        note_state(b, name)
    if go_backwards:
        x = reverse_time(b, x, f"{name}/reverse")
    gates = [slice(g * units, (g + 1) * units) for g in range(4)]  # Keras order i, f, c, o = TFLite's
    ins = [x] + [b.const(f"{name}/input_weights_{k}", kernel[:, s].T) for k, s in zip("ifco", gates)]
    ins += [b.const(f"{name}/recurrent_weights_{k}", recurrent[:, s].T) for k, s in zip("ifco", gates)]
    ins += [b.const(f"{name}/bias_{k}", bias[s]) for k, s in zip("ifco", gates)]
    ins += [state(b, f"{name}/h", units), state(b, f"{name}/c", units)]
    steps = b.shape(x)[1]
    y = b.op(OpKind.UNIDIRECTIONAL_SEQUENCE_LSTM, name, ins, (1, steps, units), LstmAttrs(KERAS_CELL_CLIP, False),
             out_name=name if return_sequences else f"{name}/sequence")
    return y if return_sequences else last_step(b, y, f"{name}/last")


def op_name(b, base: str) -> str:
    """`base`, or base_1, base_2, ... when a layer called more than once already named an op so."""
    taken = {op.name for op in b.g.ops}
    name, k = base, 1
    while name in taken:
        name, k = f"{base}_{k}", k + 1
    return name


def convert_lstm_layer(b, layer, cfg, ins, out_shape) -> str:
    return lstm(b, layer, cfg, ins[0], op_name(b, layer.name), bool(cfg.get("go_backwards")),
                bool(cfg.get("return_sequences")))


def bidirectional(b, layer, cfg, ins, out_shape) -> str:
    """Keras Bidirectional over any layer in RECURRENT."""
    mode = cfg.get("merge_mode", "concat")
    if mode not in _MERGES:
        raise keras_fail(layer, f"merge_mode={mode!r} is not supported (use one of {', '.join(_MERGES)})")
    outs, base = [], op_name(b, layer.name)
    for part, inner in (("forward", layer.forward_layer), ("backward", layer.backward_layer)):
        cls = type(inner).__name__
        if cls not in RECURRENT:
            raise keras_fail(layer, f"inner layer '{inner.name}' ({cls}) is not supported (recurrent layers: "
                                    f"{', '.join(sorted(RECURRENT))})")
        icfg = inner.get_config()
        seq = bool(icfg.get("return_sequences"))
        name = f"{base}/{part}"
        y = RECURRENT[cls](b, inner, icfg, ins[0], name, bool(icfg.get("go_backwards")), seq)
        if part == "backward" and seq:
            y = reverse_time(b, y, f"{name}/unreverse")
        outs.append(y)
    shape = b.shape(outs[0])
    if mode == "concat":
        return b.op(OpKind.CONCATENATION, base, outs, shape[:-1] + (2 * shape[-1],),
                    ir.ConcatAttrs(len(shape) - 1))
    if mode == "mul":
        return b.op(OpKind.MUL, base, outs, shape, ir.ElementwiseAttrs())
    total = b.op(OpKind.ADD, base if mode == "sum" else f"{base}/sum", outs, shape, ir.ElementwiseAttrs())
    if mode == "sum":
        return total
    return b.op(OpKind.MUL, base, [total, b.const(f"{base}/half", np.full((1,), 0.5, np.float32))],
                shape, ir.ElementwiseAttrs())


register_recurrent("LSTM", lstm)
HANDLERS = {"Bidirectional": bidirectional}  # layers without an op spec of their own (frontend/keras.py)
