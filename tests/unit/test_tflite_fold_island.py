"""Float islands that carry integers unchanged (DEQUANTIZE -> float moves -> QUANTIZE, same parameters)
become the same moves on the integers at import (tflite_fold_island); checked against TFLM."""
from __future__ import annotations

import numpy as np
from test_frontend_tflite import OP, O, T, build
from test_tflite_fold_quant import _bytes

from oracle import tflm_run
from tinygen.frontend.tflite_fold import fold_constants
from tinygen.frontend.tflite_parse import parse


def test_dequantize_then_quantize_with_the_same_parameters_is_the_identity_in_tflm():
    """The rewrite's premise, on TFLM itself: every int8 / int16 value survives the float round trip."""
    rng = np.random.default_rng(11)
    scales = [1e-6, 3.0517578125e-05, 0.0039215689, 0.1, 0.33333334, 1.0, 7.3, 1234.5] + \
        list(np.exp(rng.uniform(np.log(1e-5), np.log(100.0), 12)).astype(np.float32))
    for k, scale in enumerate(scales):
        dtype, zp = ("int8", int(rng.integers(-128, 128))) if k % 2 == 0 else ("int16", 0)
        info = np.iinfo(dtype)
        x = np.arange(info.min, info.max + 1, dtype=dtype) if dtype == "int8" else \
            np.concatenate([np.arange(-100, 100), rng.integers(info.min, info.max + 1, 150),
                            [info.min, info.max]]).astype(dtype)
        tensors = [T("x", x.shape, dtype, None, (float(scale),), (zp,)), T("f", x.shape, "float32"),
                   T("y", x.shape, dtype, None, (float(scale),), (zp,))]
        data = build(tensors, [O(OP.DEQUANTIZE, [0], [1]), O(OP.QUANTIZE, [1], [2])], [0], [2])
        assert tflm_run(data, [x])[0].tobytes() == x.tobytes(), (dtype, scale, zp)


def _island(scale_b: float):
    """x int8 (1, 8) -> DEQUANTIZE -> SPLIT (2) -> RESHAPE / QUANTIZE -> two int8 FULLY_CONNECTED."""
    rng = np.random.default_rng(5)
    w0, w1 = (rng.integers(-127, 128, size=(3, 4)).astype(np.int8) for _ in range(2))
    xq = (0.05, -3)
    tensors = [T("x", (1, 8), "int8", None, (xq[0],), (xq[1],)), T("xf", (1, 8), "float32"),
               T("axis", (), "int32", _bytes(1, "int32")), T("a", (1, 4), "float32"), T("b", (1, 4), "float32"),
               T("shape", (2,), "int32", _bytes([1, 4], "int32")), T("a2", (1, 4), "float32"),
               T("qa", (1, 4), "int8", None, (xq[0],), (xq[1],)), T("qb", (1, 4), "int8", None, (scale_b,), (xq[1],)),
               T("w0", (3, 4), "int8", _bytes(w0, "int8"), (0.011,), (0,)),
               T("w1", (3, 4), "int8", _bytes(w1, "int8"), (0.007,), (0,)),
               T("y0", (1, 3), "int8", None, (0.03,), (1,)), T("y1", (1, 3), "int8", None, (0.02,), (-2,))]
    fc = ("FullyConnectedOptions", {"FusedActivationFunction": 0})
    ops = [O(OP.DEQUANTIZE, [0], [1]), O(OP.SPLIT, [2, 1], [3, 4], ("SplitOptions", {"NumSplits": 2})),
           O(OP.RESHAPE, [3, 5], [6]), O(OP.QUANTIZE, [6], [7]), O(OP.QUANTIZE, [4], [8]),
           O(OP.FULLY_CONNECTED, [7, 9, -1], [11], fc), O(OP.FULLY_CONNECTED, [8, 10, -1], [12], fc)]
    return build(tensors, ops, [0], [11, 12])


def test_exact_island_becomes_integer_moves():
    model = parse(_island(0.05), "island")
    fold_constants(model)
    assert [op.opname for op in model.ops] == ["SPLIT", "RESHAPE", "FULLY_CONNECTED", "FULLY_CONNECTED"]
    assert all(model.tensors[i].dtype == "int8" for op in model.ops for i in op.inputs + op.outputs
               if i >= 0 and model.tensors[i].data is None)
    assert model.ops[0].inputs[1] == 0  # the SPLIT reads the model input itself
    # another scale on one QUANTIZE: arithmetic, not a move; the island stays for the converter to refuse
    model = parse(_island(0.1), "island")
    fold_constants(model)
    assert [op.opname for op in model.ops][:5] == ["DEQUANTIZE", "SPLIT", "RESHAPE", "QUANTIZE", "QUANTIZE"]


def test_exact_island_builds_bit_exact_with_tflm(tmp_path):
    import tinygen

    data = _island(0.05)
    path = tmp_path / "island.tflite"
    path.write_bytes(data)
    tinygen.compile(str(path), tmp_path / "build", board="cortex-m4", name="island")
    rng = np.random.default_rng(9)
    xs = [rng.integers(-128, 128, size=(1, 8)).astype(np.int8) for _ in range(6)]
    ours = tinygen.run(tmp_path / "build", [np.concatenate(xs)])
    for k, x in enumerate(xs):
        want = tflm_run(data, [x])
        for j in range(2):
            got = np.asarray(ours[j][k]).astype(np.int8).reshape(-1)
            assert got.tobytes() == want[j].reshape(-1).tobytes(), (k, j, got, want[j])
    assert len({tuple(np.asarray(ours[1][k]).reshape(-1)) for k in range(6)}) > 1
