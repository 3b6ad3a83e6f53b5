"""Float32 NumPy interpreter of the IR: the accuracy reference and the source of calibration ranges.

`run` takes one sample per input (shaped like the graph's inputs); `run_batch` takes N samples at once.
"""
from __future__ import annotations

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from .errors import CalibrationError, UnsupportedError
from .ir import Activation, Graph, Op, OpKind


def run(graph: Graph, inputs: list, collect: bool = False):
    """One sample through the graph in float32; returns outputs (and every tensor if collect)."""
    xs = []
    for name, a in zip(graph.inputs, inputs):
        t = graph.tensors[name]
        a = np.asarray(a, dtype=np.float32)
        if a.size != t.size:
            raise CalibrationError(f"input '{name}': expected shape {t.shape}, got {a.shape}")
        xs.append(a.reshape((1,) + tuple(t.shape[1:])) if t.shape else a)
    outs, env = _execute(graph, xs)
    outs = [o.reshape(graph.tensors[n].shape) for n, o in zip(graph.outputs, outs)]
    return (outs, env) if collect else outs


def run_batch(graph: Graph, inputs: list, collect: bool = False):
    """N samples per input, each (N, *shape[1:]); vectorized when every tensor has batch 1, else a loop."""
    if _batchable(graph):
        outs, env = _execute(graph, [np.asarray(a, dtype=np.float32) for a in inputs])
        return (outs, env) if collect else outs
    n = len(inputs[0])
    per = [run(graph, [a[i] for a in inputs], collect=True) for i in range(n)]
    outs = [np.concatenate([p[0][k] for p in per]) for k in range(len(graph.outputs))]
    env = {k: np.concatenate([p[1][k] for p in per]) for k in per[0][1]} if collect else None
    return (outs, env) if collect else outs


def _batchable(graph: Graph) -> bool:
    for t in graph.tensors.values():
        if not t.is_const and (not t.shape or t.shape[0] != 1):
            return False
    for op in graph.ops:
        a = op.attrs
        if op.kind == OpKind.MEAN and 0 in a.axes or op.kind == OpKind.CONCATENATION and a.axis == 0:
            return False
        if op.kind == OpKind.PAD and tuple(a.paddings[0]) != (0, 0):
            return False
    return True


def _execute(graph: Graph, xs: list) -> tuple:
    env = dict(zip(graph.inputs, xs))
    for op in graph.ops:
        ins = [None if t is None else (env[t] if t in env else _const(graph, t)) for t in op.inputs]
        fn = _OPS.get(op.kind)
        if fn is None:
            raise UnsupportedError(f"layer '{op.name}': op {op.kind.value} has no float reference")
        n = next((x.shape[0] for x, t in zip(ins, op.inputs) if x is not None and t in env), 1)
        out_shape = (n,) + tuple(graph.tensors[op.outputs[0]].shape[1:])
        y = fn(op, ins, out_shape, graph)
        env[op.outputs[0]] = np.asarray(y, dtype=graph.tensors[op.outputs[0]].dtype).reshape(out_shape)
    return [env[t] for t in graph.outputs], env


def _const(graph: Graph, name: str) -> np.ndarray:
    t = graph.tensors[name]
    if t.quant is not None and t.dtype != "float32":
        q = t.quant
        shape = [1] * t.data.ndim
        if q.per_axis:
            shape[q.axis] = -1
        s = np.asarray(q.scale, np.float32).reshape(shape)
        z = np.asarray(q.zero_point, np.float32).reshape(shape)
        return (t.data.astype(np.float32) - z) * s
    return t.data.astype(np.float32)


def _act(a: Activation, y: np.ndarray) -> np.ndarray:
    if a == Activation.RELU:
        return np.maximum(y, 0)
    if a == Activation.RELU6:
        return np.clip(y, 0, 6)
    if a == Activation.RELU_N1_TO_1:
        return np.clip(y, -1, 1)
    return y


def _windows(x, kh, kw, a, pad_value=0.0):
    """Sliding windows (N, OH, OW, C, KH, KW) of the explicitly padded input."""
    p = a.padding
    xp = np.pad(x, ((0, 0), (p.top, p.bottom), (p.left, p.right), (0, 0)), constant_values=pad_value)
    dh, dw = getattr(a, "dilation_h", 1), getattr(a, "dilation_w", 1)
    win = sliding_window_view(xp, ((kh - 1) * dh + 1, (kw - 1) * dw + 1), axis=(1, 2))
    return win[:, ::a.stride_h, ::a.stride_w, :, ::dh, ::dw]


