"""Float32 NumPy interpreter of the IR: the accuracy reference and the source of calibration ranges.

Each op runs its spec's `float_ref` (tinygen/ops); this module only walks the graph and feeds constants.

`run` takes one sample per input (shaped like the graph's inputs); `run_batch` takes N samples at once.
"""
from __future__ import annotations

import numpy as np

from tinygen.errors import CalibrationError, UnsupportedError
from tinygen.ir import Graph
from tinygen.ops.spec import applies, spec_for


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
        spec = spec_for(op.kind)
        if spec is not None and spec.float_batchable is not None and not spec.float_batchable(op):
            return False
    return True


def _execute(graph: Graph, xs: list) -> tuple:
    env = dict(zip(graph.inputs, xs))
    for op in graph.ops:
        ins = [None if t is None else (env[t] if t in env else _const(graph, t)) for t in op.inputs]
        spec = spec_for(op.kind)
        fn = spec.float_ref if spec is not None and applies(spec.float_ref) else None
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
