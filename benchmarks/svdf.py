"""Instructions per MAC of tinygen's SVDF on Cortex-M4 (QEMU mps2-an386 -icount), with arena and state bytes.

Writes single-SVDF int8 models with tinygen's flatbuffer writer (tests/kernels/test_svdf.py's `svdf_graph`:
int8 input, weights and output, an int16 or int8 memory, the state a variable tensor), builds each for
cortex-m4, runs `tinygen.verify.qemu.bench` (the whole SVDF layer's instructions, SysTick under -icount),
traces one invoke with benchmarks/qemu_profile.py (every executed instruction; the trace total must equal
the firmware's own count within its tolerance) and counts the instructions of the feature matrix's SMLAD
loop (inlined tg_quad_groups) and of the time matrix (inlined tg_svdf_time_row_s16 / _s8, which also moves
the memory by one) by DWARF inline chain, checks 8 invokes in sequence through the firmware (state carried)
against one TFLM interpreter, and prints a markdown table: the layer's instructions, MACs (feature matrix:
filters x features, time matrix: filters x memory), whole-layer instructions per MAC, the feature and time
loops' instructions per MAC of their own matrix, both together per MAC against the goal of 2.0 (issue 14:
the matrix work), tinygen's arena and persistent state, and TFLM's arena (head, the reusable part, and
tail, its persistent allocations) for the same file, from the build report. Exits 1 when an output
differs, the trace disagrees with the firmware's count, or a tool, model or package is missing.

    .venv/bin/python benchmarks/svdf.py [--out DIR]
"""
from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "kernels"))

from common import BenchmarkFailure, require_modules, require_tools  # noqa: E402
from qemu_profile import ProfileError, check, profile  # noqa: E402

GOAL = 2.0  # instructions per MAC of the recurrent matrix work (issue 14)
# the inlined kernels of the two matrices (runtime_c/recurrent/tg_smlad_quad.h, runtime_c/state/tg_svdf_core.h)
LOOPS = {"feature": ("tg_quad_groups",), "time": ("tg_svdf_time_row_s16", "tg_svdf_time_row_s8")}
# label -> (batch, input_size, filters, rank, memory, state dtype, input zp, state zp, output zp)
CASES = {
    "40 features, 64 filters (rank 1), memory 8, int16 state": (1, 40, 64, 1, 8, "int16", -3, 0, -5),
    "64 features, 128 filters (rank 2), memory 10, int16 state": (1, 64, 128, 2, 10, "int16", 4, 0, 2),
    "64 features, 128 filters (rank 2), memory 10, int8 state": (1, 64, 128, 2, 10, "int8", 4, -6, 2),
}


def _check(path: Path, out: Path, spec: tuple) -> None:
    import tinygen
    from oracle import tflm_interpreter, tflm_run_with

    xs = np.random.default_rng(5).integers(-128, 128, (8, spec[0], spec[1])).astype(np.int8)
    interp = tflm_interpreter(path)
    want = np.stack([tflm_run_with(interp, [x])[0] for x in xs])
    feed = xs[:, 0] if spec[0] == 1 else xs  # run takes (N, sample shape); a batch of 1 is the sample
    got = tinygen.run(out, [feed], target="qemu")[0]
    if np.asarray(got).reshape(want.shape).tobytes() != want.tobytes():
        raise BenchmarkFailure(f"{path.name}: the firmware's sequence of outputs differs from TFLM's")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, default=None, help="build folder (default: a temporary one)")
    args = ap.parse_args()
    require_tools("arm-none-eabi-gcc", "qemu-system-arm", "make")
    require_modules("tflite_micro")
    import tinygen
    from test_svdf import svdf_graph
    from tinygen.verify.export_tflite import to_bytes
    from tinygen.verify.qemu import bench

    root = args.out or Path(tempfile.mkdtemp(prefix="tinygen_svdf_bench_"))
    root.mkdir(parents=True, exist_ok=True)
    print(f"| SVDF | layer instructions | MACs (feature + time) | layer instructions / MAC | feature loop / MAC | "
          f"time loop / MAC | matrix loops / MAC | goal <= {GOAL} (matrix loops) | trace / firmware count | "
          "tinygen arena + state (B) | TFLM arena head + tail (B) |")
    print("|---|---:|---:|---:|---:|---:|---:|---|---|---:|---:|")
    for k, (label, spec) in enumerate(CASES.items()):
        path = root / f"svdf{k}.tflite"
        path.write_bytes(to_bytes(svdf_graph(*spec, seed=k)))
        out = root / f"build{k}"
        tinygen.compile(str(path), out, board="cortex-m4", name=f"svdf{k}")
        result = bench(out)
        try:
            prof = profile(out, LOOPS)
            check(prof)
        except ProfileError as e:
            raise BenchmarkFailure(f"{path.name}: {e}") from None
        _check(path, out, spec)
        (layer,) = [x for x in result["layers"] if x["op"] == "SVDF"]
        report = json.loads((out / "report.json").read_text())
        mem = report["memory"]
        tflm = mem["tflm"]
        batch, features, filters, memory = spec[0], spec[1], spec[2], spec[4]
        fmacs, tmacs = batch * filters * features, batch * filters * memory
        if fmacs + tmacs != layer["macs"]:
            raise BenchmarkFailure(f"{label}: report counts {layer['macs']:,} MACs, expected {fmacs + tmacs:,}")
        loops = prof["regions"]
        matrix = (loops["feature"] + loops["time"]) / layer["macs"]
        print(f"| {label} | {layer['instructions']:,} | {fmacs:,} + {tmacs:,} | "
              f"{layer['instructions'] / layer['macs']:.2f} | {loops['feature'] / fmacs:.2f} | "
              f"{loops['time'] / tmacs:.2f} | {matrix:.2f} | {'yes' if matrix <= GOAL else 'no'} | "
              f"{prof['total']:,} / {prof['firmware']:,} | {mem['arena_bytes']:,} + "
              f"{mem['persistent_bytes']:,} | {tflm['head']:,} + {tflm['tail']:,} |", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