def _conv(op: Op, ins, out_shape, graph):
    x, w, b = ins[0], ins[1], ins[2] if len(ins) > 2 else None
    o, kh, kw, c = w.shape
    win = _windows(x, kh, kw, op.attrs)
    n, oh, ow = win.shape[:3]
    cols = np.ascontiguousarray(win).reshape(n * oh * ow, c * kh * kw)
    wm = np.transpose(w, (3, 1, 2, 0)).reshape(c * kh * kw, o)
    y = (cols @ wm).reshape(n, oh, ow, o)
    return _act(op.attrs.activation, y + b if b is not None else y)


def _depthwise(op: Op, ins, out_shape, graph):
    x, w, b = ins[0], ins[1], ins[2] if len(ins) > 2 else None
    _, kh, kw, cm = w.shape
    m = op.attrs.depth_multiplier
    c = cm // m
    win = _windows(x, kh, kw, op.attrs)
    y = np.einsum("nhwcij,ijcm->nhwcm", win, w.reshape(kh, kw, c, m), optimize=True)
    y = y.reshape(y.shape[:3] + (cm,))
    return _act(op.attrs.activation, y + b if b is not None else y)


def _fc(op: Op, ins, out_shape, graph):
    x, w, b = ins[0], ins[1], ins[2] if len(ins) > 2 else None
    y = x.reshape(-1, w.shape[1]) @ w.T
    return _act(op.attrs.activation, y + b if b is not None else y)


def _pool(op: Op, ins, out_shape, graph):
    a, x = op.attrs, ins[0]
    if op.kind == OpKind.MAX_POOL_2D:
        y = _windows(x, a.filter_h, a.filter_w, a, -np.inf).max(axis=(4, 5))
    else:  # padded cells are excluded from the count, as in TFLite
        s = _windows(x, a.filter_h, a.filter_w, a).sum(axis=(4, 5))
        cnt = _windows(np.ones(x.shape[:3] + (1,), np.float32), a.filter_h, a.filter_w, a).sum(axis=(4, 5))
        y = s / cnt
    return _act(a.activation, y)


def _binary(fn):
    def run_op(op: Op, ins, out_shape, graph):
        return _act(op.attrs.activation, fn(ins[0], ins[1]).reshape(out_shape))
    return run_op


def _concat(op: Op, ins, out_shape, graph):
    return _act(op.attrs.activation, np.concatenate(ins, axis=op.attrs.axis))


def _quantize(op: Op, ins, out_shape, graph):
    t = graph.tensors[op.outputs[0]]
    info = np.iinfo(t.dtype)
    return np.clip(np.round(ins[0] / t.scale) + t.zero_point, info.min, info.max)


def _dequantize(op: Op, ins, out_shape, graph):
    t = graph.tensors[op.inputs[0]]
    return (ins[0].astype(np.float32) - t.zero_point) * t.scale


def _batchnorm(op: Op, ins, out_shape, graph):
    x, gamma, beta, mean, var = ins
    return (x - mean) / np.sqrt(var + op.attrs.epsilon) * gamma + beta


def _softmax(op: Op, ins, out_shape, graph):
    z = ins[0] * op.attrs.beta
    e = np.exp(z - z.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


_OPS = {
    OpKind.CONV_2D: _conv,
    OpKind.DEPTHWISE_CONV_2D: _depthwise,
    OpKind.FULLY_CONNECTED: _fc,
    OpKind.AVERAGE_POOL_2D: _pool,
    OpKind.MAX_POOL_2D: _pool,
    OpKind.ADD: _binary(np.add),
    OpKind.SUB: _binary(np.subtract),
    OpKind.MUL: _binary(np.multiply),
    OpKind.CONCATENATION: _concat,
    OpKind.PAD: lambda op, ins, s, g: np.pad(ins[0], op.attrs.paddings),
    OpKind.MEAN: lambda op, ins, s, g: ins[0].mean(axis=op.attrs.axes, keepdims=op.attrs.keep_dims),
    OpKind.RESHAPE: lambda op, ins, s, g: ins[0].reshape(s),
    OpKind.SOFTMAX: _softmax,
    OpKind.LOGISTIC: lambda op, ins, s, g: 1.0 / (1.0 + np.exp(-ins[0])),
    OpKind.TANH: lambda op, ins, s, g: np.tanh(ins[0]),
    OpKind.RELU: lambda op, ins, s, g: np.maximum(ins[0], 0),
    OpKind.RELU6: lambda op, ins, s, g: np.clip(ins[0], 0, 6),
    OpKind.LEAKY_RELU: lambda op, ins, s, g: np.where(ins[0] >= 0, ins[0], ins[0] * op.attrs.alpha),
    OpKind.HARD_SWISH: lambda op, ins, s, g: ins[0] * np.clip(ins[0] + 3, 0, 6) / 6,
    OpKind.QUANTIZE: _quantize,
    OpKind.DEQUANTIZE: _dequantize,
    OpKind.BATCH_NORM: _batchnorm,
}
