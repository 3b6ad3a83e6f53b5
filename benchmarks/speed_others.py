"""Instructions per inference for the shared models without per-layer baseline rows (SWW, person_detect,
micro_speech, hello_world): tinygen bench on a board vs the baseline totals, outputs checked against TFLM.
Each row gives the efficiency against the physical limit, (MACs / 2) / instructions, and the goal
(0.5x TFLM + CMSIS-NN for SWW, 0.6x for micro_speech and person_detect; cortex-m4 only); the lines below
the table name each model's layers furthest from the limit. cortex-m7 and cortex-m33 have no TFLM
baseline of their own: their rows give tinygen's cortex-m4 figure and TFLM's cortex-m4 figure beside.
Exits 1 when any output differs from TFLM's, or when a model, tool or tflite-micro is missing.

Run: .venv/bin/python benchmarks/speed_others.py [--board cortex-m4|cortex-m3|cortex-m7|cortex-m33]
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
from common import BenchmarkFailure, efficiency, require_files, require_modules, require_tools  # noqa: E402
from common import worst_layers  # noqa: E402

# TFLM (90b983c2) instructions per inference on mps2-an386, from ../shared/baselines (ticks x 40).
BASELINE = {  # model: (path, TFLM + CMSIS-NN, TFLM reference kernels)
    "sww": ("mlperf/sww/str_ww_ref_model.tflite", 2_227_240, 8_299_360),
    "person_detect": ("tflm/person_detection/person_detect.tflite", 22_928_840, 95_890_360),
    "micro_speech": ("tflm/micro_speech/micro_speech_quantized.tflite", 1_495_440, 9_314_640),
    "hello_world": ("tflm/hello_world/hello_world_int8.tflite", 3_600, 5_320),
}
GOAL = {"sww": 0.5, "person_detect": 0.6, "micro_speech": 0.6}  # at most this x TFLM + CMSIS-NN (cortex-m4)
OTHER_CORES = ("cortex-m7", "cortex-m33")  # DSP cores without a TFLM baseline: compared with cortex-m4


def main() -> int:
    import tinygen
    from oracle import num_outputs, tflm_interpreter, tflm_run_with
    from tinygen.verify.qemu import bench

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--board", default="cortex-m4", choices=["cortex-m4", "cortex-m3", *OTHER_CORES])
    args = ap.parse_args()
    require_files(*(MODELS / rel for rel, _, _ in BASELINE.values()))
    require_tools("make", "arm-none-eabi-gcc", "qemu-system-arm")
    require_modules("tflite_micro.python.tflite_micro.runtime", "tflite")
    other = args.board in OTHER_CORES
    ref_col = "TFLM reference kernels (M4)" if args.board == "cortex-m3" else "TFLM + CMSIS-NN (M4)"
    if other:
        print(f"No TFLM baseline exists for {args.board}: the TFLM column is cortex-m4's (not like for like).\n")
    print(f"| model | MACs | tinygen instructions ({args.board}) | efficiency |"
          + (" tinygen cortex-m4 |" if other else "") + f" {ref_col} | ratio | goal | bit-exact (QEMU vs TFLM) |")
    print("|---|---:|---:|---:|" + ("---:|" if other else "") + "---:|---:|---:|---|")
    failed, notes = [], []
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
            base = ref if args.board == "cortex-m3" else cmsis
            goal = f"{int(base * GOAL[key]):,} ({GOAL[key]}x)" if key in GOAL and args.board == "cortex-m4" else "-"
            m4 = ""
            if other:
                tinygen.compile(str(MODELS / rel), Path(tmp) / f"{key}_m4", board="cortex-m4", name=key)
                m4 = f" {bench(Path(tmp) / f'{key}_m4')['instructions']:,} |"
            print(f"| {key} | {b['macs']:,} | {b['instructions']:,} | {efficiency(b['macs'], b['instructions'])} |{m4}"
                  f" {base:,} | {b['instructions'] / base:.3f} | {goal} | {'yes' if exact else 'NO'} |", flush=True)
            notes.append(f"- {key}: " + worst_layers(b["layers"], [la["kernel"] for la in r.report["layers"]]))
    print("\n" + "\n".join(notes))
    if failed:
        raise BenchmarkFailure("QEMU outputs differ from TFLM's for " + ", ".join(failed))
    return 0


if __name__ == "__main__":
    sys.exit(main())
