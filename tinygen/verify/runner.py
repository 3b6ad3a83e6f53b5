"""Run a built output folder on the host (cffi) or under QEMU, on batches of samples."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from tinygen.errors import CalibrationError, TinygenError


def read_output_json(out_dir, file: str, missing: str, what: str) -> dict:
    """A JSON file of an output folder: `missing` (after the folder) when it is absent, `corrupt <what>` when
    it does not parse."""
    path = Path(out_dir) / file
    if not path.is_file():
        raise TinygenError(f"{out_dir}: {missing}; run `tinygen build` first")
    try:
        return json.loads(path.read_text())
    except json.JSONDecodeError as exc:
        raise TinygenError(f"{path}: corrupt {what} ({exc.msg})") from None


def read_manifest(out_dir) -> dict:
    return read_output_json(out_dir, "tinygen.json", "not a tinygen output folder (no tinygen.json)", "manifest")


def model_paths(out_dir, manifest: dict) -> tuple:
    """(source, header) of the built model: model/<name>.c and .h as tinygen.json records them
    (`model_files`); model/model.c and model.h in a folder written before the field existed."""
    files = manifest.get("model_files") or {}
    out_dir = Path(out_dir)
    return (out_dir / files.get("source", "model/model.c"), out_dir / files.get("header", "model/model.h"))


def sample_shape(shape: list) -> tuple:
    """The input's shape without its leading batch dimension of 1 (kept whole otherwise)."""
    shape = tuple(shape)
    return shape[1:] if shape and shape[0] == 1 else shape


def quantize_input(x: np.ndarray, info: dict) -> np.ndarray:
    """Float data is quantized with the input's parameters; integer data (any integer type) is taken as is
    when every value fits the input's type."""
    dtype = np.dtype(info["dtype"])
    if x.dtype == dtype:
        return x
    if np.issubdtype(x.dtype, np.floating):
        if not np.all(np.isfinite(x)):
            raise CalibrationError(f"input '{info['name']}': data contains NaN or inf")
        if info["scale"] is None:
            return x.astype(dtype)
        scale = np.float32(info["scale"])
        q = np.asarray(x, dtype=np.float32) / scale
        q = np.where(q >= 0, np.floor(q + np.float32(0.5)), np.ceil(q - np.float32(0.5))) + info["zero_point"]
        info_ = np.iinfo(dtype)
        return np.clip(q, info_.min, info_.max).astype(dtype)
    if np.issubdtype(x.dtype, np.integer) and np.issubdtype(dtype, np.integer):  # e.g. int64 from NumPy
        lim = np.iinfo(dtype)
        if x.size and (x.min() < lim.min or x.max() > lim.max):
            raise CalibrationError(f"input '{info['name']}': {x.dtype} values {x.min()}..{x.max()} do not fit "
                                   f"the input's {dtype.name} ({lim.min}..{lim.max})")
        return x.astype(dtype)
    if np.issubdtype(x.dtype, np.integer) and np.issubdtype(dtype, np.floating):
        return x.astype(dtype)
    raise CalibrationError(f"input '{info['name']}': dtype {x.dtype} is neither float nor {dtype.name}")


def prepare_inputs(manifest: dict, inputs) -> list:
    """Check and convert user inputs: one array (N, *sample shape) per model input."""
    if isinstance(inputs, np.ndarray):
        inputs = [inputs]
    infos = manifest["inputs"]
    if len(inputs) != len(infos):
        raise CalibrationError(f"model has {len(infos)} input(s), got {len(inputs)}")
    out = []
    n = None
    for x, info in zip(inputs, infos):
        x = np.asarray(x)
        ss = sample_shape(info["shape"])
        if x.shape == ss:
            x = x.reshape((1,) + ss)
        if x.shape[1:] != ss:
            raise CalibrationError(f"input '{info['name']}': expected shape (N, {', '.join(map(str, ss))}), "
                                   f"got {x.shape}")
        if n is not None and x.shape[0] != n:
            raise CalibrationError("all inputs must have the same number of samples")
        n = x.shape[0]
        out.append(quantize_input(x, info))
    return out


def run_model(out_dir, inputs, target: str = "host", reset_each: bool = False, **kwargs) -> list:
    """Run every sample; returns one array (N, *output sample shape) per model output.

    The samples run in order through one instance of the model, starting from its initial state: a
    stateful model carries its state from one sample to the next, as one TFLM interpreter does.
    `reset_each` restores the initial state before every sample (each runs as if alone)."""
    manifest = read_manifest(out_dir)
    layout = manifest.get("onnx_layout")  # an ONNX build: data in and out in the ONNX model's layout
    if layout:
        from tinygen.frontend.onnx.io import inputs_to_stored, outputs_to_onnx
        inputs = inputs_to_stored(layout, [inputs] if isinstance(inputs, np.ndarray) else list(inputs))
    arrays = prepare_inputs(manifest, inputs)
    if target == "host":
        outs = _run_host(Path(out_dir), manifest, arrays, reset_each)
    elif target == "qemu":
        from tinygen.verify.qemu import run_qemu
        outs = run_qemu(out_dir, arrays, reset_each=reset_each, **kwargs)
    else:
        raise TinygenError(f"unknown target '{target}' (expected host or qemu)")
    return outputs_to_onnx(layout, outs) if layout else outs


def host_model(out_dir: Path, manifest: dict, kernel_path: str = "portable", extra_cflags=()):
    """The built folder's model/ compiled on the host (host.HostModel), its header found by model_paths.

    kernel_path: "portable" (default) or "device" (the Cortex-M4+ SIMD branch, emulated in C);
    extra_cflags: more C flags (e.g. sanitizers).
    """
    from tinygen.verify.host import HostModel

    ins = [(tuple(i["shape"]), i["dtype"]) for i in manifest["inputs"]]
    outs = [(tuple(o["shape"]), o["dtype"]) for o in manifest["outputs"]]
    header = model_paths(out_dir, manifest)[1]
    return HostModel(header.parent, manifest["name"], ins, outs, extra_cflags=extra_cflags,
                     kernel_path=kernel_path, header=header.name)


def _run_host(out_dir: Path, manifest: dict, arrays: list, reset_each: bool = False) -> list:
    model = host_model(out_dir, manifest)  # a fresh instance: initial state
    n = arrays[0].shape[0]
    results = [[] for _ in manifest["outputs"]]
    for i in range(n):
        if reset_each:
            model.reset()
        outs = model([a[i] for a in arrays])
        for k, o in enumerate(outs):
            results[k].append(o.reshape(sample_shape(manifest["outputs"][k]["shape"])))
    return [np.stack(r) if r else np.zeros((0,) + sample_shape(o["shape"]), o["dtype"])
            for r, o in zip(results, manifest["outputs"])]
