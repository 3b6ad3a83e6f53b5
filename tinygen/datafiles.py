"""Data files for a model's inputs: .npy / .npz, matched to the model's inputs.

A data spec is `[NAME=]FILE[:KEY]`: NAME picks the model input, KEY the array of an .npz. Matching
(`for_inputs`), for calibration and for `run` / `verify` data alike:
  - `NAME=FILE` feeds input NAME; specs without a name fill the remaining inputs in order.
  - One .npz for several inputs: its arrays are matched to the inputs by name (a TFLite name such as
    `serving_default_x:0` also matches `x`); when the names do not match and it holds exactly one array
    per input, they are taken in input order.
  - An .npz with several arrays for one input, without `:KEY`: the array named after the input, else
    the only array shaped like the input (the caller gets a note saying which); otherwise an error
    lists the arrays.
Every error names the file and the model's inputs.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

import numpy as np

from tinygen.errors import CalibrationError


@dataclass(frozen=True)
class Spec:
    path: str
    name: Optional[str] = None  # the model input it feeds, None: by position / by the .npz keys
    key: Optional[str] = None  # the .npz array, None: see the module doc

    def __str__(self) -> str:
        return (f"{self.name}=" if self.name else "") + self.path + (f":{self.key}" if self.key else "")


def parse_spec(text) -> Spec:
    """'[NAME=]FILE[:KEY]' -> Spec; a path (str / PathLike) is a Spec of that file."""
    if isinstance(text, Spec):
        return text
    text = os.fspath(text)
    name, sep, rest = text.partition("=")
    if not sep or "/" in name or os.sep in name or not name:
        name, rest = None, text
    path, key = rest, None
    head, colon, tail = rest.rpartition(":")
    if colon and head.lower().endswith(".npz") and tail and "/" not in tail:
        path, key = head, tail
    return Spec(path=path, name=name, key=key)


def read(spec: Spec, what: str):
    """The array of a .npy, or of an .npz with a key; an .npz without a key -> {key: array} in file order."""
    p = Path(spec.path)
    if not p.is_file():
        raise CalibrationError(f"{spec.path}: no such {what} file")
    with open(p, "rb") as fh:
        magic = fh.read(6)
    if magic != b"\x93NUMPY" and not magic.startswith(b"PK"):  # neither .npy nor a zip (.npz)
        raise CalibrationError(f"{spec.path}: not a .npy or .npz {what} file (write it with numpy.save / "
                               "numpy.savez)")
    try:
        if p.suffix.lower() == ".npz" or spec.key is not None:
            with np.load(p, allow_pickle=False) as z:
                if not hasattr(z, "files"):
                    raise CalibrationError(f"{spec.path}: '{spec}' names an array, but the file is not an .npz")
                if not z.files:
                    raise CalibrationError(f"{spec.path}: empty .npz")
                if spec.key is not None:
                    if spec.key not in z.files:
                        raise CalibrationError(f"{spec.path}: no array '{spec.key}' (it holds "
                                               f"{', '.join(z.files)})")
                    return z[spec.key]
                return {k: z[k] for k in z.files}
        arr = np.load(p, allow_pickle=False)
    except (ValueError, OSError, EOFError) as exc:
        raise CalibrationError(f"{spec.path}: not a readable .npy/.npz {what} file ({exc})") from None
    if not isinstance(arr, np.ndarray):
        raise CalibrationError(f"{spec.path}: an .npz needs .npz as its suffix")
    return arr


def _plain(name: str) -> str:
    """A TFLite / TF input name without its signature prefix and output index."""
    name = name.removeprefix("serving_default_")
    base, colon, index = name.rpartition(":")
    return base if colon and index.isdigit() else name


def _lookup(arrays: dict, name: str):
    if name in arrays:
        return name
    hits = [k for k in arrays if _plain(str(k)) == _plain(name)]
    return hits[0] if len(hits) == 1 else None


def _fits(arr: np.ndarray, sample: tuple) -> bool:
    """Is `arr` N samples of `sample` (or one sample), counting elements (any layout)?"""
    per = int(np.prod(sample)) if sample else 1
    return arr.ndim >= 1 and (int(np.prod(arr.shape[1:])) == per or tuple(arr.shape) == tuple(sample))


def _one_of(spec: Spec, arrays: dict, name: str, sample: tuple, notes: list) -> np.ndarray:
    """One input's array from an .npz read without a key."""
    if len(arrays) == 1:
        return next(iter(arrays.values()))
    key = _lookup(arrays, name)
    if key is None:
        shaped = [k for k, a in arrays.items() if _fits(a, sample)]
        if len(shaped) != 1:
            raise CalibrationError(f"{spec.path}: holds {len(arrays)} arrays ({', '.join(arrays)}); "
                                   f"choose one for input '{name}' with {spec.path}:KEY")
        key = shaped[0]
        notes.append(f"{spec.path}: using array '{key}' for input '{name}' (the only one shaped like it)")
    return arrays[key]


