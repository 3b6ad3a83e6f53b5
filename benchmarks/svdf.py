"""Instructions per MAC of tinygen's SVDF on Cortex-M4 (QEMU mps2-an386 -icount), with arena and state bytes.

Writes single-SVDF int8 models with tinygen's flatbuffer writer (tests/kernels/test_svdf.py's `svdf_graph`:
int8 input, weights and output, an int16 or int8 memory, the state a variable tensor), builds each for
cortex-m4, runs `tinygen.verify.qemu.bench`, checks 8 invokes in sequence through the firmware (state
carried) against one TFLM interpreter, and prints a markdown table: the SVDF layer's instructions, MACs (the
feature and time matrices), instructions per MAC against the goal of 2.0, tinygen's arena and persistent state, and TFLM's arena (head,
the reusable part, and tail, its persistent allocations) for the same file, from the build report. Exits 1 when an output differs or a tool, model or package is missing.

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

GOAL = 2.0  # instructions per MAC of the recurrent matrix work (issue 14)
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
    print(f"| SVDF | instructions | MACs | instructions / MAC | goal <= {GOAL} | tinygen arena + state (B) | "
          "TFLM arena head + tail (B) |")
    print("|---|---:|---:|---:|---|---:|---:|")
    for k, (label, spec) in enumerate(CASES.items()):
        path = root / f"svdf{k}.tflite"
        path.write_bytes(to_bytes(svdf_graph(*spec, seed=k)))
        out = root / f"build{k}"
        tinygen.compile(str(path), out, board="cortex-m4", name=f"svdf{k}")
        result = bench(out)
        _check(path, out, spec)
        (layer,) = [x for x in result["layers"] if x["op"] == "SVDF"]
        report = json.loads((out / "report.json").read_text())
        mem = report["memory"]
        tflm = mem["tflm"]
        per_mac = layer["instructions"] / layer["macs"]
        print(f"| {label} | {layer['instructions']:,} | {layer['macs']:,} | {per_mac:.2f} | "
              f"{'yes' if per_mac <= GOAL else 'no'} | {mem['arena_bytes']:,} + "
              f"{mem['persistent_bytes']:,} | {tflm['head']:,} + {tflm['tail']:,} |", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
