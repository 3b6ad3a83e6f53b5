"""int8 BATCH_MATMUL on the cortex-m4 board under QEMU: instructions per MAC of an attention-sized product.

    .venv/bin/python benchmarks/matmul.py

One single-operator model per form of a 1x16x32 @ 32x16 product (8192 MACs; then 1x64x64 @ 64x64, 262144 MACs,
where the per-output requantization weighs less): the right operand an activation
stored [k][c] (the kernel transposes it into scratch), an activation stored [c][k] (adj_y), and a constant
(stored transposed by the lowering). Each is built for cortex-m4 and run with `tinygen bench --target qemu`;
prints instructions per inference, per BATCH_MATMUL layer and per MAC. Checks: `tinygen verify` on each build
(its C against TFLM on 20 random inputs). Fails (exit 1) when a check fails or a tool is missing.
"""
from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "kernels"))

from common import BenchmarkFailure, require_tools  # noqa: E402

SIZES = ((16, 32, 16), (64, 64, 64))


def model(form: str, A: int = 16, K: int = 32, C: int = 16) -> bytes:
    from layout_models import one_op
    from tinygen import ir

    q = ir.QuantParams.make
    adj_y = form == "activation, adj_y"
    rhs = (1, C, K) if adj_y else (1, K, C)
    data = np.random.default_rng(0).integers(-128, 128, size=rhs).astype(np.int8) if form == "constant" else None
    return one_op("BATCH_MATMUL", [("x", (1, A, K), "int8", q(0.05, -3), None), ("w", rhs, "int8", q(0.02, 5), data)],
                  [("y", (1, A, C), "int8", q(0.3, 7), None)], "BatchMatMulOptions", (("AdjX", False), ("AdjY", adj_y)))


def run(args: list) -> str:
    res = subprocess.run([sys.executable, "-m", "tinygen.cli"] + args, capture_output=True, text=True)
    if res.returncode != 0:
        raise BenchmarkFailure(f"tinygen {' '.join(args[:2])}: {res.stderr.strip()[-400:]}")
    return res.stdout


def main() -> None:
    require_tools("qemu-system-arm", "arm-none-eabi-gcc")
    print("BATCH_MATMUL int8 on cortex-m4 (mps2-an386), QEMU -icount")
    print(f"{'size':18} {'right operand':22} {'inference':>10} {'layer':>10} {'insn/MAC':>9} {'scratch':>8}")
    with tempfile.TemporaryDirectory() as tmp:
        for A, K, C in SIZES:
            for form in ("activation", "activation, adj_y", "constant"):
                path = Path(tmp) / f"{form.replace(', ', '_')}_{A}_{K}_{C}.tflite"
                path.write_bytes(model(form, A, K, C))
                out = Path(tmp) / (path.stem + "_out")
                run(["build", str(path), "--board", "cortex-m4", "-o", str(out)])
                run(["verify", str(out)])
                result = json.loads(run(["bench", "--target", "qemu", "--json", str(out)]))
                layer = next(lay for lay in result["layers"] if lay["op"] == "BATCH_MATMUL")
                report = json.loads((out / "report.json").read_text())
                scratch = sum(int(lay.get("scratch_bytes", 0)) for lay in report["layers"])
                size = f"1x{A}x{K} @ {K}x{C}"
                print(f"{size:18} {form:22} {result['instructions']:>10,} {layer['instructions']:>10,} "
                      f"{layer['instructions'] / (A * K * C):>9.3f} {scratch:>8}")

if __name__ == "__main__":
    main()
