"""QUANTIZE uint8 -> int8 and int8 -> uint8 against TFLM's interpreter: the same scale with zero points
128 apart (TFLM's xor-0x80 shortcut, which the general path must equal), scale ratios below and above
one, and zero points that make the output saturate. One model per direction holds one QUANTIZE per
parameter set; C and NumPy reference must equal TFLM byte for byte."""
from __future__ import annotations

import numpy as np
import pytest

from single_op import build_graph, check_against_tflm, qp, random_inputs
from tinygen import ir

# (input scale, zp), (output scale, zp) for uint8 -> int8; swapped roles for int8 -> uint8
PARAMS = [((0.5, 128), (0.5, 0)), ((1 / 255, 0), (1 / 255, -128)), ((0.02, 100), (0.05, -3)),
          ((0.05, 7), (0.011, 20)), ((1.0, 0), (0.75, -128)), ((0.003, 255), (0.2, 127))]


@pytest.mark.parametrize("src,dst", [("uint8", "int8"), ("int8", "uint8")])
def test_quantize_u8_equals_tflm(src, dst, tmp_path):
    rng = np.random.default_rng(17 if src == "uint8" else 18)
    tensors, ops = [], []
    for k, ((s_in, z_in), (s_out, z_out)) in enumerate(PARAMS):
        if src == "int8":  # zero points must fit the tensor's type
            (s_in, z_in), (s_out, z_out) = (s_out, z_out), (s_in, z_in)
        tensors.append((f"x{k}", (1, 4, 5, 3), src, qp(s_in, z_in), None))
        ops.append((ir.OpKind.QUANTIZE, ir.NoAttrs(), [f"x{k}"], (f"y{k}", (1, 4, 5, 3), dst, qp(s_out, z_out))))
    graph = build_graph(tensors, ops, name=f"quantize_{src}_{dst}")
    _, lowered = check_against_tflm(graph, tmp_path, random_inputs(graph, rng, 3))
    short = {"uint8": "u8", "int8": "s8"}
    assert {lop.c_function for lop in lowered} == {f"tg_requantize_{short[src]}_{short[dst]}"}
