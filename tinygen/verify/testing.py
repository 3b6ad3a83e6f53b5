"""Run a quantized graph through the NumPy reference or through generated C on the host.

Used by tests and by `tinygen verify`: both paths share one lowering, so a difference between them
is a difference between a C kernel and its reference.
"""
from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np

from tinygen.codegen import model as codegen
from tinygen.compiler import generate, lower
from tinygen.verify.hostbuild import cache_root
from tinygen.verify.host import HostModel
from tinygen.ir import Graph
from tinygen.lower.base import activation_inputs


def run_reference(graph: Graph, inputs: list, lowered: list | None = None, collect: bool = False,
                  state: dict | None = None):
    """One sample through the lowered NumPy references; returns outputs (and all tensors if collect).

    A stateful graph runs on `state` ({variable: array}, from memory.state.initial_state), which the
    ops update in place so that it carries to the next call; without it, on a fresh initial state."""
    from tinygen.memory.state import initial_state

    lowered = lowered if lowered is not None else lower(graph)
    env = dict(state if state is not None else initial_state(graph))
    for name, a in zip(graph.inputs, inputs):
        t = graph.tensors[name]
        env[name] = np.asarray(a, dtype=t.dtype).reshape(t.shape)
    for lop in lowered:
        ins = [env[t] for t in activation_inputs(lop.op, graph)]
        outs = lop.reference(ins)
        for tname, val in zip(lop.op.outputs, outs):
            t = graph.tensors[tname]
            val = np.asarray(val)
            if val.dtype != np.dtype(t.dtype):
                val = val.astype(t.dtype)
            env[tname] = val.reshape(t.shape)
    outputs = [env[t] for t in graph.outputs]
    return (outputs, env) if collect else outputs


def host_model_for(graph: Graph, name: str = "model", extra_cflags=(), kernel_path: str = "portable") -> HostModel:
    """Generate C for `graph` into the cache (content-addressed) and compile it.

    kernel_path: "portable" (default: the plain C branch of the SIMD kernels) or "device" (the branch
    Cortex-M4/M7/M33/M55 firmware runs, its DSP instructions and inline assembly emulated in C, see
    runtime_c/include/tg_dsp_emul.h); extra_cflags: more C flags (e.g. -fsanitize=...), after the path's flags.
    """
    result = generate(graph, name=name)
    h = hashlib.sha256()
    for fname, text in sorted(result.files.items()):
        h.update(fname.encode() + b"\0" + text.encode() + b"\0")
    model_dir = cache_root() / "models" / h.hexdigest()[:24]
    if not (model_dir / f"{name}.c").is_file():
        tmp = model_dir.with_name(model_dir.name + ".part")
        codegen.write(result.files, tmp)
        tmp.rename(model_dir) if not model_dir.exists() else None
    ins = [(graph.tensors[t].shape, graph.tensors[t].dtype) for t in graph.inputs]
    outs = [(graph.tensors[t].shape, graph.tensors[t].dtype) for t in graph.outputs]
    return HostModel(Path(model_dir), name, ins, outs, extra_cflags=extra_cflags, kernel_path=kernel_path)


def run_c(graph: Graph, inputs: list, kernel_path: str = "portable", extra_cflags=()) -> list:
    """One sample through generated C compiled on the host (kernel_path and extra_cflags as in
    host_model_for)."""
    return host_model_for(graph, extra_cflags=extra_cflags, kernel_path=kernel_path)(inputs)
