"""Float ONNX fixtures for tinygen's LUT-mapped activations and time-major recurrent inputs, written with
onnx.helper in the forms PyTorch's exporters write (torch is not a test dependency):

- gelu_script: nn.GELU() as the TorchScript exporter writes it at opset 17 (Div by sqrt 2, Erf, Add 1,
  Mul by x, Mul 0.5; constants as Constant nodes) and nn.GELU(approximate='tanh') (Mul x * x, Mul by x,
  Mul 0.044715, Add x, Mul sqrt(2 / pi), Tanh, Add 1, Mul by x, Mul 0.5), between Linear (Gemm) layers;
- gelu_dynamo: the same two as the dynamo exporter's decompositions write them at opset 18 (Div, Erf, Add,
  Mul 0.5, Mul by x; Pow 3, Mul, Add, Mul, Tanh, Add, Mul, Mul; constants as initializers), plus the
  hand-written x * 0.5 * (1 + erf(x * 1/sqrt 2)) on a 3-D MatMul + Add;
- gelu_op20: opset 20's Gelu node (approximate 'none' and 'tanh') on a CNN: Conv, Gelu, Conv, Gelu,
  GlobalAveragePool, Flatten, Gemm;
- acts_lut: standalone element-wise nodes: Erf, Softplus, Softsign, Selu, Celu (alpha 0.5), Elu (alpha 0.5),
  Sin, Cos, ThresholdedRelu (alpha 0.3), Shrink, Exp, Log (of Softplus + 0.1), Mish as TorchScript
  writes it at opset 17 (Softplus, Tanh, Mul) and the Mish node, each after a Linear;
- lstm_time_major: nn.LSTM(5, 8) (batch_first=False) as TorchScript writes it: the graph input
  [12, batch, 5] straight into the LSTM node, zero state from the dynamic batch (Shape -> Gather 1 ->
  Unsqueeze -> Concat -> ConstantOfShape), Y -> Squeeze(1) -> nn.Linear(8, 4) (MatMul + Add) on every step;
- lstm_time_major_bidirectional: nn.LSTM(5, 6, bidirectional=True), Y through TorchScript's Transpose +
  Reshape [0, 0, -1] -> nn.Linear(12, 3) on every step; lstm_time_major_stacked: nn.LSTM(5, 8, num_layers=2)
  -> output[-1] (Gather -1 on the time axis) -> nn.Linear(8, 3);
- gru_time_major: nn.GRU(5, 10) (batch_first=False): the input [sequence, 1, 5] with a dynamic time axis,
  linear_before_reset 1, h_n -> Squeeze(0) -> nn.Linear(10, 3).
Random weights from a fixed seed."""
from __future__ import annotations

import math

import numpy as np

from tests.onnx_models import Net

STEPS, FEATURES = 12, 5


def _const(n: Net, value: float) -> str:
    return n.node("Constant", [], value=n.h.make_tensor("v", 1, [], [value]))


def _init(n: Net, value, base: str = "c") -> str:
    return n.init(n._id(base)[1:], np.asarray(value, np.float32))


def gelu_script_erf(n: Net, x: str) -> str:
    d = n.node("Div", [x, _const(n, math.sqrt(2.0))])
    e = n.node("Add", [n.node("Erf", [d]), _const(n, 1.0)])
    return n.node("Mul", [n.node("Mul", [x, e]), _const(n, 0.5)])


def gelu_script_tanh(n: Net, x: str) -> str:
    cube = n.node("Mul", [x, n.node("Mul", [x, x])])
    inner = n.node("Add", [x, n.node("Mul", [_const(n, 0.044715), cube])])
    t = n.node("Tanh", [n.node("Mul", [_const(n, math.sqrt(2.0 / math.pi)), inner])])
    return n.node("Mul", [_const(n, 0.5), n.node("Mul", [x, n.node("Add", [_const(n, 1.0), t])])])


def gelu_dynamo_erf(n: Net, x: str) -> str:
    e = n.node("Erf", [n.node("Div", [x, _init(n, 1.4142135623730951)])])
    half = n.node("Mul", [_init(n, 0.5), n.node("Add", [e, _init(n, 1.0)])])
    return n.node("Mul", [x, half])


def gelu_dynamo_tanh(n: Net, x: str) -> str:
    cubed = n.node("Pow", [x, _init(n, 3.0)])
    inner = n.node("Add", [x, n.node("Mul", [_init(n, 0.044715), cubed])])
    t = n.node("Tanh", [n.node("Mul", [_init(n, math.sqrt(2.0 / math.pi)), inner])])
    return n.node("Mul", [x, n.node("Mul", [_init(n, 0.5), n.node("Add", [t, _init(n, 1.0)])])])


