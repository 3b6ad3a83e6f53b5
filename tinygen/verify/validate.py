"""`tinygen validate`: what quantization cost, measured on the user's data.

The generated C (on the host through cffi, or under QEMU) and the original model run on the same
samples. The original is the float model the build started from: a Keras model (keras), or an ONNX
model (onnxruntime). A `.tflite` source holds no float model: its reference is then TFLM running the
source `.tflite` (a quantized reference), and the result says so.

Per output: MAE, RMSE, L2-relative error (||c - f|| / ||f||), mean per-sample cosine similarity and
top-1 agreement; with labels, the top-1 accuracy of both. Per layer (on request): every intermediate
tensor of tinygen's integer reference (bit-exact with the C, as `tinygen verify` checks), dequantized,
against tinygen's float reference (quant/float_ref.py) of the float model on the same samples.
"""
from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Optional

import numpy as np

from tinygen.errors import CalibrationError, TinygenError
from tinygen.verify.runner import prepare_inputs, read_manifest, read_output_json, run_model


# ---- metrics -----------------------------------------------------------------------------------


def metrics(ref: np.ndarray, test: np.ndarray) -> dict:
    """Error of `test` against `ref`, both (N, ...) float: mae, rmse, l2r, cosine, top1_agreement."""
    n = ref.shape[0]
    r = np.asarray(ref, np.float64).reshape(n, -1)
    t = np.asarray(test, np.float64).reshape(n, -1)
    d = t - r
    norm = float(np.linalg.norm(r))
    num = np.sum(r * t, axis=1)
    den = np.linalg.norm(r, axis=1) * np.linalg.norm(t, axis=1)
    # a zero vector against a zero vector is a perfect match, against anything else none at all
    cos = np.where(den > 0, num / np.where(den > 0, den, 1.0), np.where(np.all(d == 0, axis=1), 1.0, 0.0))
    out = dict(mae=float(np.mean(np.abs(d))) if d.size else 0.0,
               rmse=float(np.sqrt(np.mean(d * d))) if d.size else 0.0,
               l2r=float(np.linalg.norm(d) / norm) if norm > 0 else (0.0 if not np.any(d) else float("inf")),
               cosine=float(np.mean(cos)) if n else 1.0, top1_agreement=None)
    if r.shape[1] > 1:
        out["top1_agreement"] = float(np.mean(np.argmax(r, axis=1) == np.argmax(t, axis=1)))
    return out


def _dequantize(a: np.ndarray, info: dict) -> np.ndarray:
    if info.get("scale") is None:
        return np.asarray(a, np.float32)
    return (np.asarray(a, np.float32) - np.float32(info["zero_point"])) * np.float32(info["scale"])


# ---- inputs ------------------------------------------------------------------------------------


def check_labels(labels: Optional[np.ndarray], n: int, path: str = "labels") -> Optional[np.ndarray]:
    """Class indices (N,) from integer labels (N,) or (N, 1), or one-hot / scores (N, classes)."""
    if labels is None:
        return None
    y = np.asarray(labels)
    if y.ndim == 2 and y.shape[1] == 1:
        y = y[:, 0]
    if y.ndim == 2:
        y = np.argmax(y, axis=1)
    if y.ndim != 1:
        raise CalibrationError(f"{path}: expected class indices (N,) or one-hot (N, classes), got shape {y.shape}")
    if y.shape[0] != n:
        raise CalibrationError(f"{path}: {y.shape[0]} labels for {n} samples in the data")
    if not np.issubdtype(y.dtype, np.integer):
        if not np.all(np.isfinite(y)) or np.any(y != np.round(y)):
            raise CalibrationError(f"{path}: labels must be integer class indices")
        y = y.astype(np.int64)
    return y


def _source_path(out_dir: Path, report: dict, model: Optional[str]) -> Path:
    """The model the build started from: --model, else report.json's `source` (as given to build)."""
    if model is not None:
        p = Path(model)
        if not p.is_file():
            raise TinygenError(f"{model}: no such model file")
        return p
    src = str(report.get("source") or "")
    if not src:
        raise TinygenError(f"{out_dir}/report.json: records no source model; pass --model PATH")
    p = Path(src)
    if not p.is_file():
        raise TinygenError(f"{src}: the source model recorded in {out_dir}/report.json is not there "
                           "(a relative path is taken from the current folder); pass --model PATH")
    return p


