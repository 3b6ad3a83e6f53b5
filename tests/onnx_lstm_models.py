"""Small float ONNX LSTM models written with onnx.helper in the form PyTorch's TorchScript exporter writes
nn.LSTM(batch_first=True): Transpose (1, 0, 2) into the LSTM node (W, R, B initializers in ONNX's gate order
i, o, f, c; zero initial_h / initial_c as initializers, or built from the dynamic batch size by
Shape -> Gather -> Unsqueeze -> Concat -> ConstantOfShape; no sequence_lens), Y -> Squeeze(1) (one direction) or
Transpose (0, 2, 1, 3) + Reshape [0, 0, -1] (bidirectional) -> Transpose (1, 0, 2), or Y_h -> Squeeze(0)
for the last state. Random weights (uniform +-1.5 / sqrt(hidden), like PyTorch's init) from a fixed seed."""
from __future__ import annotations

import numpy as np

from tests.onnx_models import Net

STEPS, FEATURES = 12, 5


def _zeros_like_batch(n: Net, dirs: int, hidden: int) -> str:
    """torch.zeros(dirs, x.size(0), hidden) as the TorchScript exporter writes nn.LSTM's default state with a
    dynamic batch: Shape -> Gather -> Unsqueeze -> Concat -> ConstantOfShape."""
    batch = n.node("Gather", [n.node("Shape", ["input"]), n.init(n._id("zero")[1:], np.array(0, np.int64))], axis=0)
    dims = n.node("Concat", [n.init(n._id("dirs")[1:], np.array([dirs], np.int64)),
                             n.node("Unsqueeze", [batch, _axes(n, 0)]),
                             n.init(n._id("hidden")[1:], np.array([hidden], np.int64))], axis=0)
    return n.node("ConstantOfShape", [dims], value=n.h.make_tensor("v", 1, [1], [0.0]))


def _lstm(n: Net, x: str, features: int, hidden: int, direction: str = "forward",
          dynamic_zeros: bool = False) -> tuple:
    """(Y, Y_h) of an LSTM node on x [time, 1, features]."""
    dirs = 2 if direction == "bidirectional" else 1
    k = 1.5 / np.sqrt(hidden)
    w = n.init(n._id("W")[1:], n.rng.uniform(-k, k, (dirs, 4 * hidden, features)).astype(np.float32))
    r = n.init(n._id("R")[1:], n.rng.uniform(-k, k, (dirs, 4 * hidden, hidden)).astype(np.float32))
    b = n.init(n._id("B")[1:], n.rng.uniform(-k, k, (dirs, 8 * hidden)).astype(np.float32))
    if dynamic_zeros:
        h0 = c0 = _zeros_like_batch(n, dirs, hidden)
    else:
        h0 = n.init(n._id("h0")[1:], np.zeros((dirs, 1, hidden), np.float32))
        c0 = n.init(n._id("c0")[1:], np.zeros((dirs, 1, hidden), np.float32))
    extra = {} if direction == "forward" else {"direction": direction}
    y, y_h, _ = n.node("LSTM", [x, w, r, b, "", h0, c0], 3, hidden_size=hidden, **extra)
    return y, y_h


def _axes(n: Net, *axes) -> str:
    return n.init(n._id("axes")[1:], np.array(axes, np.int64))


def _time_major(n: Net) -> str:
    return n.node("Transpose", ["input"], perm=[1, 0, 2])


def _sequence_out(n: Net, y: str, bidirectional: bool = False) -> str:
    """Y [time, dirs, 1, hidden] -> [1, time, dirs * hidden] as PyTorch writes it."""
    if bidirectional:
        y = n.node("Transpose", [y], perm=[0, 2, 1, 3])
        y = n.node("Reshape", [y, n.init(n._id("shape")[1:], np.array([0, 0, -1], np.int64))])
    else:
        y = n.node("Squeeze", [y, _axes(n, 1)])
    return n.node("Transpose", [y], perm=[1, 0, 2])


def _matmul_add(n: Net, x: str, cin: int, cout: int) -> str:
    w = n.init(n._id("fc.weight")[1:], n.w(cin, cout, fan_in=cin))
    b = n.init(n._id("fc.bias")[1:], (n.rng.standard_normal(cout) * 0.1).astype(np.float32))
    return n.node("Add", [n.node("MatMul", [x, w]), b])


def lstm_forward(seed=0):
    """nn.LSTM(5, 8, batch_first=True) -> the whole sequence -> nn.Linear(8, 4) on every step."""
    n = Net("lstm_forward", seed)
    y, _ = _lstm(n, _time_major(n), FEATURES, 8)
    return n.model((1, STEPS, FEATURES), _matmul_add(n, _sequence_out(n, y), 8, 4))


def lstm_reverse_last(seed=1):
    """A reverse-direction LSTM (hidden 10) -> its last state h_n -> nn.Linear(10, 3)."""
    n = Net("lstm_reverse_last", seed)
    _, y_h = _lstm(n, _time_major(n), FEATURES, 10, "reverse")
    return n.model((1, STEPS, FEATURES), n.linear(n.node("Squeeze", [y_h, _axes(n, 0)]), 10, 3))


def lstm_bidirectional(seed=2):
    """nn.LSTM(5, 6, batch_first=True, bidirectional=True) -> [1, time, 12] -> nn.Linear(12, 3)."""
    n = Net("lstm_bidirectional", seed)
    y, _ = _lstm(n, _time_major(n), FEATURES, 6, "bidirectional")
    return n.model((1, STEPS, FEATURES), _matmul_add(n, _sequence_out(n, y, True), 12, 3))


def lstm_stacked(seed=3):
    """nn.LSTM(5, 8, num_layers=2, batch_first=True) (two LSTM nodes, Squeeze between; the first layer's zero
    state built from the dynamic batch size) -> h_n of the top layer -> nn.Linear(8, 3)."""
    n = Net("lstm_stacked", seed)
    y, _ = _lstm(n, _time_major(n), FEATURES, 8, dynamic_zeros=True)
    _, y_h = _lstm(n, n.node("Squeeze", [y, _axes(n, 1)]), 8, 8)
    return n.model((1, STEPS, FEATURES), n.linear(n.node("Squeeze", [y_h, _axes(n, 0)]), 8, 3))


FIXTURES = {f.__name__: f for f in (lstm_forward, lstm_reverse_last, lstm_bidirectional, lstm_stacked)}