def gelu_hand(n: Net, x: str) -> str:
    half = n.node("Mul", [x, _init(n, 0.5)])
    e = n.node("Erf", [n.node("Mul", [x, _init(n, 1.0 / math.sqrt(2.0))])])
    return n.node("Mul", [half, n.node("Add", [_init(n, 1.0), e])])


def _matmul_add(n: Net, x: str, cin: int, cout: int) -> str:
    w = n.init(n._id("fc.weight")[1:], n.w(cin, cout, fan_in=cin))
    b = n.init(n._id("fc.bias")[1:], (n.rng.standard_normal(cout) * 0.1).astype(np.float32))
    return n.node("Add", [n.node("MatMul", [x, w]), b])


def gelu_script(seed=0):
    n = Net("gelu_script", seed)
    y = gelu_script_erf(n, n.linear("input", 8, 16))
    y = gelu_script_tanh(n, n.linear(y, 16, 12))
    return n.model((1, 8), n.linear(y, 12, 4))


def gelu_dynamo(seed=1):
    n = Net("gelu_dynamo", seed)
    y = gelu_dynamo_erf(n, _matmul_add(n, "input", 8, 16))
    y = gelu_dynamo_tanh(n, _matmul_add(n, y, 16, 12))
    y = gelu_hand(n, _matmul_add(n, y, 12, 10))
    return n.model((1, 6, 8), _matmul_add(n, y, 10, 4), opset=18)


def gelu_op20(seed=2):
    n = Net("gelu_op20", seed)
    y = n.node("Gelu", [n.conv("input", 3, 8, 3, stride=2, pad=1)])
    y = n.node("Gelu", [n.conv(y, 8, 8, 3, pad=1)], approximate="tanh")
    y = n.node("Flatten", [n.node("GlobalAveragePool", [y])], axis=1)
    return n.model((1, 3, 12, 12), n.linear(y, 8, 5), opset=20)


def acts_lut(seed=3):
    n = Net("acts_lut", seed)
    y, width = "input", 8
    steps = (("Erf", {}), ("Softplus", {}), ("Softsign", {}), ("Selu", {}), ("Celu", {"alpha": 0.5}),
             ("Elu", {"alpha": 0.5}), ("Sin", {}), ("Cos", {}), ("ThresholdedRelu", {"alpha": 0.3}),
             ("Shrink", {"lambd": 0.4, "bias": 0.2}), ("Exp", {}), ("Mish", {}))
    for op, attributes in steps:
        y = n.node(op, [n.linear(y, width, 8)], **attributes)
        width = 8
    x = n.linear(y, 8, 8)
    y = n.node("Mul", [x, n.node("Tanh", [n.node("Softplus", [x])])])  # TorchScript's nn.Mish at opset 17
    y = n.node("Log", [n.node("Add", [n.node("Softplus", [n.linear(y, 8, 8)]), _init(n, 0.1)])])
    return n.model((1, 8), n.linear(y, 8, 4), opset=18)


def _time_major_model(n: Net, out: str, dims: list, opset: int = 17):
    """The graph with input 'input' of ONNX dims `dims` (names for dynamic ones) and output 'output'."""
    from onnx import TensorProto, shape_inference

    x = n.h.make_tensor_value_info("input", TensorProto.FLOAT, dims)
    n.nodes.append(n.h.make_node("Identity", [out], ["output"], name="/output_identity"))
    probe = n.h.make_model(n.h.make_graph(n.nodes, n.name, [x], [], n.inits),
                           opset_imports=[n.h.make_opsetid("", opset)])
    inferred = {v.name: v for v in shape_inference.infer_shapes(probe).graph.value_info}
    out_vi = inferred.get("output") or n.h.make_tensor_value_info("output", TensorProto.FLOAT, None)
    g = n.h.make_graph(n.nodes, n.name, [x], [out_vi], n.inits)
    return n.h.make_model(g, opset_imports=[n.h.make_opsetid("", opset)])


def _zeros_from_batch(n: Net, dirs: int, hidden: int) -> str:
    """torch.zeros(dirs, x.size(1), hidden) for a time-major x, as TorchScript writes the default state."""
    batch = n.node("Gather", [n.node("Shape", ["input"]), _init_i(n, 1)], axis=0)
    dims = n.node("Concat", [_init_i(n, [dirs]), n.node("Unsqueeze", [batch, _init_i(n, [0])]), _init_i(n, [hidden])],
                  axis=0)
    return n.node("ConstantOfShape", [dims], value=n.h.make_tensor("v", 1, [1], [0.0]))