# ---- the original model -----------------------------------------------------------------------


def _run_keras(path: Path, data: list) -> list:
    try:
        import keras
    except ImportError as exc:
        raise TinygenError(f"{path}: the float Keras model needs keras ({exc})") from None
    try:
        m = keras.models.load_model(str(path), compile=False)
    except Exception as exc:  # a Keras file keras cannot read
        raise TinygenError(f"{path}: keras cannot load the model ({type(exc).__name__}: {exc})") from None
    y = m.predict(data if len(data) > 1 else data[0], verbose=0, batch_size=64)
    return [np.asarray(a, np.float32) for a in (y if isinstance(y, (list, tuple)) else [y])]


def _run_onnx(path: Path, data: list) -> list:
    try:
        import onnxruntime as ort
    except ImportError as exc:
        raise TinygenError(f"{path}: the float ONNX model needs onnxruntime ({exc})") from None
    sess = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    names = [i.name for i in sess.get_inputs()]
    fixed_one = all(isinstance(i.shape[0], int) and i.shape[0] == 1 for i in sess.get_inputs() if i.shape)
    n = data[0].shape[0]
    if not fixed_one:
        return [np.asarray(o, np.float32) for o in sess.run(None, dict(zip(names, data)))]
    per = [sess.run(None, {k: a[i:i + 1] for k, a in zip(names, data)}) for i in range(n)]
    return [np.concatenate([np.asarray(p[k], np.float32) for p in per]) for k in range(len(per[0]))]


def _run_tflm(out_dir: Path, manifest: dict, data: list) -> list:
    """The source .tflite under TFLM (the quantized reference), outputs dequantized."""
    from tinygen.ir import serialize
    from tinygen.verify.compare import _outside_oracle, tflm_model
    from tinygen.verify.sequence import invoke

    graph = serialize.load(out_dir / ".tinygen")
    blob, _ = tflm_model(out_dir, manifest, graph)
    interp, _ = _outside_oracle(blob)
    arrays = prepare_inputs(manifest, data)
    outs = [invoke(interp, [a[i] for a in arrays], len(manifest["outputs"])) for i in range(arrays[0].shape[0])]
    return [_dequantize(np.stack([o[k].reshape(-1) for o in outs]), info)
            for k, info in enumerate(manifest["outputs"])]


def reference_outputs(out_dir: Path, manifest: dict, source: Path, data: list) -> tuple:
    """(outputs, description, float?) of the model the C is compared with."""
    suffix = source.suffix.lower()
    if suffix in (".keras", ".h5", ".hdf5", ".onnx"):
        for k, a in enumerate(data):
            if not np.issubdtype(a.dtype, np.floating):
                raise CalibrationError(f"data for input {k}: {a.dtype} samples, but the float model {source.name} "
                                       "takes float values; give the data as the model was trained on")
    if suffix in (".keras", ".h5", ".hdf5"):
        return _run_keras(source, data), f"float Keras model {source}", True
    if suffix == ".onnx":
        return _run_onnx(source, data), f"float ONNX model {source} (onnxruntime)", True
    if suffix == ".tflite":
        return (_run_tflm(out_dir, manifest, data),
                f"TFLM on the source {source.name} (a quantized model: no float reference exists)", False)
    raise TinygenError(f"{source}: cannot run a '{suffix}' model as the reference (expected .keras, .h5, "
                       ".onnx or .tflite)")


# ---- validate ------------------------------------------------------------------------------------


