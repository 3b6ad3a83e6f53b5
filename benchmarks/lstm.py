"""Instructions per MAC of tinygen's UNIDIRECTIONAL_SEQUENCE_LSTM on Cortex-M4 (QEMU mps2-an386 -icount).

Builds the zoo Keras-LSTM MNIST model (20 units, 28 features, 28 steps), two int8 LSTMs made by TF's
converter (tests/lstm_models.py: 32 units x 16 features and 64 units x 32 features, 16 steps) and a 16x8
LSTM written by tinygen's flatbuffer writer (64 x 32, 16 steps), runs `tinygen.verify.qemu.bench` on each
(the whole LSTM layer's instructions, SysTick under -icount), traces one invoke with
benchmarks/qemu_profile.py (every executed instruction; the trace total must equal the firmware's own count
within its tolerance) and counts the instructions of the gate matrices' SMLAD loop (inlined
tg_quad_groups, DWARF inline chain), checks the firmware's outputs against TFLM's interpreter on two random
inputs, and prints a markdown table: the layer's instructions, MACs (the gate matrices: 4 * units *
(features + units) per step), whole-layer instructions per MAC, the gate loop's instructions and
instructions per MAC against the goal of 2.0 (issue 14: the matrix work), the whole model's weights,
tinygen's arena + persistent state and TFLM's arena (head, the reusable part, + tail, its persistent
allocations) for the same file, from the build report. Exits 1 when an output differs, the trace disagrees
with the firmware's count, or a tool, model or package is missing.

    .venv/bin/python benchmarks/lstm.py [--out DIR]
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

from common import MODELS_DIR, BenchmarkFailure, require_files, require_modules, require_tools  # noqa: E402
from qemu_profile import ProfileError, check, profile  # noqa: E402

ZOO = MODELS_DIR / "zoo" / "coraltd__keras_lstm_mnist_ptq.tflite"
GOAL = 2.0  # instructions per MAC of the recurrent matrix work (issue 14)
GATE_LOOP = ("tg_quad_groups",)  # the inlined SMLAD loop over 4 gate rows (runtime_c/recurrent/tg_smlad_quad.h)


def _models(folder: Path) -> dict:
    from lstm_models import lstm_model, raw_lstm_model

    made = {"int8 32 units x 16 features, 16 steps": lstm_model(32, 16, 16, True, "int8", seed=4),
            "int8 64 units x 32 features, 16 steps": lstm_model(64, 32, 16, True, "int8", seed=3),
            "16x8 64 units x 32 features, 16 steps": raw_lstm_model(units=64, features=32, steps=16, mode="int16")}
    paths = {"zoo MNIST LSTM (int8, 20 units x 28 features, 28 steps)": ZOO}
    for k, (label, data) in enumerate(made.items()):
        paths[label] = folder / f"lstm{k}.tflite"
        paths[label].write_bytes(data)
    return paths


def _check_outputs(path: Path, out: Path) -> None:
    """Two random samples through the firmware under QEMU, each from the initial state, equal TFLM's."""
    import tinygen
    from oracle import tflm_run
    from tinygen.compiler import load_model

    graph = load_model(str(path))
    t = graph.tensors[graph.inputs[0]]
    info = np.iinfo(np.dtype(t.dtype))
    xs = [np.random.default_rng(k).integers(info.min, info.max, size=t.shape, endpoint=True).astype(t.dtype)
          for k in range(2)]
    sample = t.shape[1:] if t.shape and t.shape[0] == 1 else t.shape  # run takes (N, sample shape)
    got = tinygen.run(out, [np.stack(xs).reshape((len(xs),) + tuple(sample))], target="qemu", reset_each=True)
    for k, x in enumerate(xs):
        for i, want in enumerate(tflm_run(path, [x])):
            if np.asarray(got[i][k]).reshape(want.shape).tobytes() != want.tobytes():
                raise BenchmarkFailure(f"{path.name}: sample {k} output {i} of the firmware differs from TFLM's")


def _tflm(mem: dict) -> str:
    tflm = mem.get("tflm") or {}
    return f"{tflm['head']:,} + {tflm['tail']:,}" if "head" in tflm else "n/a"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, default=None, help="build folder (default: a temporary one)")
    args = ap.parse_args()
    require_tools("arm-none-eabi-gcc", "qemu-system-arm", "make")
    require_modules("tensorflow", "tflite_micro")
    require_files(ZOO)
    import tinygen
    from tinygen.verify.qemu import bench

    root = args.out or Path(tempfile.mkdtemp(prefix="tinygen_lstm_bench_"))
    root.mkdir(parents=True, exist_ok=True)
    print(f"| model | LSTM instructions | LSTM MACs | layer instructions / MAC | gate-loop instructions | "
          f"gate-loop instructions / MAC | goal <= {GOAL} (gate loop) | trace / firmware count | weights (B) | "
          "tinygen arena + state (B) | TFLM arena head + tail (B) |")
    print("|---|---:|---:|---:|---:|---:|---|---|---:|---:|---:|")
    for k, (label, path) in enumerate(_models(root).items()):
        out = root / f"build{k}"
        tinygen.compile(str(path), out, board="cortex-m4", name=f"lstm{k}")
        result = bench(out)
        try:
            prof = profile(out, {"gate": GATE_LOOP})
            check(prof)
        except ProfileError as e:
            raise BenchmarkFailure(f"{path.name}: {e}") from None
        _check_outputs(path, out)
        (layer,) = [x for x in result["layers"] if x["op"] == "UNIDIRECTIONAL_SEQUENCE_LSTM"]
        report = json.loads((out / "report.json").read_text())
        mem, gate = report["memory"], prof["regions"]["gate"]
        per_mac, gate_mac = layer["instructions"] / layer["macs"], gate / layer["macs"]
        print(f"| {label} | {layer['instructions']:,} | {layer['macs']:,} | {per_mac:.2f} | {gate:,} | "
              f"{gate_mac:.2f} | {'yes' if gate_mac <= GOAL else 'no'} | {prof['total']:,} / {prof['firmware']:,} | "
              f"{report['weights_bytes']:,} | {mem['arena_bytes']:,} + {mem['persistent_bytes']:,} | {_tflm(mem)} |",
              flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
