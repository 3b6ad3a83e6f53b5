"""Cost estimates before flashing: cycles, milliseconds, energy and flash image bytes per board.

Every figure here is an estimate, built from three measured or stated inputs:
- instructions per kernel: tinygen/target/costs.json, measured by benchmarks/calibrate_costs.py under
  QEMU -icount (`tinygen bench`) on the generic board of each core: per kernel, instructions per MAC
  plus per output element (kernels that multiply-accumulate) or per input + output element (the
  others). A kernel the calibration models never ran gets the median figures of the core's kernels of
  the same kind.
- cycles per instruction: CPI below, an assumption per core (QEMU counts instructions, not cycles).
- power: the board's [power] table (a published active current with its source), else an assumed
  current per MHz for the core (ASSUMED_UA_PER_MHZ), said to be one.
Code bytes: each runtime_c file compiled alone at -O2 for the core (costs.json), plus a fixed part and
a part per layer fitted on real firmware images (startup, main, I/O, libc, model.c's calls).
"""
from __future__ import annotations

import functools
import json
from pathlib import Path
from statistics import median
from typing import Optional

import numpy as np

COSTS_FILE = Path(__file__).resolve().parents[1] / "target" / "costs.json"

# Cycles per instruction, assumed. The cores' Technical Reference Manuals give 1 cycle for data processing
# and multiply(-accumulate) instructions, 2 for a single load or store (N+1 for N pipelined loads on
# M3/M4/M33) and 1+P (M3/M4: P = 1..3) or 2 (M0+) for a taken branch; the M7 can issue two
# instructions per cycle (no dual issue is assumed for the M55: its scalar code and its Helium (MVE) kernels
# are both counted at 1.2, beats of a vector instruction not modelled).
# The figures assume roughly a third of the kernels' instructions are loads / stores and branches,
# zero-wait-state memory (flash behind a cache or accelerator) and no stalls.
CPI = {"cortex-m0plus": 1.4, "cortex-m3": 1.3, "cortex-m4": 1.3, "cortex-m33": 1.3, "cortex-m7": 1.0,
       "cortex-m55": 1.2}

# Active current per MHz when the board states none (a generic core): assumed, not published figures.
ASSUMED_UA_PER_MHZ = {"cortex-m0plus": 60.0, "cortex-m3": 100.0, "cortex-m4": 100.0, "cortex-m33": 60.0,
                      "cortex-m7": 200.0, "cortex-m55": 100.0}
ASSUMED_VOLTAGE = 3.3


@functools.lru_cache(maxsize=1)
def load_costs() -> dict:
    return json.loads(COSTS_FILE.read_text())


def core_table(core: str) -> Optional[dict]:
    return load_costs()["cores"].get(core)


def _fallback(table: dict, unit: str, key: str = "per_unit") -> float:
    ratios = [k.get(key, 0.0) for k in table["kernels"].values() if k["unit"] == unit]
    return float(median(ratios)) if ratios else 0.0


def layer_work(layer: dict) -> tuple:
    """(unit, amount): MACs for a layer that multiplies-accumulates, else its input + output elements."""
    if layer.get("macs"):
        return "mac", int(layer["macs"])
    elems = sum(int(np.prod(s)) for s in layer.get("inputs", [])) + sum(int(np.prod(s)) for s in layer["outputs"])
    return "element", max(elems, 1)


def layer_instructions(layer: dict, table: dict) -> tuple:
    """(instructions, calibrated?) of one report layer on a core."""
    kernel = layer.get("kernel", "")
    if kernel in ("view", "alias", ""):
        return 0, True
    unit, work = layer_work(layer)
    outs = sum(int(np.prod(s)) for s in layer["outputs"]) if unit == "mac" else 0
    row = table["kernels"].get(kernel)
    if row is not None and row["unit"] == unit:
        return int(round(row["per_unit"] * work + row.get("per_output", 0.0) * outs)), True
    return int(round(_fallback(table, unit) * work + _fallback(table, unit, "per_output") * outs)), False


