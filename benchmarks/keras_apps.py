"""keras.applications models (untrained, calibrated on random data) built for cortex-m7, measured under QEMU.

    .venv/bin/python benchmarks/keras_apps.py [--models NAME,...]

Each model: tinygen.compile(board="cortex-m7"), then the firmware is built (make) and run under QEMU
mps2-an500 with -icount (tinygen bench). Prints one markdown row per model: input size, classes, ops,
arena bytes, weight bytes, flash (firmware ELF text + data, harness and libraries included) and
instructions per inference. Checks: the host C (the M7 kernel path) equals the NumPy reference on one
input. Fails (exit 1) when a check fails or a tool / package is missing.
"""
from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(ROOT / "tests" / "e2e"))
sys.path.insert(0, str(ROOT / "tests"))

from common import BenchmarkFailure, require_modules, require_tools  # noqa: E402

# (application name, input size, classes); the first five are the test's models (tests/e2e/test_keras_apps.py)
MODELS = [("mobilenet_0.25", 96, 10), ("mobilenet_v2_0.35", 96, 10), ("mobilenet_v3_small", 96, 10),
          ("mobilenet_v3_small_minimalistic", 96, 10), ("efficientnet_0.25x0.25", 96, 10),
          ("mobilenet_0.25", 128, 1000), ("mobilenet_v2_0.35", 128, 1000)]


def measure(name: str, size: int, classes: int, out: Path) -> dict:
    import tinygen
    from test_keras_apps import application
    from tinygen.verify.runner import quantize_input
    from tinygen.verify.testing import run_c, run_reference

    model = application(name, size, classes)
    hi = 255 if name.startswith("efficientnet") else 1
    calib = np.random.default_rng(0).uniform(0, hi, (8, size, size, 3)).astype(np.float32)
    r = tinygen.compile(model, out, calibration=calib, board="cortex-m7", name="app")
    g = r.graph
    t = g.tensors[g.inputs[0]]
    x = quantize_input(calib[:1], {"name": t.name, "dtype": t.dtype, "scale": t.scale,
                                   "zero_point": t.zero_point})[0][None]
    if run_c(g, [x], kernel_path="device")[0].tobytes() != run_reference(g, [x])[0].tobytes():
        raise BenchmarkFailure(f"{name}: C differs from the NumPy reference")
    return dict(name=name, size=size, classes=classes, ops=len(g.ops), arena=int(r.report["arena_bytes"]),
                weights=int(r.report["weights_bytes"]), macs=int(r.report["macs"]), **firmware(name, out))


def firmware(name: str, out: Path) -> dict:
    """Build the firmware of the tinygen output folder `out` (make) and run it under QEMU -icount:
    flash (the ELF's text + data) and instructions per inference (benchmarks/keras_apps_trained.py too)."""
    from tinygen.verify import qemu

    proc = subprocess.run(["make", "-s"], cwd=out, capture_output=True, text=True)
    if proc.returncode:
        raise BenchmarkFailure(f"make failed for {name}:\n{proc.stderr[-2000:]}")
    size_out = subprocess.run(["arm-none-eabi-size", str(out / "build" / "firmware.elf")], check=True,
                              capture_output=True, text=True).stdout.splitlines()[1].split()
    return dict(flash=int(size_out[0]) + int(size_out[1]), insns=int(qemu.bench(out)["instructions"]))


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--models", help="comma-separated application names (default: all rows)")
    args = p.parse_args()
    require_tools("arm-none-eabi-gcc", "arm-none-eabi-size", "qemu-system-arm", "make")
    require_modules("keras")
    wanted = set(args.models.split(",")) if args.models else None
    rows = []
    with tempfile.TemporaryDirectory(prefix="tinygen-apps-") as tmp:
        for i, (name, size, classes) in enumerate(MODELS):
            if wanted is None or name in wanted:
                rows.append(measure(name, size, classes, Path(tmp) / f"m{i}"))
                print(f"keras_apps.py: {name} {size}x{size} measured", file=sys.stderr, flush=True)
    print("| model | input | classes | ops | arena (B) | weights (B) | flash (B) | MACs | instructions (cortex-m7) |")
    print("|---|---|---:|---:|---:|---:|---:|---:|---:|")
    for r in rows:
        print(f"| {r['name']} | {r['size']}x{r['size']}x3 | {r['classes']} | {r['ops']} | {r['arena']:,} | "
              f"{r['weights']:,} | {r['flash']:,} | {r['macs']:,} | {r['insns']:,} |")


if __name__ == "__main__":
    main()
