"""int16 activations (16x8) from tinygen's PTQ: constants, arena, instructions under QEMU (cortex-m4).

For digits, KWS and IC (float models): `tinygen.compile(..., activations="int16")`, firmware run
under QEMU mps2-an386 on 3 held-out inputs and compared with the NumPy reference, then
`tinygen bench` (QEMU -icount).

Exits 1 when a QEMU output differs from the reference or an input file is missing.

    .venv/bin/python benchmarks/int16.py [--models digits,kws,ic]
"""
from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from schemes import model_and_data  # noqa: E402


def main(argv=None) -> int:
    import tinygen
    from tinygen.verify import qemu
    from tinygen.verify.testing import run_reference

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--models", default="digits,kws,ic")
    args = ap.parse_args(argv)
    print("| model | constants (B) | arena (B) | instructions (M4) | QEMU == reference |")
    print("|---|---:|---:|---:|---|")
    ok = True
    with tempfile.TemporaryDirectory(prefix="tinygen-int16-") as tmp:
        for key in [k.strip() for k in args.models.split(",") if k.strip()]:
            path, calib, held = model_and_data(key)
            out = Path(tmp) / key
            r = tinygen.compile(path, out, calibration=calib, activations="int16", name=key)
            info = r.report["inputs"][0]
            xs = np.clip(np.round(held[:3] / info["scale"]), -32768, 32767).astype(np.int16)
            want = np.stack([run_reference(r.graph, [x[None]])[0] for x in xs])
            exact = bool(np.array_equal(qemu.run_qemu(out, [xs])[0].reshape(want.shape), want))
            ok &= exact
            b = qemu.bench(out)
            print(f"| {key} | {r.report['weights_bytes']:,} | {r.report['arena_bytes']:,} | {b['instructions']:,} "
                  f"| {'yes' if exact else 'NO'} |", flush=True)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
