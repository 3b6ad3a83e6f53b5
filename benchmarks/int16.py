"""int16 activations (16x8) from tinygen's PTQ: constants, arena, instructions under QEMU (cortex-m4),
against the same model in int8.

For digits, KWS and IC (float models): `tinygen.compile(..., activations="int16")`, firmware run
under QEMU mps2-an386 on 3 held-out inputs and compared with the NumPy reference and with TFLM's
interpreter (pip `tflite-micro`) running the model as tinygen quantized it (`tinygen export-tflite`'s
bytes), then `tinygen bench` (QEMU -icount); the same model and calibration built with int8 activations
is benched too, and its QEMU outputs compared with TFLM the same way. Goal (issue 18): int16 at most 2.0x int8's instructions; the table prints the ratio and the goal.
With --layers, each model's per-layer int16 / int8 instructions follow the table.

Exits 1 when a QEMU output differs from the reference or from TFLM, or an input file is missing.

    .venv/bin/python benchmarks/int16.py [--models digits,kws,ic]
"""
from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from schemes import model_and_data, tflm_outputs  # noqa: E402


def main(argv=None) -> int:
    import tinygen
    from tinygen.verify import qemu
    from tinygen.verify.testing import run_reference

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--models", default="digits,kws,ic")
    ap.add_argument("--layers", action="store_true", help="also print per-layer instructions, int16 vs int8")
    args = ap.parse_args(argv)
    print("| model | constants (B) | arena (B) | int16 instructions (M4) | int8 instructions (M4) | ratio "
          "| goal | QEMU == reference | QEMU == TFLM (int16 / int8) |")
    print("|---|---:|---:|---:|---:|---:|---:|---|---|")
    ok, layers = True, {}
    with tempfile.TemporaryDirectory(prefix="tinygen-int16-") as tmp:
        for key in [k.strip() for k in args.models.split(",") if k.strip()]:
            path, calib, held = model_and_data(key)
            out = Path(tmp) / key
            r = tinygen.compile(path, out, calibration=calib, activations="int16", name=key)
            info = r.report["inputs"][0]
            xs = np.clip(np.round(held[:3] / info["scale"]), -32768, 32767).astype(np.int16)
            want = np.stack([run_reference(r.graph, [x[None]])[0] for x in xs])
            got = qemu.run_qemu(out, [xs])[0].reshape(want.shape)
            exact = bool(np.array_equal(got, want))
            tflm16 = bool(np.array_equal(got, tflm_outputs(r.graph, xs).reshape(want.shape)))
            b = qemu.bench(out)
            r8 = tinygen.compile(path, Path(tmp) / f"{key}_int8", calibration=calib, name=key)
            i8 = r8.report["inputs"][0]
            x8 = np.clip(np.round(held[:3] / i8["scale"]) + i8["zero_point"], -128, 127).astype(np.int8)
            got8 = qemu.run_qemu(Path(tmp) / f"{key}_int8", [x8])[0]
            tflm8 = bool(np.array_equal(got8.reshape(-1), tflm_outputs(r8.graph, x8).reshape(-1)))
            ok &= exact and tflm16 and tflm8
            b8 = qemu.bench(Path(tmp) / f"{key}_int8")
            ratio = b["instructions"] / b8["instructions"]
            print(f"| {key} | {r.report['weights_bytes']:,} | {r.report['arena_bytes']:,} | {b['instructions']:,} "
                  f"| {b8['instructions']:,} | {ratio:.3f}x | <= 2.0x ({'met' if ratio <= 2.0 else 'not met'}) "
                  f"| {'yes' if exact else 'NO'} | {'yes' if tflm16 else 'NO'} / {'yes' if tflm8 else 'NO'} |", flush=True)
            layers[key] = (b, b8)
    for key, (b, b8) in layers.items() if args.layers else ():
        print_layers(key, b, b8)
    return 0 if ok else 1


def print_layers(key: str, b: dict, b8: dict) -> None:
    """Per-layer instructions of the int16 and int8 builds (same layer names and order)."""
    int8 = {row["name"]: row for row in b8.get("layers", [])}
    print(f"\n{key}:\n\n| layer | op | MACs | int16 | int8 | ratio |\n|---|---|---:|---:|---:|---:|")
    for row in b.get("layers", []):
        other = int8.get(row["name"], {}).get("instructions", 0)
        ratio = f"{row['instructions'] / other:.2f}x" if other else "-"
        print(f"| {row['name']} | {row['op']} | {row.get('macs', 0):,} | {row['instructions']:,} | {other:,} | {ratio} |")


if __name__ == "__main__":
    sys.exit(main())
