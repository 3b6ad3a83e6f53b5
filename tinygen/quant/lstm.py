"""Float LSTMs: the float32 reference of UNIDIRECTIONAL_SEQUENCE_LSTM and its post-training quantization
the way TF's converter quantizes a fused LSTM (tensorflow/lite/tools/optimize, the standard gates form):

- x: the op's input parameters (calibrated like any activation);
- weights: int8, per-tensor symmetric (zero point 0, scale max|w| / 127, values in [-127, 127]), one
  scale per gate and per side (input / recurrent): TFLM's LSTM takes per-tensor weights only;
- biases: int32 (int64 for 16x8) at scale s_x * s_w of the gate's input weights (zero point 0);
- hidden state h: the output's parameters (h is the output at every step);
- cell state c: int16, zero point 0, scale 2^p / 32768 with p the smallest integer in [0, 10] such that
  2^p >= max |c| over the calibration sequences (TF's power-of-two rule: TFLM's tanh of c needs a
  power-of-two scale);
- the gates themselves need no parameters: TFLM's kernel computes them at 2^-12 (pre-activation) and
  2^-15 (sigmoid / tanh output), whatever the intermediates TF's converter records say.

The calibrated c range comes from `cell_ranges`, which reruns each LSTM in float on the calibration
samples (every step's c, from the zero state).
"""
from __future__ import annotations

import dataclasses

import numpy as np

from tinygen.fmath import matmul, sigmoid
from tinygen.ir import Graph, OpKind, QuantParams

CELL_BITS_MAX = 10  # TF's GetPowerOfTwoScale stops at 2^10


def _sigmoid(v: np.ndarray) -> np.ndarray:
    return sigmoid(v).astype(np.float32)


def float_sequence(x_seq: np.ndarray, w: list, h: np.ndarray, c: np.ndarray, clip: float) -> tuple:
    """x_seq (steps, batch, features); w: 4 input weights, 4 recurrent weights, 4 biases (gate order i, f,
    c, o; weights (units, depth)); h, c (batch, units). Returns (ys (steps, batch, units), cs likewise)."""
    ys, cs = [], []
    for t in range(x_seq.shape[0]):
        z = [matmul(x_seq[t], w[g].T) + matmul(h, w[4 + g].T) + w[8 + g] for g in range(4)]
        i, f, o = _sigmoid(z[0]), _sigmoid(z[1]), _sigmoid(z[3])
        c = f * c + i * np.tanh(z[2])
        if clip > 0:
            c = np.clip(c, -clip, clip)
        h = o * np.tanh(c)
        ys.append(h)
        cs.append(c)
    return np.stack(ys).astype(np.float32), np.stack(cs).astype(np.float32)


def _run(op, inputs: list) -> tuple:
    """(y in the op's layout, cs (steps, batch, units)) for float inputs (x possibly with N samples)."""
    x = np.asarray(inputs[0], np.float32)
    seq = x if op.attrs.time_major else x.transpose(1, 0, 2)
    batch = seq.shape[1]
    w = [np.asarray(a, np.float32) for a in inputs[1:13]]
    units = w[4].shape[0]
    h0, c0 = (np.broadcast_to(np.asarray(a, np.float32).reshape(-1, units), (batch, units)) for a in inputs[13:15])
    ys, cs = float_sequence(seq, w, h0, c0, float(op.attrs.cell_clip))
    return (ys if op.attrs.time_major else ys.transpose(1, 0, 2)), cs


def float_lstm(op, inputs, out_shape, graph) -> np.ndarray:
    """Float UNIDIRECTIONAL_SEQUENCE_LSTM from the states' reset values (each call is one fresh sequence).
    N samples ride on the batch axis (x's first axis, or the second when time_major)."""
    return _run(op, inputs)[0].reshape(out_shape)


