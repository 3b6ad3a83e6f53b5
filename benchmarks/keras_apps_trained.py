"""keras.applications models briefly trained on a synthetic 10-class image task, built for cortex-m7 with
PTQ on training samples, measured under QEMU and compared with TF's converter.

    .venv/bin/python benchmarks/keras_apps_trained.py [--models NAME,...]

Each model (96x96x3, 10 classes; tests/e2e/test_keras_apps_trained.py `trained`): 480 synthetic images,
3 epochs of Adam (batch 8), BatchNormalization statistics from one training-mode pass; then
tinygen.compile(board="cortex-m7") calibrated on 48 training images. Checks on 4 held-out images: the host
C (M7 kernel path) == NumPy reference == the firmware under QEMU mps2-an500 == TFLM on tinygen's exported
.tflite. On 32 held-out images: mean |int8 - float| of the softmax outputs, tinygen's and TF's converter's
(same 48 calibration images, TF's interpreter without its XNNPACK delegate), and top-1 agreement with the
float model. Figures: arena, weights, flash (firmware ELF text + data) and instructions per inference
(QEMU -icount). Prints a markdown table; exits 1 when a check fails or a tool / package is missing.
"""
from __future__ import annotations

import argparse
import contextlib
import sys
import tempfile
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(ROOT / "tests" / "e2e"))
sys.path.insert(0, str(ROOT / "tests"))

from common import BenchmarkFailure, require_modules, require_tools  # noqa: E402
from keras_apps import firmware  # noqa: E402

MODELS = ["mobilenet_0.25", "mobilenet_v2_0.35", "mobilenet_v3_small", "mobilenet_v3_small_minimalistic",
          "efficientnet_0.25x0.25"]
SIZE, N_CALIB, N_CHECK = 96, 48, 4


def _bit_exact(g, out: Path, xs: np.ndarray) -> bool:
    """host C (device path) == NumPy reference == QEMU firmware == TFLM on the export, on each of xs."""
    from oracle import tflm_run
    from tinygen.compiler import lower
    from tinygen.verify.export_tflite import to_bytes
    from tinygen.verify.qemu import run_qemu
    from tinygen.verify.testing import host_model_for, run_reference

    lowered, tfl, host = lower(g), to_bytes(g), host_model_for(g, kernel_path="device")
    on_m7 = run_qemu(out, [xs])[0]
    ok = True
    for k, x in enumerate(xs):
        c = host([x[None]])[0].reshape(-1)
        for what, other in (("NumPy reference", run_reference(g, [x[None]], lowered)[0]), ("QEMU", on_m7[k]),
                            ("TFLM", tflm_run(tfl, [x[None]])[0])):
            if c.tobytes() != np.asarray(other).reshape(-1).tobytes():
                print(f"keras_apps_trained.py: sample {k}: C differs from {what}", file=sys.stderr)
                ok = False
    return ok


def measure(name: str, out: Path) -> dict:
    import tinygen
    from quant_error import compare, deq, q_in, tf_converter_outputs
    from test_keras_apps_trained import trained
    from tinygen.compiler import lower
    from tinygen.verify.testing import run_reference

    model, train_x, test_x, test_y, acc = trained(name, SIZE)
    calib = train_x[:N_CALIB]
    r = tinygen.compile(model, out, calibration=calib, board="cortex-m7", name="app")
    g = r.graph
    xs = np.stack([q_in(g, x).reshape(x.shape) for x in test_x])
    exact = _bit_exact(g, out, xs[:N_CHECK])
    lowered = lower(g)
    want = model.predict(test_x, verbose=0)
    ours = compare(want, [deq(g, run_reference(g, [x], lowered)[0]) for x in xs])
    with contextlib.redirect_stdout(sys.stderr):  # the converter prints its saved artifact's signature
        theirs = compare(want, tf_converter_outputs(model, calib, test_x))
    return dict(name=name, params=int(model.count_params()), arena=int(r.report["arena_bytes"]),
                weights=int(r.report["weights_bytes"]), macs=int(r.report["macs"]), acc=acc, ours=ours,
                theirs=theirs, exact=exact, **firmware(name, out))


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--models", help="comma-separated application names (default: all)")
    args = p.parse_args()
    require_tools("arm-none-eabi-gcc", "arm-none-eabi-size", "qemu-system-arm", "make")
    require_modules("keras", "tensorflow", "tflite_micro")
    names = args.models.split(",") if args.models else MODELS
    unknown = [n for n in names if n not in MODELS]
    if unknown:
        raise BenchmarkFailure(f"unknown model(s): {', '.join(unknown)} (expected {', '.join(MODELS)})")
    rows = []
    with tempfile.TemporaryDirectory(prefix="tinygen-apps-trained-") as tmp:
        for i, name in enumerate(names):
            rows.append(measure(name, Path(tmp) / f"m{i}"))
            print(f"keras_apps_trained.py: {name} measured", file=sys.stderr, flush=True)
    print("| model | input | params | float top-1 | arena (B) | weights (B) | flash (B) | MACs | "
          "instructions (cortex-m7) | tinygen error | TF error | ratio | top-1 agreement tinygen / TF | "
          "C == reference == QEMU == TFLM |")
    print("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|---|")
    for r in rows:
        (eo, ao), (et, at) = r["ours"], r["theirs"]
        print(f"| {r['name']} | {SIZE}x{SIZE}x3 | {r['params']:,} | {r['acc']:.2f} | {r['arena']:,} | "
              f"{r['weights']:,} | {r['flash']:,} | {r['macs']:,} | {r['insns']:,} | {eo:.5f} | {et:.5f} | "
              f"{eo / et:.3f} | {ao:.2f} / {at:.2f} | {'yes' if r['exact'] else 'NO'} |")
    print(f"\nmean ratio {np.mean([r['ours'][0] / r['theirs'][0] for r in rows]):.3f}")
    if not all(r["exact"] for r in rows):
        raise BenchmarkFailure("C differs from the reference, QEMU or TFLM (see above)")


if __name__ == "__main__":
    main()
