"""Keras GRU and SimpleRNN -> one GRU / RNN op (tinygen/ops/gru.py).

The fused Keras weights map straight onto the op's: kernel (features, gates * units) -> W (transposed),
recurrent_kernel -> R (transposed), both in Keras' gate order z, r, h; a GRU with reset_after=True has
a (2, 3 * units) bias (input side, recurrent side), otherwise one bias (the recurrent bias is then zero).
go_backwards and return_sequences are op options (no REVERSE copy); stateful=True makes the hidden state
a variable tensor that carries over between invokes (`<name>_reset()` zeroes it, as layer.reset_states()).
The converters are registered with the generic Bidirectional wrapper (frontend/keras_recurrent.py).
"""
from __future__ import annotations

import numpy as np

from tinygen import ir
from tinygen.ir import OpKind
from tinygen.frontend.keras_recurrent import act_name
from tinygen.ops.common import keras_fail
from tinygen.quant.gru import CellAttrs


def _check(layer, cfg, x_shape, allowed: dict) -> None:
    for field, names in allowed.items():
        got = act_name(cfg.get(field, names[0]))
        if got not in names:
            raise keras_fail(layer, f"{field}='{got}' is not supported (only {', '.join(names)})")
    if cfg.get("return_state"):
        raise keras_fail(layer, "return_state=True is not supported (the layer must have one output)")
    if len(x_shape) != 3:
        raise keras_fail(layer, f"input {list(x_shape)} must be [batch, time, features]")
    if getattr(getattr(layer, "input", None), "_keras_mask", None) is not None:
        raise keras_fail(layer, "masked inputs are not supported")


def _state(b, name: str, units: int) -> str:
    t = b.tensor(name, (1, units))
    b.g.tensors[t] = ir.Tensor(t, (1, units), "float32", data=np.zeros((1, units), np.float32), variable=True)
    return t


def cell_op(b, layer, cfg, x: str, name: str, kind: OpKind, weights: tuple, attrs: CellAttrs) -> str:
    """The GRU / RNN op: weights = (kernel, recurrent kernel, input bias, recurrent bias) in Keras layout."""
    kernel, recurrent, bx, bh = weights
    units = int(cfg["units"])
    rows = (3 if kind == OpKind.GRU else 1) * units
    features = b.shape(x)[2]
    if kernel.shape != (features, rows) or recurrent.shape != (units, rows):
        raise keras_fail(layer, f"kernel {list(kernel.shape)} / recurrent kernel {list(recurrent.shape)} do not "
                                f"match {features} features and {units} units")
    ins = [x, b.const(f"{name}/W", kernel.T), b.const(f"{name}/R", recurrent.T),
           b.const(f"{name}/bx", bx), b.const(f"{name}/bh", bh)]
    if cfg.get("stateful"):
        ins.append(_state(b, f"{name}/h", units))
    steps = b.shape(x)[1]
    shape = (1, steps, units) if attrs.return_sequences else (1, units)
    return b.op(kind, name, ins, shape, attrs)


def gru(b, layer, cfg, x: str, name: str, go_backwards: bool, return_sequences: bool) -> str:
    """Keras GRU (both reset_after forms)."""
    _check(layer, cfg, b.shape(x), {"activation": ("tanh",), "recurrent_activation": ("sigmoid",)})
    units = int(cfg["units"])
    reset_after = bool(cfg.get("reset_after", True))
    w = [np.asarray(a, np.float32) for a in layer.get_weights()]
    zeros = np.zeros(3 * units, np.float32)
    bias = w[2] if cfg.get("use_bias", True) and len(w) > 2 else None
    if bias is None:
        bx, bh = zeros, zeros
    elif reset_after:
        bx, bh = bias.reshape(2, 3 * units)
    else:
        bx, bh = bias.reshape(3 * units), zeros
    attrs = CellAttrs("tanh", reset_after, go_backwards, return_sequences)
    return cell_op(b, layer, cfg, x, name, OpKind.GRU, (w[0], w[1], bx, bh), attrs)


def simple_rnn(b, layer, cfg, x: str, name: str, go_backwards: bool, return_sequences: bool) -> str:
    """Keras SimpleRNN (tanh or relu)."""
    _check(layer, cfg, b.shape(x), {"activation": ("tanh", "relu")})
    units = int(cfg["units"])
    w = [np.asarray(a, np.float32) for a in layer.get_weights()]
    zeros = np.zeros(units, np.float32)
    bx = w[2].reshape(units) if cfg.get("use_bias", True) and len(w) > 2 else zeros
    attrs = CellAttrs(act_name(cfg.get("activation", "tanh")), True, go_backwards, return_sequences)
    return cell_op(b, layer, cfg, x, name, OpKind.RNN, (w[0], w[1], bx, zeros), attrs)


def convert_gru(b, layer, cfg, ins, out_shape) -> str:
    return gru(b, layer, cfg, ins[0], layer.name, bool(cfg.get("go_backwards")), bool(cfg.get("return_sequences")))


def convert_simple_rnn(b, layer, cfg, ins, out_shape) -> str:
    return simple_rnn(b, layer, cfg, ins[0], layer.name, bool(cfg.get("go_backwards")),
                      bool(cfg.get("return_sequences")))


def register() -> None:
    """Make GRU and SimpleRNN wrappable by Bidirectional."""
    from tinygen.frontend.keras_recurrent import register_recurrent
    register_recurrent("GRU", gru)
    register_recurrent("SimpleRNN", simple_rnn)
