"""Instructions per inference of tinygen's int8 and 16x8 GRU / SimpleRNN on Cortex-M4 (QEMU mps2-an386 -icount).

Builds Keras models (fixed seeds, calibrated on 64 Gaussian sequences): GRU 32 units x 16 features x 16
steps (reset_after=True, the last state), GRU 64 x 32 x 16, SimpleRNN 32 x 16 x 16, and the first GRU in
16x8; runs `tinygen.verify.qemu.bench` on each and checks the firmware's outputs against TFLM running the
model's unrolled export on two random inputs. For the first GRU it also builds the same weights as TF's
converter writes them (Keras unroll=True: UNPACK, fused FULLY_CONNECTED, SPLIT, LOGISTIC, ... per step)
through tinygen's ordinary ops, for comparison with the native op. Prints a markdown table (instructions;
arena and weights from the build report). Exits 1 when an output differs or a tool / package is missing.

    .venv/bin/python benchmarks/gru.py [--out DIR]
"""
from __future__ import annotations

import argparse
import contextlib
import io
import sys
import tempfile
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from common import BenchmarkFailure, require_modules, require_tools  # noqa: E402

CASES = [("GRU", 32, 16, 16, "int8"), ("GRU", 64, 32, 16, "int8"), ("SimpleRNN", 32, 16, 16, "int8"),
         ("GRU", 32, 16, 16, "int16")]


def _keras(layer: str, units: int, features: int, steps: int, unroll: bool = False):
    import keras

    keras.utils.set_random_seed(units + features)
    inp = keras.Input((steps, features), batch_size=1)
    return keras.Model(inp, getattr(keras.layers, layer)(units, unroll=unroll)(inp))


def _check_outputs(out: Path, tflite: Path) -> None:
    """Two random samples through the firmware under QEMU equal TFLM's on the .tflite."""
    import tinygen
    from oracle import tflm_interpreter, tflm_run

    d = tflm_interpreter(tflite).get_input_details(0)
    info = np.iinfo(d["dtype"])
    xs = [np.random.default_rng(k).integers(info.min, info.max, size=tuple(d["shape"]), endpoint=True)
          .astype(d["dtype"]) for k in range(2)]
    got = tinygen.run(out, [np.stack(xs).reshape((2,) + tuple(d["shape"][1:]))], target="qemu", reset_each=True)
    for k, x in enumerate(xs):
        want = tflm_run(tflite, [x])[0]
        if np.asarray(got[0][k]).reshape(-1).tobytes() != np.asarray(want).reshape(-1).tobytes():
            raise BenchmarkFailure(f"{out.name}: sample {k}: the firmware differs from TFLM")


def _convert_int8(twin, calib: np.ndarray) -> bytes:
    """TF's converter on the unrolled twin. Its output varies from run to run: sometimes part of the first
    step stays float (DEQUANTIZE, float SPLIT, QUANTIZE back to the same scale and zero point). tinygen's
    import folds such chains over constants as TFLM computes them and turns the ones that only carry
    integers through moves into integer moves, so one conversion is enough. A float op still left after
    that computes on a non-constant tensor, which tinygen does not build: say so here."""
    from tests.tfconvert import convert
    from tinygen.frontend.tflite_fold import fold_constants
    from tinygen.frontend.tflite_parse import parse

    with contextlib.redirect_stdout(io.StringIO()):  # TF's export prints its signatures
        flat = convert(twin, calib)
    model = parse(flat, "tf_unrolled")
    fold_constants(model)
    left = sorted({op.opname for op in model.ops
                   if any(model.tensors[i].dtype == "float32" for i in op.inputs + op.outputs if i >= 0)})
    if left:
        raise BenchmarkFailure(f"TF's converter left float ops on non-constant tensors in the unrolled GRU "
                               f"({', '.join(left)}), which tinygen does not build")
    return flat


def _row(label: str, out: Path, ops: tuple) -> str:
    import json

    from tinygen.verify.qemu import bench

    result = bench(out)
    report = json.loads((out / "report.json").read_text())
    cell = f"{sum(x['instructions'] for x in result['layers'] if x['op'] in ops):,}" if ops else "-"
    macs = sum(x["macs"] for x in result["layers"] if x["op"] in ops) or result["macs"]
    return (f"| {label} | {result['instructions']:,} | {cell} | {macs:,} | {result['instructions'] / macs:.2f} | "
            f"{report['arena_bytes']:,} | {report['weights_bytes']:,} |")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, default=None, help="build folder (default: a temporary one)")
    args = ap.parse_args()
    require_tools("arm-none-eabi-gcc", "qemu-system-arm", "make")
    require_modules("keras", "tensorflow", "tflite_micro")
    import tinygen
    from tinygen.verify.export_tflite import export_tflite

    root = args.out or Path(tempfile.mkdtemp(prefix="tinygen_gru_bench_"))
    root.mkdir(parents=True, exist_ok=True)
    print("| model | instructions / inference | in the GRU / RNN op | MACs | instructions / MAC | arena (B) "
          "| weights (B) |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    for k, (layer, units, features, steps, activations) in enumerate(CASES):
        model = _keras(layer, units, features, steps)
        calib = np.random.default_rng(k).standard_normal((64, steps, features)).astype(np.float32)
        out = root / f"build{k}"
        tinygen.compile(model, out, board="cortex-m4", calibration=calib, activations=activations, name=f"gru{k}")
        tflite = export_tflite(out, root / f"export{k}.tflite")
        _check_outputs(out, tflite)
        label = f"tinygen {layer} op{' 16x8' if activations == 'int16' else ''}, {units} units x {features} " \
                f"features x {steps} steps"
        print(_row(label, out, ("GRU", "RNN")), flush=True)
        if k == 0:
            twin = _keras(layer, units, features, steps, unroll=True)
            twin.set_weights(model.get_weights())
            path = root / "tf_unrolled.tflite"
            path.write_bytes(_convert_int8(twin, calib))
            tinygen.compile(str(path), root / "tf_unrolled", board="cortex-m4", name="tf_unrolled")
            _check_outputs(root / "tf_unrolled", path)
            print(_row("TF's converter, same GRU unrolled (unroll=True), built by tinygen", root / "tf_unrolled", ()),
                  flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
