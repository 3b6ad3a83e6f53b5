"""`tinygen verify`: the generated C against every oracle that can run, byte for byte.

Oracles:
- TFLM: TensorFlow Lite Micro's reference interpreter (pip tflite-micro). For a `.tflite` build it runs
  the copy of the source model kept in OUT/.tinygen/source.tflite (checked against its sha256 in
  tinygen.json). For a model tinygen quantized itself (Keras, QAT) it runs the model as tinygen
  quantized it, exported to .tflite (`tinygen export-tflite`). This oracle shares nothing with the C.
  A model with SPACE_TO_BATCH_ND / BATCH_TO_SPACE_ND runs on desktop TFLite's reference kernels instead
  (verify/tflite_ref.py: TFLM pads with uninitialized memory there, tflite-micro issue 1646).
- The NumPy reference: tinygen's own integer reference. It shares the lowered parameters (multipliers,
  shifts, offsets) with the C, so it checks the kernels, not the lowering.

The verdict names each oracle and its differing bytes. "bit-exact" is only said of oracles that ran;
when TFLM cannot run, the result is not ok unless the caller allows a missing oracle.
"""
from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np

from tinygen.ir import serialize
from tinygen.compiler import lower
from tinygen.errors import TinygenError
from tinygen.verify.tflm import tflm_interpreter
from tinygen.verify.runner import host_model, prepare_inputs, read_manifest
from tinygen.verify.sequence import stateful_line

SOURCE_COPY = ".tinygen/source.tflite"


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


def tflm_model(out_dir: Path, manifest: dict, graph) -> tuple:
    """(flatbuffer bytes, description) of the model TFLM runs for this build; raises TinygenError if none."""
    src = manifest.get("source") or {}
    if src.get("kind") == "tflite":
        path = out_dir / SOURCE_COPY
        if not path.is_file():
            raise TinygenError(f"{path}: the copy of the source model is missing; rebuild with `tinygen build`")
        data = path.read_bytes()
        if hashlib.sha256(data).hexdigest() != src.get("sha256"):
            raise TinygenError(f"{path}: does not match the sha256 recorded at build time; rebuild")
        return data, f"source model {src.get('file', path.name)}"
    if src.get("kind") is None and str(graph.source).endswith(".tflite"):
        raise TinygenError(f"{out_dir}: built by an older tinygen that kept no copy of the source model; rebuild")
    from tinygen.verify.export_tflite import to_bytes

    try:
        data = to_bytes(graph)
    except TinygenError as exc:
        raise TinygenError(f"the quantized model cannot be exported to .tflite for TFLM: {exc}") from None
    return data, "the model as tinygen quantized it, exported to .tflite"


def _tflm_interpreter(data: bytes):
    try:
        from tflite_micro.python.tflite_micro import runtime
    except ImportError as exc:
        raise TinygenError(f"the TFLM interpreter (pip package tflite-micro) cannot be imported: {exc}") from None
    interp = tflm_interpreter(runtime, data)  # an arena grown until the tensors fit
    if interp is None:
        raise TinygenError("TFLM cannot load the model (an op it does not support, or no arena up to 256 MiB fits)")
    return interp


def _outside_oracle(data: bytes) -> tuple:
    """(interpreter, (short name, description)): TFLM, or desktop TFLite's reference kernels for a model
    holding an operator TFLM cannot run deterministically (verify/tflite_ref.py)."""
    from tinygen.verify import tflite_ref

    unreliable = tflite_ref.tflm_unreliable(data)
    if unreliable:
        it = tflite_ref.ReferenceInterpreter(data)
        why = "; ".join(f"{op}: {tflite_ref.TFLM_UNRELIABLE[op]}" for op in unreliable) + tflite_ref.caveats(data)
        return it, ("desktop TFLite's reference kernels", f"desktop TFLite reference kernels (tensorflow "
                                                          f"{it.version}, BUILTIN_REF; not TFLM: {why})")
    return _tflm_interpreter(data), ("TFLM", f"TFLM interpreter (tflite-micro {_tflm_version()})")