def zero_states(graph: Graph) -> Graph:
    """`graph`, with zeros as the reset value of float variable tensors that have none (the LSTM states of a
    float .tflite), so the float reference can read them; the same graph when there are none."""
    missing = [n for n, t in graph.tensors.items() if t.variable and t.data is None and t.dtype == "float32"]
    if not missing:
        return graph
    g = graph.copy()
    for n in missing:
        g.tensors[n] = dataclasses.replace(g.tensors[n], data=np.zeros(g.tensors[n].shape, np.float32))
    return g


def cell_ranges(graph: Graph, calib: list) -> dict:
    """{LSTM op name: max |c|} over every step of the calibration samples (float, from the zero state)."""
    from tinygen.quant import float_ref

    lstms = [op for op in graph.ops if op.kind == OpKind.UNIDIRECTIONAL_SEQUENCE_LSTM]
    if not lstms:
        return {}
    found = {op.name: 0.0 for op in lstms}
    for start in range(0, calib[0].shape[0], 16):
        _, env = float_ref.run_batch(graph, [c[start:start + 16] for c in calib], collect=True)
        for op in lstms:
            ins = [env[t] if t in env else float_ref._const(graph, t) for t in op.inputs]
            _, cs = _run(op, ins)
            found[op.name] = max(found[op.name], float(np.max(np.abs(cs))) if cs.size else 0.0)
    return found


def cell_scale(max_abs: float) -> float:
    """2^p / 32768, p the smallest integer in [0, 10] with 2^p >= max_abs (TF's GetPowerOfTwoScale)."""
    p = 0
    while p < CELL_BITS_MAX and 2.0 ** p < max_abs:
        p += 1
    return 2.0 ** p / 32768.0


def _round(x: np.ndarray) -> np.ndarray:
    return np.sign(x) * np.floor(np.abs(x) + 0.5)


def _weights(t) -> tuple:
    """int8 per-tensor symmetric copy of float weights `t`, and its scale."""
    data = t.data.astype(np.float64)
    m = float(np.max(np.abs(data))) if data.size else 0.0
    scale = float(np.float32(m / 127.0)) if m > 0 else 1.0
    q = np.clip(_round(data / scale), -127, 127).astype(np.int8)
    return dataclasses.replace(t, dtype="int8", data=q, quant=QuantParams.make(scale, 0)), scale


def quantize_lstms(fgraph: Graph, q: Graph, calib: list, activations: str) -> set:
    """Quantize every LSTM's constants and states in `q` (its activations already quantized); returns the
    names of the tensors done, which the generic constant pass must leave alone."""
    from tinygen.ops.recurrent import BIAS, C, H, WH, WX, X

    lstms = [op for op in q.ops if op.kind == OpKind.UNIDIRECTIONAL_SEQUENCE_LSTM]
    if not lstms:
        return set()
    cells = cell_ranges(fgraph, calib)
    bias_dtype = "int64" if activations == "int16" else "int32"
    done = set()
    for op in lstms:
        x, y = q.tensors[op.inputs[X]], q.tensors[op.outputs[0]]
        for g in range(4):
            wx, sx = _weights(q.tensors[op.inputs[WX + g]])
            wh, _ = _weights(q.tensors[op.inputs[WH + g]])
            q.tensors[wx.name], q.tensors[wh.name] = wx, wh
            b = q.tensors[op.inputs[BIAS + g]]
            b_scale = float(np.float64(x.scale) * np.float64(sx))
            info = np.iinfo(bias_dtype)
            qb = np.clip(_round(b.data.astype(np.float64) / b_scale), float(info.min), float(info.max))
            q.tensors[b.name] = dataclasses.replace(b, dtype=bias_dtype, data=qb.astype(bias_dtype),
                                                    quant=QuantParams.make(b_scale, 0))
        h, c = q.tensors[op.inputs[H]], q.tensors[op.inputs[C]]
        q.tensors[h.name] = dataclasses.replace(h, dtype=y.dtype, data=None, quant=y.quant)
        q.tensors[c.name] = dataclasses.replace(c, dtype="int16", data=None,
                                                quant=QuantParams.make(cell_scale(cells[op.name]), 0))
        done.update(t for t in op.inputs[1:])
    return done
