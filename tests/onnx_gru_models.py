"""Float ONNX GRU / RNN models written with onnx.helper in the form PyTorch exports nn.GRU / nn.RNN with
batch_first=True (Transpose to [time, batch, features], the recurrent node, Squeeze of the direction
axis, Transpose back; linear_before_reset=1 as PyTorch writes it) plus the other forms ONNX allows
(linear_before_reset=0, reverse, bidirectional, Y_h feeding a Linear). Fixed seeds; no torch needed."""
from __future__ import annotations

import numpy as np

from tests.onnx_models import Net

STEPS, FEATURES = 8, 12


def _cell(net: Net, x, op: str, hidden: int, dirs: int = 1, **attrs):
    gates = 3 if op == "GRU" else 1
    w = net.init(net._id("W")[1:], (net.rng.standard_normal((dirs, gates * hidden, FEATURES)) * 0.3).astype(np.float32))
    r = net.init(net._id("R")[1:], (net.rng.standard_normal((dirs, gates * hidden, hidden)) * 0.3).astype(np.float32))
    b = net.init(net._id("B")[1:], (net.rng.standard_normal((dirs, 2 * gates * hidden)) * 0.1).astype(np.float32))
    return net.node(op, [x, w, r, b], n_out=2, hidden_size=hidden, **attrs)


def _time_major(net: Net, x):
    return net.node("Transpose", [x], perm=[1, 0, 2])


def _axes(net: Net, *axes):
    return net.init(net._id("axes")[1:], np.array(axes, np.int64))


def gru_forward(seed=20):
    """nn.GRU(12, 16, batch_first=True) as PyTorch exports it; the sequence output."""
    net = Net("gru_forward", seed)
    y, _ = _cell(net, _time_major(net, "input"), "GRU", 16, linear_before_reset=1)
    y = net.node("Squeeze", [y, _axes(net, 1)])
    return net.model((1, STEPS, FEATURES), net.node("Transpose", [y], perm=[1, 0, 2]))


def gru_reverse_reset_before(seed=21):
    """direction=reverse, linear_before_reset=0; the sequence output (in input order)."""
    net = Net("gru_reverse_reset_before", seed)
    y, _ = _cell(net, _time_major(net, "input"), "GRU", 10, direction="reverse", linear_before_reset=0)
    y = net.node("Squeeze", [y, _axes(net, 1)])
    return net.model((1, STEPS, FEATURES), net.node("Transpose", [y], perm=[1, 0, 2]))


def gru_bidirectional_linear(seed=22):
    """Bidirectional GRU; both final states (Y_h) through a Linear, PyTorch's classifier head."""
    net = Net("gru_bidirectional_linear", seed)
    _, y_h = _cell(net, _time_major(net, "input"), "GRU", 8, dirs=2, direction="bidirectional",
                   linear_before_reset=1)
    h = net.node("Transpose", [y_h], perm=[1, 0, 2])
    h = net.node("Reshape", [h, net.init(net._id("shape")[1:], np.array([1, 16], np.int64))])
    return net.model((1, STEPS, FEATURES), net.linear(h, 16, 5))


def rnn_tanh(seed=23):
    """nn.RNN(12, 16, batch_first=True), tanh; the last state."""
    net = Net("rnn_tanh", seed)
    _, y_h = _cell(net, _time_major(net, "input"), "RNN", 16)
    return net.model((1, STEPS, FEATURES), net.node("Squeeze", [y_h, _axes(net, 0)]))


FIXTURES = {f.__name__: f for f in (gru_forward, gru_reverse_reset_before, gru_bidirectional_linear, rnn_tanh)}