def power(board) -> dict:
    """{"ma", "volts", "published", "source"}: the board's active current at its clock."""
    p = getattr(board, "power", None)
    mhz = board.clock_hz / 1e6
    if p:
        return dict(ma=p["ua_per_mhz"] * mhz / 1000.0, volts=p["voltage_v"], published=True, source=p["source"])
    ua = ASSUMED_UA_PER_MHZ.get(board.core, 100.0)
    return dict(ma=ua * mhz / 1000.0, volts=ASSUMED_VOLTAGE, published=False,
                source=f"assumed {ua:g} uA/MHz at {ASSUMED_VOLTAGE:g} V for a {board.core} (no published figure "
                       f"in boards/{board.name}.toml)")


def estimate(report: dict, board) -> Optional[dict]:
    """{cycles, ms, uj, clock_hz, instructions, layers: [est_cycles], assumptions} for `report` on `board`."""
    table = core_table(board.core)
    if table is None:
        return None
    cpi = CPI.get(board.core, 1.3)
    per_layer, uncalibrated = [], set()
    for layer in report["layers"]:
        insns, known = layer_instructions(layer, table)
        if not known:
            uncalibrated.add(layer["kernel"])
        per_layer.append(int(round(insns * cpi)))
    cycles = int(sum(per_layer))
    seconds = cycles / board.clock_hz
    pw = power(board)
    uj = pw["ma"] * 1e-3 * pw["volts"] * seconds * 1e6
    assumptions = [
        f"instructions per kernel measured under QEMU -icount on the {board.core} kernel path "
        f"(benchmarks/calibrate_costs.py, tinygen/target/costs.json)",
        f"{cpi:g} cycles per instruction for a {board.core} (assumed from the core's published instruction "
        "timings; zero-wait-state memory)",
        f"clock {board.clock_hz / 1e6:g} MHz (boards/{board.name}.toml)",
        ("active current " + (f"{pw['ma']:.3g} mA at {pw['volts']:g} V: {pw['source']}" if pw["published"]
                              else f"{pw['ma']:.3g} mA: {pw['source']}")),
        "the model's inference only: no sleep, no input acquisition, no other peripherals",
    ]
    if uncalibrated:
        assumptions.append("kernels without a calibration run, estimated from the core's median: "
                           + ", ".join(sorted(uncalibrated)))
    return dict(cycles=cycles, ms=round(seconds * 1e3, 4), uj=round(uj, 3), clock_hz=int(board.clock_hz),
                instructions=int(round(cycles / cpi)), cpi=cpi, layers=per_layer,
                current_ma=round(pw["ma"], 4), voltage_v=pw["volts"], power_published=pw["published"],
                assumptions=assumptions)


def image_bytes(report: dict, runtime_files, board) -> Optional[dict]:
    """Estimated flash image: weights + the runtime kernels' code + startup / main / I/O / libc."""
    table = core_table(board.core)
    if table is None:
        return None
    code = {f: int(table["code_bytes"].get(f, 0)) for f in sorted(runtime_files) if f.endswith(".c")}
    base = int(table["image"]["fixed"]) + int(table["image"]["per_layer"]) * len(report["layers"])
    kernels = int(sum(code.values()))
    weights = int(report["weights_bytes"])
    return dict(total=weights + kernels + base + int(board.boot2_bytes), weights=weights, kernels=kernels,
                base=base, boot2=int(board.boot2_bytes), files=code)


def annotate(report: dict, board, runtime_files=None) -> None:
    """Add report["estimate"] and each layer's `est_cycles` (in place); nothing for an unknown core."""
    est = estimate(report, board)
    if est is None:
        return
    for layer, c in zip(report["layers"], est.pop("layers")):
        layer["est_cycles"] = c
    if runtime_files is not None:
        img = image_bytes(report, runtime_files, board)
        if img is not None:
            est["flash_bytes"] = img
    report["estimate"] = est


__all__ = ["estimate", "annotate", "image_bytes", "layer_instructions", "power", "CPI", "load_costs"]
