"""A dilated convolution folded into one conv against TF's spelling of it (three ops), cortex-m4 under QEMU.

    .venv/bin/python benchmarks/dilated.py

Keras Conv2D(16, 3, dilation_rate=2, padding="same") on 32x32x16 and DepthwiseConv2D(3, dilation_rate=2,
padding="same"), int8 through TF's converter, which writes each as SPACE_TO_BATCH_ND -> conv ->
BATCH_TO_SPACE_ND; tinygen's frontend folds each chain into one dilated conv. The "three ops" build keeps
the chains (the same convs and weights on the batched tensors, shapes made static). Prints instructions
per inference (tinygen bench --target qemu) and arena bytes for both. Checks: both builds' C equals
desktop TFLite's reference kernels on the converted file (3 inputs), and both firmware runs print the
same outputs. Fails (exit 1) when a check fails or a tool / package is missing.
"""
from __future__ import annotations

import dataclasses
import json
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from common import BenchmarkFailure, require_modules, require_tools  # noqa: E402


def unfold(graph):
    """The graph with each dilated conv spelled SPACE_TO_BATCH_ND -> conv -> BATCH_TO_SPACE_ND (SAME)."""
    from tinygen import ir
    from tinygen.ops.space_batch import SpaceBatchAttrs, space_to_batch_shape

    g = graph.copy()
    ops = []
    for op in g.ops:
        a = op.attrs
        x, y = g.tensors[op.inputs[0]], g.tensors[op.outputs[0]]
        d, p = (a.dilation_h, a.dilation_w), a.padding
        pads = ((p.top, p.bottom + (-(x.shape[1] + p.top + p.bottom)) % d[0]),
                (p.left, p.right + (-(x.shape[2] + p.left + p.right)) % d[1]))
        s_shape = space_to_batch_shape(x.shape, d, pads)
        fh, fw = g.tensors[op.inputs[1]].shape[1:3]
        c_shape = (s_shape[0], s_shape[1] - fh + 1, s_shape[2] - fw + 1, y.shape[3])
        crops = ((0, c_shape[1] * d[0] - y.shape[1]), (0, c_shape[2] * d[1] - y.shape[2]))
        s, c = g.unique_name(f"{op.name}/s2b"), g.unique_name(f"{op.name}/batched")
        g.tensors[s] = ir.Tensor(s, s_shape, x.dtype, x.quant)
        g.tensors[c] = ir.Tensor(c, c_shape, y.dtype, y.quant)
        inner = dataclasses.replace(a, dilation_h=1, dilation_w=1, padding=ir.Padding())
        ops += [ir.Op(ir.OpKind.SPACE_TO_BATCH_ND, f"{op.name}/s2b", [x.name], [s], SpaceBatchAttrs(d, pads)),
                ir.Op(op.kind, op.name, [s] + op.inputs[1:], [c], inner),
                ir.Op(ir.OpKind.BATCH_TO_SPACE_ND, f"{op.name}/b2s", [c], [y.name], SpaceBatchAttrs(d, crops))]
    g.ops = ops
    return g


def bench(out: Path) -> dict:
    res = subprocess.run([sys.executable, "-m", "tinygen.cli", "bench", "--target", "qemu", "--json", str(out)],
                         capture_output=True, text=True)
    if res.returncode:
        raise BenchmarkFailure(f"tinygen bench {out}: {res.stderr.strip()[-400:]}")
    return json.loads(res.stdout)


def main() -> None:
    require_tools("arm-none-eabi-gcc", "qemu-system-arm")
    require_modules("tensorflow", "keras")
    import keras
    import tinygen
    from tfconvert import convert
    from tinygen.compiler import load_model
    from tinygen.verify import tflite_ref
    from tinygen.verify.testing import run_c

    keras.utils.set_random_seed(0)
    shape = (32, 32, 16)
    model = keras.Sequential([keras.Input(shape), keras.layers.Conv2D(16, 3, dilation_rate=2, padding="same"),
                              keras.layers.DepthwiseConv2D(3, dilation_rate=2, padding="same")])
    data = convert(model, np.random.default_rng(1).normal(0, 1, size=(16, *shape)).astype(np.float32))
    rows, outputs = [], []
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "dilated.tflite"
        path.write_bytes(data)
        folded = load_model(str(path))
        for name, graph in (("folded (one dilated conv each)", folded), ("three ops each", unfold(folded))):
            for k in range(3):
                x = np.random.default_rng(k).integers(-128, 128, size=(1, *shape)).astype(np.int8)
                if run_c(graph, [x])[0].tobytes() != tflite_ref.run(data, [x])[0].tobytes():
                    raise BenchmarkFailure(f"{name}: C differs from desktop TFLite's reference kernels")
            out = Path(tmp) / f"b{len(rows)}"
            tinygen.compile(graph, out, board="cortex-m4", name="dilated")
            b = bench(out)
            arena = json.loads((out / "tinygen.json").read_text())["arena_bytes"]
            rows.append((name, len(graph.ops), b["instructions"], arena))
            outputs.append(b.get("outputs"))
    if outputs[0] != outputs[1]:
        raise BenchmarkFailure("the two firmware builds print different outputs")
    print("| build | ops | instructions (cortex-m4) | arena bytes |")
    print("|---|---:|---:|---:|")
    for name, n, insns, arena in rows:
        print(f"| {name} | {n} | {insns:,} | {arena:,} |")


if __name__ == "__main__":
    main()
