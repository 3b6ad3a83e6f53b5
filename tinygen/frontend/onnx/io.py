"""The ONNX model's layout at the API boundary: a built model stores channels-last data; `tinygen run` and
calibration data use the ONNX model's own layout, converted here with the per-input / per-output perms
the frontend records (`load_onnx` -> `graph.onnx_io`, kept in the build manifest as `onnx_layout`)."""
from __future__ import annotations

import numpy as np


def _batched(perm) -> tuple:
    """A sample perm (batch 1 included) applied to arrays (N, ...): the batch axis stays first."""
    return tuple(perm)


def inputs_to_stored(record: dict, arrays: list) -> list:
    """(N, *ONNX sample shape) arrays -> (N, *stored sample shape)."""
    out = []
    for a, rec in zip(arrays, record["inputs"]):
        a = np.asarray(a)
        out.append(np.transpose(a, _batched(rec["perm"])) if rec.get("perm") and a.ndim == len(rec["perm"]) else a)
    return out + list(arrays[len(out):])


def outputs_to_onnx(record: dict, arrays: list) -> list:
    """(N, *stored sample shape) arrays -> (N, *ONNX sample shape)."""
    out = []
    for a, rec in zip(arrays, record["outputs"]):
        perm = rec.get("perm")
        if perm and a.ndim == len(perm):
            a = np.transpose(a, tuple(int(i) for i in np.argsort(perm)))
        out.append(a)
    return out


def calibration_to_stored(record: dict, calibration):
    """Calibration samples given in the ONNX layout (one array, or one per input) -> the stored layout."""
    if calibration is None:
        return None
    if isinstance(calibration, (list, tuple)):
        return inputs_to_stored(record, list(calibration))
    return inputs_to_stored(record, [calibration])[0]