def _tflm_version() -> str:
    from importlib import metadata

    try:
        return metadata.version("tflite-micro")
    except metadata.PackageNotFoundError:
        return "unknown version"


def _differing(c_out: list, other: list) -> int:
    return sum(int(np.count_nonzero(np.ascontiguousarray(a).view(np.uint8) !=
                                    np.ascontiguousarray(b).reshape(a.shape).astype(a.dtype).view(np.uint8)))
               for a, b in zip(c_out, other))


def verify_out(out_dir, inputs=None, samples: int = 20, seed: int = 0, allow_missing_oracle: bool = False,
               reset_each: bool = False) -> dict:
    """Run the build's C on random, extreme and given inputs; compare with TFLM and the NumPy reference.

    The samples run in order (verify/sequence.py): a stateful model carries its state from one to the
    next in the C, the reference and TFLM alike, unless `reset_each` starts every sample fresh.

    Returns dict(ok, lines, samples, oracles={name: differing bytes or None if it did not run}, ...).
    """
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

    interp, tflm_what, tflm_missing, outside = None, "", "", ("TFLM", "")
    try:
        data, tflm_what = tflm_model(out_dir, manifest, graph)
        interp, outside = _outside_oracle(data)
    except TinygenError as exc:
        tflm_missing = str(exc)

    from tinygen.verify.sequence import compare_sequence

    from tinygen.ops.detection import ignore_unwritten_rows

    seq = compare_sequence(model, graph, lowered, batches, interp, lambda: _outside_oracle(data)[0], reset_each,
                           ignore_unwritten_rows(graph, _differing))
    diff_ref, diff_tflm = seq["diff_ref"], seq["diff_tflm"] + (seq["reset_diff"] or 0)

    lines = [f"tinygen verify {out_dir}: {n} samples ({samples} random, all-min, all-max"
             f"{', given' if inputs else ''})"]
    if seq["stateful"]:
        lines.append(stateful_line(seq, reset_each, manifest["name"]))
    oracles = {}
    if interp is not None:
        oracles["tflm"] = diff_tflm
        lines.append(f"  {outside[1]} on {tflm_what}: {diff_tflm} differing bytes")
    else:
        oracles["tflm"] = None
        lines.append(f"  TFLM interpreter: did not run: {tflm_missing}")
    oracles["reference"] = diff_ref
    lines.append(f"  NumPy reference (shares the lowered parameters with the C): {diff_ref} differing bytes")
    ran = [k for k, v in oracles.items() if v is not None]
    names = {"tflm": outside[0], "reference": "the NumPy reference"}
    if any(oracles[k] for k in ran):
        ok = False
        lines.append("  FAILED: outputs differ from " + " and ".join(names[k] for k in ran if oracles[k]))
    elif oracles["tflm"] is None and not allow_missing_oracle:
        ok = False
        lines.append("  FAILED: TFLM did not run, so bit-exactness with it is unproven")
    else:
        ok = True
        lines.append("  OK: bit-exact with " + " and ".join(names[k] for k in ran)
                     + ("" if oracles["tflm"] is not None else " (TFLM did not run; allowed)"))
    return dict(ok=ok, lines=lines, samples=n, oracles=oracles, diff_reference=diff_ref, stateful=seq["stateful"],
                reset_diff=seq["reset_diff"],
                diff_tflm=oracles["tflm"], tflm_error=tflm_missing or None)


def source_record(source: str, out_dir: Path) -> dict:
    """Keep what verify needs to rerun TFLM: a copy of a .tflite source (OUT/.tinygen) and its sha256.

    `source` is the graph's source path as the frontend recorded it (relative to where `build` ran).
    """
    path = Path(str(source))
    if path.suffix.lower() == ".tflite" and path.is_file():
        data = path.read_bytes()
        (out_dir / SOURCE_COPY).write_bytes(data)
        return dict(kind="tflite", file=path.name, sha256=hashlib.sha256(data).hexdigest())
    return dict(kind="quantized-by-tinygen")


__all__ = ["verify_out", "sample_inputs", "source_record", "tflm_model", "SOURCE_COPY"]
