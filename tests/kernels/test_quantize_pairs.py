"""QUANTIZE between integer types against TFLM's interpreter, every integer pair TFLM runs: int8 -> int16,
int16 -> int8, int16 -> int16, int32 -> int16 (kernels of lower/int16_unary.py), int8 -> int32,
int16 -> int32, int32 -> int8 (lower/quantize_pairs.py), int8 -> int8. One model per pair holds one
QUANTIZE per parameter set: scale ratios below and above one (up to ratios that make int32 results wrap),
zero points of both signs where the type allows (int16: 0). Inputs: the whole int8 domain, a dense int16
sweep with the extremes, and int32 values across the range with the extremes; C and NumPy reference must
equal TFLM byte for byte. Pairs TFLM refuses (uint8 <-> int16, int32 -> int32) are refused here too.
"""
from __future__ import annotations

import numpy as np
import pytest

from single_op import build_graph, check_against_tflm, qp, tflm
from tinygen import ir
from tinygen.compiler import lower
from tinygen.errors import UnsupportedError
from tinygen.verify.export_tflite import to_bytes

# (input scale, output scale) per pair; zero points below
RATIOS = [(0.05, 0.05), (0.02, 0.05), (0.05, 0.011), (1.0, 1 / 4096), (1e-4, 0.3), (0.5, 1e-9)]
ZPS = {"int8": [0, 3, -128, 127, -20, 5], "int16": [0] * 6, "int32": [0, 7, -1000, 0, 123456, -3]}
PAIRS = [("int8", "int16"), ("int16", "int8"), ("int16", "int16"), ("int32", "int16"), ("int8", "int32"),
         ("int16", "int32"), ("int32", "int8"), ("int8", "int8")]
FN = {("int8", "int32"): "tg_requantize_s8_s32", ("int16", "int32"): "tg_requantize_s16_s32",
      ("int32", "int8"): "tg_requantize_s32_s8", ("int8", "int16"): "tg_requantize_s8_s16",
      ("int16", "int8"): "tg_requantize_s16_s8", ("int16", "int16"): "tg_requantize_s16_s16",
      ("int32", "int16"): "tg_requantize_s32_s16", ("int8", "int8"): "tg_requantize_s8_s8"}


def _domain(dtype: str, rng) -> np.ndarray:
    info = np.iinfo(dtype)
    if dtype == "int8":
        return np.arange(-128, 128).astype(dtype)
    if dtype == "int16":
        return np.concatenate([np.arange(-32768, 32768, 97), [-32768, -1, 0, 1, 32767]]).astype(dtype)
    ends = [info.min, info.min + 1, -1, 0, 1, info.max - 1, info.max]
    return np.concatenate([rng.integers(info.min, info.max, size=600, endpoint=True),
                           rng.integers(-70000, 70000, size=300), ends]).astype(dtype)


@pytest.mark.parametrize("src,dst", PAIRS, ids=[f"{a}-{b}" for a, b in PAIRS])
def test_quantize_pair_equals_tflm(src, dst, tmp_path):
    rng = np.random.default_rng(PAIRS.index((src, dst)))
    x = _domain(src, rng)
    tensors, ops = [], []
    for k, (s_in, s_out) in enumerate(RATIOS):
        if (s_in / s_out) >= 2.0 ** 31:
            continue
        tensors.append((f"x{k}", x.shape, src, qp(s_in, ZPS[src][k]), None))
        ops.append((ir.OpKind.QUANTIZE, ir.NoAttrs(), [f"x{k}"], (f"y{k}", x.shape, dst, qp(s_out, ZPS[dst][k]))))
    graph = build_graph(tensors, ops, name=f"quantize_{src}_{dst}")
    xs = [x] * len(ops)
    _, lowered = check_against_tflm(graph, tmp_path, [xs, [v[::-1].copy() for v in xs]])
    assert {lop.c_function for lop in lowered} == {FN[(src, dst)]}


@pytest.mark.parametrize("src,dst", [("uint8", "int16"), ("int16", "uint8"), ("int32", "int32")])
def test_pairs_tflm_refuses_are_refused(src, dst):
    q = qp(0.05)
    graph = build_graph([("x", (4,), src, q, None)], [(ir.OpKind.QUANTIZE, ir.NoAttrs(), ["x"], ("y", (4,), dst, q))])
    interp = tflm(to_bytes(graph))
    interp.set_input(np.zeros(4, src), 0)
    with pytest.raises(Exception):
        interp.invoke()
    with pytest.raises(UnsupportedError, match=rf"layer 'op0': op QUANTIZE with input types \({src}\)"):
        lower(graph)
