"""`tinygen validate --per-layer`: where the quantized model drifts from the float model, layer by layer.

Every layer's output in tinygen's integer reference (the lowered NumPy kernels, bit-exact with the C
as `tinygen verify` proves) is dequantized and compared with the same tensor in tinygen's float
reference (quant/float_ref.py) of the float model after the same graph passes, on the same samples.
A tensor is compared where both graphs hold it under one name with the same number of elements.
`added_l2r` is a layer's L2-relative error minus the largest of its inputs': the error that layer adds.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from tinygen.errors import TinygenError


def _float_graph(source: Path, manifest: dict):
    """The float model as tinygen reads it, after the passes the build ran before quantizing."""
    from tinygen import passes
    from tinygen.compiler import load_model

    io_layout = "nhwc"
    layout = manifest.get("onnx_layout")
    if layout and not any(r.get("perm") for r in layout.get("inputs", [])):
        io_layout = "onnx"  # no transpose between the user's layout and the stored one
    graph = load_model(str(source), None, io_layout)
    return passes.optimize(graph)


def _dequantize_tensor(a: np.ndarray, t) -> np.ndarray:
    q = t.quant
    if q is None or t.dtype in ("float32",):
        return np.asarray(a, np.float32)
    shape = [1] * a.ndim
    if q.per_axis and len(q.scale) > 1:
        shape[q.axis + (a.ndim - len(t.shape))] = -1
    s = np.asarray(q.scale, np.float32).reshape(shape)
    z = np.asarray(q.zero_point, np.float32).reshape(shape)
    return (np.asarray(a, np.float32) - z) * s


def layer_errors(out_dir: Path, manifest: dict, source: Path, data: list, is_float: bool) -> dict:
    """{"layers": [{index, name, op, tensor, mae, rmse, l2r, cosine, added_l2r}], "worst": ..., "note"}."""
    if not is_float:
        return dict(layers=[], worst=None, note="the source is a quantized .tflite: there is no float model "
                    "to compare the layers with")
    from tinygen.compiler import lower
    from tinygen.ir import serialize
    from tinygen.quant import float_ref
    from tinygen.verify.runner import prepare_inputs
    from tinygen.verify.testing import run_reference

    qgraph = serialize.load(out_dir / ".tinygen")
    fgraph = _float_graph(source, manifest)
    layout = manifest.get("onnx_layout")
    stored = data
    if layout:
        from tinygen.frontend.onnx.io import inputs_to_stored
        stored = inputs_to_stored(layout, list(data))
    qin = prepare_inputs(manifest, stored)
    lowered = lower(qgraph)
    try:
        _, fenv = float_ref.run_batch(fgraph, [np.asarray(a, np.float32) for a in stored], collect=True)
    except TinygenError as exc:
        return dict(layers=[], worst=None, note=f"the float reference cannot run this model: {exc}")
    n = qin[0].shape[0]
    names = [lop.op.outputs[0] for lop in lowered]
    keep = {t for t in names if t in fenv and fenv[t].size == qgraph.tensors[t].size * n}
    quant = {t: [] for t in keep}  # only the compared tensors of each sample are kept, dequantized
    for i in range(n):
        env = run_reference(qgraph, [a[i] for a in qin], lowered=lowered, collect=True)[1]
        for t in keep:
            quant[t].append(_dequantize_tensor(env[t], qgraph.tensors[t]).reshape(-1))
    return _compare(qgraph, lowered, {t: np.stack(v) for t, v in quant.items()}, fenv, n)


def _compare(qgraph, lowered, quant: dict, fenv: dict, n: int) -> dict:
    from tinygen.verify.validate import metrics

    l2r_of = {}
    layers = []
    for i, lop in enumerate(lowered):
        op = lop.op
        name = op.outputs[0]
        if name not in quant:
            continue
        m = metrics(np.asarray(fenv[name], np.float32).reshape(n, -1), quant[name])
        prior = max((l2r_of[x] for x in op.inputs if x in l2r_of), default=0.0)
        l2r_of[name] = m["l2r"]
        m.pop("top1_agreement")
        layers.append(dict(index=i, name=op.name, op=op.kind.value, tensor=name, **m,
                           added_l2r=float(m["l2r"] - prior)))
    worst = max(layers, key=lambda L: L["added_l2r"], default=None)
    return dict(layers=layers, worst=None if worst is None else worst["name"],
                note=f"{len(layers)} of {len(lowered)} layers compared (tensors present in both graphs)")
