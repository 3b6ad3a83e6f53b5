"""Instructions per inference for the shared models without per-layer baseline rows (SWW, person_detect,
micro_speech, hello_world): tinygen bench on a board vs the baseline totals, outputs checked against TFLM.
Exits 1 when any output differs from TFLM's, or when a model, tool or tflite-micro is missing.

Run: .venv/bin/python benchmarks/speed_others.py [--board cortex-m4]
"""
from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import MODELS_DIR as MODELS  # noqa: E402
from common import BenchmarkFailure, require_files, require_modules, require_tools  # noqa: E402

# TFLM (90b983c2) instructions per inference on mps2-an386, from ../shared/baselines (ticks x 40).
BASELINE = {  # model: (path, TFLM + CMSIS-NN, TFLM reference kernels)
    "sww": ("mlperf/sww/str_ww_ref_model.tflite", 2_227_240, 8_299_360),
    "person_detect": ("tflm/person_detection/person_detect.tflite", 22_928_840, 95_890_360),
    "micro_speech": ("tflm/micro_speech/micro_speech_quantized.tflite", 1_495_440, 9_314_640),
    "hello_world": ("tflm/hello_world/hello_world_int8.tflite", 3_600, 5_320),
}


def main() -> int:
    import tinygen
    from oracle import num_outputs, tflm_interpreter, tflm_run_with
    from tinygen.verify.qemu import bench

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--board", default="cortex-m4")
    args = ap.parse_args()
    require_files(*(MODELS / rel for rel, _, _ in BASELINE.values()))
    require_tools("make", "arm-none-eabi-gcc", "qemu-system-arm")
    require_modules("tflite_micro.python.tflite_micro.runtime", "tflite")
    ref_col = "TFLM + CMSIS-NN" if args.board == "cortex-m4" else "TFLM reference kernels"
    print(f"| model | MACs | tinygen instructions ({args.board}) | {ref_col} (M4) | ratio | bit-exact (QEMU vs TFLM) |")
    print("|---|---:|---:|---:|---:|---|")
    failed = []
    with tempfile.TemporaryDirectory() as tmp:
        for key, (rel, cmsis, ref) in BASELINE.items():
            out = Path(tmp) / key
            r = tinygen.compile(str(MODELS / rel), out, board=args.board, name=key)
            b = bench(out)
            shape = tuple(r.report["inputs"][0]["shape"])
            rng = np.random.default_rng(3)
            xs = [rng.integers(-128, 128, size=shape, dtype=np.int64).astype(np.int8) for _ in range(3)]
            sample = shape[1:] if shape[0] == 1 else shape
            got = tinygen.run(out, [np.stack(xs).reshape((3,) + sample)], target="qemu")[0]
            interp = tflm_interpreter(MODELS / rel)
            exact = all(np.array_equal(got[i].reshape(-1), tflm_run_with(interp, [x], num_outputs(MODELS / rel))[0]
                                       .reshape(-1)) for i, x in enumerate(xs))
            if not exact:
                failed.append(key)
            base = cmsis if args.board == "cortex-m4" else ref
            print(f"| {key} | {b['macs']:,} | {b['instructions']:,} | {base:,} | {b['instructions'] / base:.3f} | "
                  f"{'yes' if exact else 'NO'} |", flush=True)
    if failed:
        raise BenchmarkFailure("QEMU outputs differ from TFLM's for " + ", ".join(failed))
    return 0


if __name__ == "__main__":
    sys.exit(main())
