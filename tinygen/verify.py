"""`tinygen verify`: generated C vs the NumPy reference (and vs TFLM for .tflite models), byte for byte."""
from __future__ import annotations

from pathlib import Path

import numpy as np

from . import serialize
from .compiler import lower
from .runner import host_model, prepare_inputs, read_manifest
from .testing import run_reference


def sample_inputs(manifest: dict, samples: int, seed: int) -> list:
    """Random samples over each input's full integer range, then all-min and all-max."""
    rng = np.random.default_rng(seed)
    arrays = []
    for info in manifest["inputs"]:
        dt = np.dtype(info["dtype"])
        shape = tuple(info["shape"])
        if np.issubdtype(dt, np.integer):
            lo, hi = np.iinfo(dt).min, np.iinfo(dt).max
            rand = rng.integers(lo, hi, size=(samples,) + shape, endpoint=True, dtype=np.int64).astype(dt)
            extremes = np.stack([np.full(shape, lo, dt), np.full(shape, hi, dt)])
        else:
            rand = rng.standard_normal((samples,) + shape).astype(dt)
            extremes = np.stack([np.full(shape, -1, dt), np.full(shape, 1, dt)])
        arrays.append(np.concatenate([rand, extremes]))
    return arrays


def verify_out(out_dir, inputs=None, samples: int = 20, seed: int = 0) -> dict:
    out_dir = Path(out_dir)
    manifest = read_manifest(out_dir)
    graph = serialize.load(out_dir / ".tinygen")
    lowered = lower(graph)
    model = host_model(out_dir, manifest)
    batches = sample_inputs(manifest, samples, seed)
    if inputs:
        given = prepare_inputs(manifest, inputs)
        batches = [np.concatenate([b, g.reshape((-1,) + b.shape[1:])]) for b, g in zip(batches, given)]
    n = batches[0].shape[0]
    src = graph.source
    use_tflm = src.endswith(".tflite") and Path(src).is_file()
    interp = None
    if use_tflm:
        try:
            from tflite_micro.python.tflite_micro import runtime
            interp = runtime.Interpreter.from_bytes(Path(src).read_bytes())
        except ImportError:
            interp = None
    diff_ref = diff_tflm = 0
    for i in range(n):
        sample = [b[i] for b in batches]
        c_out = model(sample)
        ref_out = run_reference(graph, sample, lowered=lowered)
        diff_ref += sum(int(np.count_nonzero(a.view(np.uint8) != np.ascontiguousarray(b).view(np.uint8)))
                        for a, b in zip(c_out, ref_out))
        if interp is not None:
            for k, x in enumerate(sample):
                d = interp.get_input_details(k)
                interp.set_input(np.asarray(x, dtype=d["dtype"]).reshape(d["shape"]), k)
            interp.invoke()
            for k, a in enumerate(c_out):
                t = np.asarray(interp.get_output(k)).reshape(a.shape)
                diff_tflm += int(np.count_nonzero(a.view(np.uint8) != t.view(np.uint8)))
    lines = [f"tinygen verify {out_dir}: {n} samples ({samples} random, all-min, all-max"
             f"{', given' if inputs else ''})",
             f"  generated C vs NumPy reference: {diff_ref} differing bytes"]
    if interp is not None:
        lines.append(f"  generated C vs TFLM interpreter ({Path(src).name}): {diff_tflm} differing bytes")
    elif use_tflm:
        lines.append("  TFLM comparison skipped: tflite-micro is not installed")
    ok = diff_ref == 0 and diff_tflm == 0
    lines.append("  OK: bit-exact" if ok else "  FAILED: outputs differ")
    return dict(ok=ok, lines=lines, samples=n, diff_reference=diff_ref, diff_tflm=diff_tflm)