def _init_i(n: Net, value) -> str:
    return n.init(n._id("i")[1:], np.asarray(value, np.int64))


def lstm_time_major(seed=4):
    n = Net("lstm_time_major", seed)
    hidden, k = 8, 1.5 / math.sqrt(8)
    w = _init(n, n.rng.uniform(-k, k, (1, 4 * hidden, FEATURES)), "W")
    r = _init(n, n.rng.uniform(-k, k, (1, 4 * hidden, hidden)), "R")
    b = _init(n, n.rng.uniform(-k, k, (1, 8 * hidden)), "B")
    h0 = _zeros_from_batch(n, 1, hidden)
    y, _, _ = n.node("LSTM", ["input", w, r, b, "", h0, h0], 3, hidden_size=hidden)
    y = n.node("Squeeze", [y, _init_i(n, [1])])
    return _time_major_model(n, _matmul_add(n, y, hidden, 4), [STEPS, "batch", FEATURES])


def gru_time_major(seed=5):
    n = Net("gru_time_major", seed)
    hidden, k = 10, 1.0 / math.sqrt(10)
    w = _init(n, n.rng.uniform(-k, k, (1, 3 * hidden, FEATURES)), "W")
    r = _init(n, n.rng.uniform(-k, k, (1, 3 * hidden, hidden)), "R")
    b = _init(n, n.rng.uniform(-k, k, (1, 6 * hidden)), "B")
    _, y_h = n.node("GRU", ["input", w, r, b], 2, hidden_size=hidden, linear_before_reset=1)
    y = n.node("Squeeze", [y_h, _init_i(n, [0])])
    return _time_major_model(n, n.linear(y, hidden, 3), ["sequence", 1, FEATURES])


def _lstm_node(n: Net, x: str, features: int, hidden: int, direction: str = "forward") -> str:
    dirs, k = (2 if direction == "bidirectional" else 1), 1.5 / math.sqrt(hidden)
    w = _init(n, n.rng.uniform(-k, k, (dirs, 4 * hidden, features)), "W")
    r = _init(n, n.rng.uniform(-k, k, (dirs, 4 * hidden, hidden)), "R")
    b = _init(n, n.rng.uniform(-k, k, (dirs, 8 * hidden)), "B")
    h0 = _zeros_from_batch(n, dirs, hidden)
    extra = {} if direction == "forward" else {"direction": direction}
    return n.node("LSTM", [x, w, r, b, "", h0, h0], 3, hidden_size=hidden, **extra)[0]


def lstm_time_major_bidirectional(seed=6):
    """nn.LSTM(5, 6, bidirectional=True): Y [time, 2, batch, 6] -> Transpose (0, 2, 1, 3) -> Reshape [0, 0, -1]
    ([time, batch, 12], as TorchScript writes the output) -> nn.Linear(12, 3) on every step."""
    n = Net("lstm_time_major_bidirectional", seed)
    y = n.node("Transpose", [_lstm_node(n, "input", FEATURES, 6, "bidirectional")], perm=[0, 2, 1, 3])
    y = n.node("Reshape", [y, _init_i(n, [0, 0, -1])])
    return _time_major_model(n, _matmul_add(n, y, 12, 3), [STEPS, "batch", FEATURES])


def lstm_time_major_stacked(seed=7):
    """nn.LSTM(5, 8, num_layers=2) -> output[-1] (Gather -1 on the time axis) -> nn.Linear(8, 3)."""
    n = Net("lstm_time_major_stacked", seed)
    y = n.node("Squeeze", [_lstm_node(n, "input", FEATURES, 8), _init_i(n, [1])])
    y = n.node("Squeeze", [_lstm_node(n, y, 8, 8), _init_i(n, [1])])
    last = n.node("Gather", [y, _init_i(n, -1)], axis=0)
    return _time_major_model(n, n.linear(last, 8, 3), [STEPS, "batch", FEATURES])


GELU_FIXTURES = {f.__name__: f for f in (gelu_script, gelu_dynamo, gelu_op20, acts_lut)}
TIME_MAJOR_FIXTURES = {f.__name__: f for f in (lstm_time_major, gru_time_major, lstm_time_major_bidirectional,
                                                lstm_time_major_stacked)}
