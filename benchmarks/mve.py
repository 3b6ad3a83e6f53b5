"""Helium (MVE) kernels vs tinygen's own DSP (SMLAD) path on the same core: instructions per inference of
KWS, VWW, IC and AD on cortex-m55 under QEMU mps3-an547 (-icount), each build's outputs checked against
TFLM on random inputs. Goal (issue 18, 5b): MVE <= 0.4x the DSP path.
Exits 1 when any output differs from TFLM's, or when a model, tool or tflite-micro is missing.

Run: .venv/bin/python benchmarks/mve.py [--models kws,vww,ic,ad]
"""
from __future__ import annotations

import argparse
import contextlib
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import BenchmarkFailure, model_path, qemu_matches_tflm, require_modules, require_tools  # noqa: E402

BOARD = "cortex-m55"
FALLBACK_BOARD = "cortex-m4"
GOAL = 0.4


def measure(key: str, out: Path, use_mve: bool, board: str = BOARD) -> tuple:
    """(instructions per inference, MVE layers, outputs equal TFLM's) of one build."""
    import tinygen
    from tinygen.lower import mve
    from tinygen.verify.qemu import bench

    # the fit check is left to the MVE build: the DSP build's estimate may be over the board's flash
    with contextlib.nullcontext() if use_mve else mve.disabled():
        r = tinygen.compile(str(model_path(key)), out, board=board, name=key, check_fit=use_mve, force=True)
    layers = sum("_mve" in layer["kernel"] for layer in r.report["layers"])
    return bench(out)["instructions"], layers, qemu_matches_tflm(out, model_path(key))


def measure_dsp(key: str, out: Path) -> tuple:
    """measure() of the DSP path: (instructions, outputs equal TFLM's, note). A firmware that does not link
    in the M55 board's 512 KB flash (VWW: the DSP kernels pre-extend weights to int16) runs the same C
    kernels on the cortex-m4 board (QEMU mps2-an386, 4 MB), and the row says so."""
    from tinygen.errors import BuildError

    try:
        insns, _, ok = measure(key, out, use_mve=False)
        return insns, ok, ""
    except BuildError as e:
        if "overflowed" not in str(e):
            raise
    insns, _, ok = measure(key, out, use_mve=False, board=FALLBACK_BOARD)
    return insns, ok, f" (on {FALLBACK_BOARD}: the int16 weights overflow the M55's flash)"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--models", default="kws,vww,ic,ad")
    args = ap.parse_args()
    keys = [k.strip() for k in args.models.split(",") if k.strip()]
    require_tools("make", "arm-none-eabi-gcc", "qemu-system-arm")
    require_modules("tflite_micro.python.tflite_micro.runtime")
    print(f"| model | DSP path ({BOARD}) | MVE path ({BOARD}) | MVE layers | ratio | goal | "
          "bit-exact vs TFLM (DSP / MVE) |")
    print("|---|---:|---:|---:|---:|---:|---|")
    failed, over = [], []
    with tempfile.TemporaryDirectory() as tmp:
        for key in keys:
            dsp, dsp_ok, note = measure_dsp(key, Path(tmp) / f"{key}_dsp")
            fast, layers, mve_ok = measure(key, Path(tmp) / f"{key}_mve", use_mve=True)
            ratio = fast / dsp
            failed += [key] if not (dsp_ok and mve_ok) else []
            over += [key] if ratio > GOAL else []
            print(f"| {key} | {dsp:,}{note} | {fast:,} | {layers} | {ratio:.3f}x | {GOAL}x | "
                  f"{'yes' if dsp_ok else 'NO'} / {'yes' if mve_ok else 'NO'} |", flush=True)
    if over:
        print(f"over the {GOAL}x goal: {', '.join(over)}")
    if failed:
        raise BenchmarkFailure("QEMU outputs differ from TFLM's for " + ", ".join(failed))
    return 0


if __name__ == "__main__":
    sys.exit(main())