def validate(out_dir, data, labels=None, target: str = "host", per_layer: bool = False,
             model: Optional[str] = None, write: bool = True) -> dict:
    """Run the C and the original model on `data` (one (N, *sample) array per input); return the figures.

    With `write`, the result goes into OUT/report.json (key `validation`) and OUT/report.md."""
    out_dir = Path(out_dir)
    manifest = read_manifest(out_dir)
    report = _read_report(out_dir)
    data = [data] if isinstance(data, np.ndarray) else list(data)
    user = _layout_manifest(manifest)
    prepare_inputs(user, data)  # shape / dtype / NaN errors before anything runs
    data = [np.asarray(a) for a in data]
    data = [a[None] if a.shape == _sample(i) else a for a, i in zip(data, user["inputs"])]
    n = int(data[0].shape[0])
    y = check_labels(labels, n)
    source = _source_path(out_dir, report, model)
    fdata = [a.astype(np.float32) if np.issubdtype(a.dtype, np.floating) else a for a in data]
    ref, ref_what, is_float = reference_outputs(out_dir, manifest, source, fdata)
    c_out = run_model(out_dir, data, target=target)
    c_deq = [_dequantize(a, info) for a, info in zip(c_out, manifest["outputs"])]
    outputs = []
    for k, (info, r, c) in enumerate(zip(manifest["outputs"], ref, c_deq)):
        if r.size != c.size:
            raise TinygenError(f"output '{info['name']}': the reference gives {r.shape}, the C {c.shape}")
        outputs.append(dict(name=info["name"], **metrics(r.reshape(c.shape), c)))
    result = dict(samples=n, target=target, reference=ref_what, reference_is_float=is_float,
                  source=str(source), outputs=outputs, accuracy=None, per_layer=None)
    if y is not None:
        k = _class_output(c_deq, y)
        result["accuracy"] = dict(output=manifest["outputs"][k]["name"],
                                  reference=float(np.mean(np.argmax(ref[k].reshape(n, -1), axis=1) == y)),
                                  c=float(np.mean(np.argmax(c_deq[k].reshape(n, -1), axis=1) == y)))
    if per_layer:
        from tinygen.verify.validate_layers import layer_errors

        result["per_layer"] = layer_errors(out_dir, manifest, source, data, is_float)
    if write:
        _write(out_dir, report, result)
    return result


def _sample(info: dict) -> tuple:
    from tinygen.verify.runner import sample_shape
    return sample_shape(info["shape"])


def _layout_manifest(manifest: dict) -> dict:
    """The manifest whose input shapes the user's data must have (an ONNX build takes the ONNX layout)."""
    layout = manifest.get("onnx_layout")
    if not layout:
        return manifest
    m = dict(manifest)
    ins = []
    for info, rec in zip(manifest["inputs"], layout["inputs"]):
        perm = rec.get("perm")
        shape = list(info["shape"])
        if perm and len(perm) == len(shape):
            shape = [shape[int(i)] for i in np.argsort(perm)]
        ins.append(dict(info, shape=shape))
    m["inputs"] = ins
    return m


def _class_output(outs: list, y: np.ndarray) -> int:
    """The first output with a score per class that the labels index."""
    for k, o in enumerate(outs):
        classes = o.reshape(o.shape[0], -1).shape[1]
        if classes > 1 and int(y.max(initial=0)) < classes and int(y.min(initial=0)) >= 0:
            return k
    raise CalibrationError(f"labels: class indices {int(y.min())}..{int(y.max())} fit no model output "
                           f"(output sizes {[int(np.prod(o.shape[1:])) for o in outs]})")


def _read_report(out_dir: Path) -> dict:
    return read_output_json(out_dir, "report.json", "no report.json", "report")


def _write(out_dir: Path, report: dict, result: dict) -> None:
    """report.json gets `validation`; report.md is rendered again from it (each file replaced atomically)."""
    from tinygen.codegen.report import PNG_NAME, render_markdown

    report["validation"] = result
    png = PNG_NAME if (out_dir / PNG_NAME).is_file() else None
    replace_text(out_dir / "report.json", json.dumps(report, indent=2, sort_keys=True) + "\n")
    replace_text(out_dir / "report.md", render_markdown(report, png))


def replace_text(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(text)
    os.replace(tmp, path)


__all__ = ["validate", "metrics", "check_labels", "reference_outputs"]
