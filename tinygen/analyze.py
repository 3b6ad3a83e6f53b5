"""`tinygen analyze`: know before flashing, without building any C.

Runs the compiler's stages up to the plan (frontend, quantize, lower, schedule, plan, C rendered in
memory: no files, no compiler) and reports op support (every unsupported layer), MACs, weights, arena
and, per board, the estimated flash image (weights + kernel code + startup / I/O / libc, from
tinygen/target/costs.json), whether RAM and flash fit, and the estimated latency and energy
(codegen/estimate.py). A float model without calibration data is quantized on synthetic samples:
sizes and costs do not depend on the ranges, and the result says so.
"""
from __future__ import annotations

import re
from pathlib import Path
from typing import Optional

from tinygen.errors import TinygenError, UnsupportedError


def _unsupported_tflite(path: Path) -> list:
    """Every operator of a .tflite that no op spec converts: [{layer, op, reason}]."""
    from tinygen.frontend.tflite import _layer_names
    from tinygen.frontend.tflite_parse import parse
    from tinygen.ops.spec import tflite_converters

    try:
        model = parse(path.read_bytes(), str(path))
    except (TinygenError, OSError):
        return []
    known = tflite_converters()
    return [dict(layer=name, op=op.opname, reason=f"operator {op.opname} is not supported by tinygen")
            for op, name in zip(model.ops, _layer_names(model)) if op.opname not in known]


def _listed(message: str) -> list:
    """The Keras and ONNX frontends refuse every unsupported layer / node in one message:
    "N layers are not supported: layer 'a' (Kind) ...; layer 'b' ..." -> one entry each."""
    _, sep, rest = message.partition(" are not supported: ")
    items = rest.split("; ") if sep else [message]
    out = []
    for item in items:
        m = re.search(r"(?:layer|node) '([^']*)'(?: \(([^)]*)\))?", item)
        out.append(dict(layer=m.group(1) if m else "?", op=(m.group(2) or "?") if m else "?", reason=item))
    return out


def _unsupported_ops(graph) -> list:
    """Every op of a loaded graph that validation refuses (each op checked on its own)."""
    from tinygen.ir import validate

    w = validate._Where(graph)
    out = []
    for op in graph.ops:
        try:
            validate._check_op(graph, op, w)
        except UnsupportedError as exc:
            out.append(dict(layer=op.name, op=op.kind.value, reason=str(exc)))
    return out


def _unsupported_lowering(graph) -> list:
    """Every op of a quantized graph with no kernel (each op lowered on its own)."""
    from tinygen.lower.base import lower_op

    out = []
    for op in graph.ops:
        try:
            lower_op(op, graph)
        except UnsupportedError as exc:
            out.append(dict(layer=op.name, op=op.kind.value, reason=str(exc)))
    return out


def _find_unsupported(model, opts) -> list:
    """After build() refused the model: the unsupported layers, listed one by one where possible."""
    from tinygen.compiler import _quantize_stage, load_model
    from tinygen.ir import validate

    path = Path(str(model))
    try:
        graph = load_model(model, opts.input_shape, opts.io_layout)
    except UnsupportedError as exc:
        return _unsupported_tflite(path) if path.suffix.lower() == ".tflite" else _listed(str(exc))
    except TinygenError:
        return []
    found = _unsupported_ops(graph)
    if found:
        return found
    try:
        validate.check(graph)
        return _unsupported_lowering(_quantize_stage(graph, opts))
    except TinygenError:
        return []


def _board_row(report: dict, runtime_files: list, board) -> dict:
    from tinygen.codegen.estimate import estimate, image_bytes
    from tinygen.codegen.firmware import DEFAULT_STACK_BYTES

    ram = int(report["arena_bytes"]) + int(report.get("persistent_bytes", 0)) + DEFAULT_STACK_BYTES
    img = image_bytes(report, runtime_files, board)
    est = estimate(report, board)
    flash_avail = int(board.flash_size)
    row = dict(board=board.name, core=board.core, clock_hz=int(board.clock_hz), ram_bytes=int(board.ram_size),
               flash_bytes=flash_avail, ram_needed=ram, flash_needed=None if img is None else img["total"],
               fits_ram=ram <= board.ram_size,
               fits_flash=None if img is None else img["total"] <= flash_avail)
    row["fits"] = False if not row["fits_ram"] else row["fits_flash"]  # None: flash unknown (core not calibrated)
    if est is not None:
        row.update(cycles=est["cycles"], ms=est["ms"], uj=est["uj"], power_published=est["power_published"],
                   assumptions=est["assumptions"])
    if img is not None:
        row["flash_detail"] = img
    return row


def analyze(model, boards=("cortex-m4",), calibration=None, **options) -> dict:
    """Figures for `model` on each board in `boards` (names or Board objects); nothing is written.

    Returns dict(model, supported, unsupported=[{layer, op, reason}], error, and when supported: layers,
    macs, weights_bytes, arena_bytes, persistent_bytes, per_layer (est. cycles on the first board),
    boards=[{board, fits, fits_ram, fits_flash, ram_needed, flash_needed, cycles, ms, uj, ...}], warnings)."""
    from tinygen.compiler import build
    from tinygen.options import CompileOptions
    from tinygen.target.boards import load_board

    board_objs = [load_board(b) for b in boards]
    opts = CompileOptions.make(board=board_objs[0].name, calibration=calibration, check_fit=False,
                               firmware=False, measure_stack=False, compare_tflm_arena=False, **options)
    out = dict(model=str(model), supported=True, unsupported=[], error=None)
    try:
        result = build(model, opts)
    except UnsupportedError as exc:
        out.update(supported=False, error=str(exc), unsupported=_find_unsupported(model, opts))
        return out
    r = result.report
    files = sorted(result.files)
    out.update(name=r["model"], layers=len(r["layers"]), macs=int(r["macs"]), weights_bytes=int(r["weights_bytes"]),
               arena_bytes=int(r["arena_bytes"]), persistent_bytes=int(r.get("persistent_bytes", 0)),
               kernels=sorted({L["kernel"] for L in r["layers"] if L["kernel"] not in ("view", "alias")}),
               runtime_files=[f for f in files if f.startswith("tg_") and f.endswith(".c")],
               warnings=list(r.get("warnings", [])), synthetic_calibration=calibration is None and _is_float(result))
    out["boards"] = [_board_row(r, files, b) for b in board_objs]
    out["per_layer"] = _per_layer(r, board_objs[0])
    return out


def _is_float(result) -> bool:
    return bool(result.report.get("quantization"))


def _per_layer(report: dict, board) -> list:
    from tinygen.codegen.estimate import estimate

    est = estimate(report, board)
    cycles = est["layers"] if est else [None] * len(report["layers"])
    return [dict(index=L["index"], name=L["name"], op=L["op"], kernel=L["kernel"], macs=L["macs"],
                 weight_bytes=L["weight_bytes"], est_cycles=c) for L, c in zip(report["layers"], cycles)]


__all__ = ["analyze"]
