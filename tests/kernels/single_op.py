"""Single-op quantized models for kernel tests against TFLM: build a one-op ir.Graph, write it as .tflite
with tinygen's own exporter (the op's export rule), read it back through the TFLite frontend, and
compare the generated C and the lowering's NumPy reference with TFLM's interpreter byte for byte."""
from __future__ import annotations

from pathlib import Path

import numpy as np

from tinygen import ir
from tinygen.compiler import load_model, lower
from tinygen.verify.export_tflite import to_bytes
from tinygen.verify.testing import host_model_for, run_reference

INFO = {"int8": (-128, 127), "int16": (-32768, 32767), "uint8": (0, 255)}


def qp(scale: float, zp: int = 0) -> ir.QuantParams:
    return ir.QuantParams.make(scale, zp)


def graph_of(kind: ir.OpKind, attrs, inputs: list, output: tuple, name: str = "single") -> ir.Graph:
    """`inputs`: (name, shape, dtype, quant, data or None); `output`: (name, shape, dtype, quant)."""
    return build_graph(inputs, [(kind, attrs, [i[0] for i in inputs], output)], name=name)


def build_graph(tensors_in: list, ops: list, name: str = "single", outputs=None) -> ir.Graph:
    """`tensors_in`: (name, shape, dtype, quant, data or None), the graph inputs being those without data;
    `ops`: (kind, attrs, input names, (output name, shape, dtype, quant)); the graph outputs are
    `outputs` or every op output no op reads."""
    tensors = {}
    for n, shape, dtype, quant, data in tensors_in:
        value = None if data is None else np.asarray(data, dtype=dtype).reshape(shape)
        tensors[n] = ir.Tensor(n, tuple(shape), dtype, quant, value)
    graph_ops = []
    for k, (kind, attrs, ins, (on, oshape, odtype, oquant)) in enumerate(ops):
        tensors[on] = ir.Tensor(on, tuple(oshape), odtype, oquant)
        graph_ops.append(ir.Op(kind, f"op{k}", list(ins), [on], attrs))
    read = {t for op in graph_ops for t in op.inputs}
    outs = outputs if outputs is not None else [op.outputs[0] for op in graph_ops if op.outputs[0] not in read]
    g_ins = [t[0] for t in tensors_in if t[4] is None]
    return ir.Graph(tensors, graph_ops, g_ins, list(outs), name=name)


def random_inputs(graph: ir.Graph, rng, n: int, extremes: bool = True) -> list:
    """n samples over each input's full integer range, then all-minimum and all-maximum samples, then
    (extremes) random picks of {min, max} and of {-1, 0} (rounding ties, saturation)."""
    samples = []
    for k in range(n + (4 if extremes else 2)):
        xs = []
        for name in graph.inputs:
            t = graph.tensors[name]
            lo, hi = INFO[t.dtype]
            if k < n:
                v = rng.integers(lo, hi, size=t.shape, endpoint=True)
            elif k < n + 2:
                v = np.full(t.shape, lo if k == n else hi)
            else:
                v = rng.choice([lo, hi] if k == n + 2 else [max(lo, -1), 0], size=t.shape)
            xs.append(v.astype(t.dtype))
        samples.append(xs)
    return samples


def tflm(data: bytes):
    from tflite_micro.python.tflite_micro import runtime

    return runtime.Interpreter.from_bytes(data, arena_size=len(data) * 4 + (1 << 20))


def check_against_tflm(graph: ir.Graph, tmp_path: Path, samples: list) -> tuple:
    """Export `graph`, load the file back, and require C == reference == TFLM on every sample.
    Returns (loaded graph, lowered ops)."""
    data = to_bytes(graph)
    path = tmp_path / f"{graph.name}.tflite"
    path.write_bytes(data)
    return check_file_against_tflm(path, samples)


def check_file_against_tflm(path: Path, samples) -> tuple:
    """Load the .tflite at `path` and require C == reference == TFLM on every sample (a list of input
    lists, or a function of the loaded graph returning one). Returns (loaded graph, lowered ops)."""
    data = Path(path).read_bytes()
    loaded = load_model(str(path))
    samples = samples(loaded) if callable(samples) else samples
    lowered = lower(loaded)
    model = host_model_for(loaded)
    interp = tflm(data)
    for k, xs in enumerate(samples):
        for i, x in enumerate(xs):
            interp.set_input(x, i)
        interp.invoke()
        got_cs, got_refs = model(xs), run_reference(loaded, xs, lowered)
        for j in range(len(loaded.outputs)):
            want = np.array(interp.get_output(j))
            got_c = np.asarray(got_cs[j]).reshape(want.shape)
            got_ref = np.asarray(got_refs[j]).reshape(want.shape)
            where = f"sample {k}, output '{loaded.outputs[j]}'"
            assert got_c.dtype == want.dtype and got_c.tobytes() == want.tobytes(), \
                f"{where}: C differs from TFLM at {np.argwhere(got_c != want)[:5].tolist()}"
            assert got_ref.tobytes() == want.tobytes(), \
                f"{where}: reference differs from TFLM at {np.argwhere(got_ref != want)[:5].tolist()}"
    return loaded, lowered