def _spread(spec: Spec, arrays: dict, names: list, notes: list) -> dict:
    """One .npz for several inputs: by name, else by order when it has one array per input."""
    keys = {n: _lookup(arrays, n) for n in names}
    if all(keys.values()):
        return {n: arrays[k] for n, k in keys.items()}
    if len(arrays) == len(names):
        notes.append(f"{spec.path}: arrays {', '.join(arrays)} taken in input order for {', '.join(names)}")
        return dict(zip(names, arrays.values()))
    raise CalibrationError(f"{spec.path}: holds arrays {', '.join(arrays)}; the model's inputs are "
                           f"{', '.join(names)}: name the arrays after the inputs, or give NAME=FILE once per input")


def for_inputs(specs, inputs: list, what: str, flag: str) -> tuple:
    """Arrays for the model inputs, in input order, and notes on the choices made.

    specs: Spec / '[NAME=]FILE[:KEY]' strings; inputs: [(name, sample shape)]; what: 'calibration' or
    'input' (for messages); flag: how the user gives one ('--calib'), for messages."""
    specs = [parse_spec(s) for s in specs]
    names = [n for n, _ in inputs]
    shapes = dict(inputs)
    listed = ", ".join(names)
    got: dict = {}
    notes: list = []
    for spec in specs:
        if spec.name is None:
            continue
        target = spec.name if spec.name in shapes else next((n for n in names if _plain(n) == _plain(spec.name)), None)
        if target is None:
            raise CalibrationError(f"{flag} {spec}: the model has no input '{spec.name}'; its inputs: {listed}")
        data = read(spec, what)
        got[target] = _one_of(spec, data, target, shapes[target], notes) if isinstance(data, dict) else data
    rest = [n for n in names if n not in got]
    loose = [s for s in specs if s.name is None]
    if len(loose) == 1 and len(rest) > 1:
        data = read(loose[0], what)
        if not isinstance(data, dict):
            raise CalibrationError(f"{loose[0].path}: one array for {len(rest)} inputs ({', '.join(rest)}); give "
                                   f"an .npz with one array per input, or {flag} NAME=FILE once per input")
        got.update(_spread(loose[0], data, rest, notes))
    elif loose:
        if len(loose) != len(rest):
            raise CalibrationError(f"{len(specs)} {what} file(s) for {len(names)} input(s) ({listed}); give "
                                   f"{flag} once per input, or NAME=FILE")
        for spec, n in zip(loose, rest):
            data = read(spec, what)
            got[n] = _one_of(spec, data, n, shapes[n], notes) if isinstance(data, dict) else data
    missing = [n for n in names if n not in got]
    if missing:
        raise CalibrationError(f"no {what} data for input(s) {', '.join(missing)}; the model's inputs: {listed}")
    return [got[n] for n in names], notes


def is_data_source(value) -> bool:
    """A path, a spec or a list of them (rather than arrays)?"""
    if isinstance(value, (str, os.PathLike, Spec)):
        return True
    return isinstance(value, (list, tuple)) and bool(value) and all(
        isinstance(v, (str, os.PathLike, Spec)) for v in value)


def calibration_arrays(calibration, inputs: list) -> tuple:
    """Calibration as the library takes it (arrays, a list of arrays, {input name: array}, a path, a spec
    or a list of them) -> (list of arrays in input order, notes); arrays pass through unchanged."""
    if calibration is None:
        return None, []
    if is_data_source(calibration):
        specs = [calibration] if isinstance(calibration, (str, os.PathLike, Spec)) else list(calibration)
        return for_inputs(specs, inputs, "calibration", "--calib")
    if isinstance(calibration, dict):
        names = [n for n, _ in inputs]
        keys = {n: _lookup(calibration, n) for n in names}
        missing = [n for n, k in keys.items() if k is None]
        if missing:
            raise CalibrationError(f"calibration has no array for input(s) {', '.join(missing)} (it has "
                                   f"{', '.join(map(str, calibration))}); the model's inputs: {', '.join(names)}")
        return [calibration[k] for k in keys.values()], []
    if isinstance(calibration, np.ndarray) and len(inputs) > 1:
        raise CalibrationError(f"calibration is one array, the model has {len(inputs)} inputs "
                               f"({', '.join(n for n, _ in inputs)}): give one array per input (a list, a dict "
                               "by input name, or an .npz)")
    return calibration, []
