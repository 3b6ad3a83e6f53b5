"""Constant folding of DEQUANTIZE / QUANTIZE / SPLIT / SPLIT_V / UNPACK chains (tflite_fold_quant).

Each folded value is checked byte for byte against TFLM's interpreter running the same ops at runtime
(the chain's results are the model's outputs, so TFLM computes them and tinygen folds them).
"""
from __future__ import annotations

import numpy as np
import pytest
from test_frontend_tflite import OP, O, T, build

from oracle import tflm_run
from tinygen.errors import ModelFormatError, TinygenError
from tinygen.frontend.tflite_fold import fold_constants
from tinygen.frontend.tflite_parse import parse


def _bytes(a, dtype) -> bytes:
    return np.asarray(a, dtype=dtype).astype(np.dtype(dtype).newbyteorder("<")).tobytes()


def _folded_vs_tflm(tensors: list, ops: list, outputs: list) -> list:
    """Fold the model (a dummy float input, every output computed from constants) and run it on TFLM:
    returns the folded outputs after asserting they equal TFLM's byte for byte."""
    tensors = [T("dummy", (1,), "float32")] + tensors
    ops = [O(o.code, [i + 1 for i in o.inputs], [i + 1 for i in o.outputs], o.options) for o in ops]
    data = build(tensors, ops, [0], [i + 1 for i in outputs])
    model = parse(data, "chain")
    fold_constants(model)
    assert model.ops == [], [op.opname for op in model.ops]
    folded = [model.tensors[i + 1].data for i in outputs]
    want = tflm_run(data, [np.zeros((1,), np.float32)])
    for k, (f, w) in enumerate(zip(folded, want)):
        assert f.dtype == w.dtype and f.shape == w.shape, (k, f.dtype, w.dtype, f.shape, w.shape)
        assert f.tobytes() == w.tobytes(), (k, f, w)
    return folded


def test_dequantize_int8_and_int16_match_tflm():
    rng = np.random.default_rng(0)
    q8 = rng.integers(-128, 128, size=(3, 7)).astype(np.int8)
    q16 = rng.integers(-32768, 32768, size=(5,)).astype(np.int16)
    tensors = [T("q8", (3, 7), "int8", _bytes(q8, "int8"), (0.0123457,), (-3,)), T("f8", (3, 7), "float32"),
               T("q16", (5,), "int16", _bytes(q16, "int16"), (3.3e-5,), (0,)), T("f16", (5,), "float32")]
    f8, f16 = _folded_vs_tflm(tensors, [O(OP.DEQUANTIZE, [0], [1]), O(OP.DEQUANTIZE, [2], [3])], [1, 3])
    assert f8[0, 0] == np.float32((int(q8[0, 0]) + 3) * np.float32(0.0123457))


def test_quantize_rounds_half_away_from_zero_and_clamps_like_tflm():
    scale = 0.25
    # exact halves (x.5 * scale) both signs, values just either side, and out-of-range values both ways
    vals = np.array([0.125, -0.125, 0.375, -0.375, 0.6249999, -0.6250001, 31.9, -32.1, 40.0, -40.0, 0.0,
                     1e6, -1e6, 3.0e-8], np.float32)
    tensors = [T("f", (len(vals),), "float32", _bytes(vals, "float32")),
               T("q8", (len(vals),), "int8", None, (scale,), (5,)),
               T("q16", (len(vals),), "int16", None, (1e-3,), (0,))]
    q8, q16 = _folded_vs_tflm(tensors, [O(OP.QUANTIZE, [0], [1]), O(OP.QUANTIZE, [0], [2])], [1, 2])
    assert q8[:4].tolist() == [6, 4, 7, 3]  # 0.5 -> 1, -0.5 -> -1, 1.5 -> 2, -1.5 -> -2, plus 5
    assert q8[10] == 5 and q8[11] == 127 and q8[12] == -128 and q16[11] == 32767


def test_dequantize_split_quantize_chain_matches_tflm():
    """The GRU case: DEQUANTIZE(const int8) -> float SPLIT -> QUANTIZE of each part."""
    rng = np.random.default_rng(1)
    w = rng.integers(-127, 128, size=(6, 4)).astype(np.int8)
    tensors = [T("w", (6, 4), "int8", _bytes(w, "int8"), (0.0071,), (0,)), T("wf", (6, 4), "float32"),
               T("axis", (), "int32", _bytes(0, "int32")), T("p0", (3, 4), "float32"), T("p1", (3, 4), "float32"),
               T("q0", (3, 4), "int8", None, (0.0093,), (0,)), T("q1", (3, 4), "int8", None, (0.0051,), (2,))]
    ops = [O(OP.DEQUANTIZE, [0], [1]), O(OP.SPLIT, [2, 1], [3, 4], ("SplitOptions", {"NumSplits": 2})),
           O(OP.QUANTIZE, [3], [5]), O(OP.QUANTIZE, [4], [6])]
    q0, q1 = _folded_vs_tflm(tensors, ops, [5, 6])
    assert not np.array_equal(q0, w[:3])  # the rescale changed the values: the test sees the arithmetic


def test_split_v_and_unpack_of_constants_match_tflm():
    x = np.arange(24, dtype=np.float32).reshape(2, 3, 4) * np.float32(0.37) - np.float32(3.1)
    tensors = [T("x", (2, 3, 4), "float32", _bytes(x, "float32")), T("sizes", (3,), "int32", _bytes([1, -1, 2], "int32")),
               T("axis", (1,), "int32", _bytes([-1], "int32")), T("a", (2, 3, 1), "float32"),
               T("b", (2, 3, 1), "float32"), T("c", (2, 3, 2), "float32"),
               T("u0", (2, 4), "float32"), T("u1", (2, 4), "float32"), T("u2", (2, 4), "float32")]
    ops = [O(OP.SPLIT_V, [0, 1, 2], [3, 4, 5], ("SplitVOptions", {"NumSplits": 3})),
           O(OP.UNPACK, [0], [6, 7, 8], ("UnpackOptions", {"Num": 3, "Axis": 1}))]
    a, b, c, u0, _, _ = _folded_vs_tflm(tensors, ops, [3, 4, 5, 6, 7, 8])
    assert np.array_equal(c[..., 1], x[..., 3]) and np.array_equal(u0, x[:, 0])


def test_split_of_int8_constants_keeps_quantization_and_float_add_relu6_matches_tflm():
    x = np.arange(-8, 8, dtype=np.int8).reshape(4, 4)
    y = np.linspace(-9, 9, 8, dtype=np.float32)
    tensors = [T("x", (4, 4), "int8", _bytes(x, "int8"), (0.5,), (1,)), T("axis", (), "int32", _bytes(1, "int32")),
               T("x0", (4, 2), "int8", None, (0.5,), (1,)), T("x1", (4, 2), "int8", None, (0.5,), (1,)),
               T("y", (8,), "float32", _bytes(y, "float32")), T("s", (8,), "float32")]
    ops = [O(OP.SPLIT, [1, 0], [2, 3], ("SplitOptions", {"NumSplits": 2})),
           O(OP.ADD, [4, 4], [5], ("AddOptions", {"FusedActivationFunction": 3}))]
    x0, _, s = _folded_vs_tflm(tensors, ops, [2, 3, 5])
    assert np.array_equal(x0, x[:, :2]) and s.min() == 0 and s.max() == 6


def test_per_channel_dequantize_and_quantize():
    """Per-axis: each channel's scale and zero point along the quantized dimension."""
    q = np.array([[-128, 0, 127], [5, -5, 1]], np.int8)
    scales, zps = (0.5, 0.03, 1.7), (0, 3, -2)
    tensors = [T("q", (2, 3), "int8", _bytes(q, "int8"), scales, zps, axis=1), T("f", (2, 3), "float32"),
               T("r", (2, 3), "int8", None, scales, zps, axis=1)]
    data = build(tensors, [O(OP.DEQUANTIZE, [0], [1]), O(OP.QUANTIZE, [1], [2])], [], [2])
    model = parse(data, "chain")
    fold_constants(model)
    assert model.ops == []
    want = ((q.astype(np.int64) - np.array(zps)).astype(np.float32) * np.float32(scales)).astype(np.float32)
    assert model.tensors[1].data.tobytes() == want.tobytes()
    assert np.array_equal(model.tensors[2].data, q)  # a round trip through the same parameters is exact


def test_bad_constant_chains_are_named():
    tensors = [T("x", (5, 2), "float32", _bytes(np.zeros((5, 2)), "float32")), T("axis", (), "int32", _bytes(0, "int32")),
               T("a", (2, 2), "float32"), T("b", (2, 2), "float32")]
    ops = [O(OP.SPLIT, [1, 0], [2, 3], ("SplitOptions", {"NumSplits": 2}))]
    with pytest.raises(ModelFormatError, match=r"operator 0 \(SPLIT\) output 'a': axis 0 of size 5 does not split"):
        fold_constants(parse(build(tensors, ops, [], [2, 3]), "bad"))
    tensors = [T("f", (2,), "float32", _bytes([np.nan, 1.0], "float32")), T("q", (2,), "int8", None, (0.1,), (0,))]
    with pytest.raises(ModelFormatError, match=r"\(QUANTIZE\) output 'q': quantizes a NaN constant"):
        fold_constants(parse(build(tensors, [O(OP.QUANTIZE, [0], [1])], [], [1]), "bad"))
    tensors[0] = T("f", (2,), "float32", _bytes([1.0, -1e30], "float32"))
    with pytest.raises(ModelFormatError, match=r"quantizing -1e\+30 leaves the int32 range"):
        fold_constants(parse(build(tensors, [O(OP.QUANTIZE, [0], [1])], [], [1]), "bad"))


def test_float_op_on_a_non_constant_tensor_is_still_refused(tmp_path):
    """DEQUANTIZE of the model input -> float SPLIT -> QUANTIZE to another scale: nothing to fold, not an
    exact island either (the rescale is arithmetic), and tinygen refuses it in one line."""
    import tinygen

    tensors = [T("x", (4, 2), "int8", None, (0.1,), (0,)), T("xf", (4, 2), "float32"),
               T("axis", (), "int32", _bytes(0, "int32")), T("a", (2, 2), "float32"), T("b", (2, 2), "float32"),
               T("qa", (2, 2), "int8", None, (0.1,), (0,)), T("qb", (2, 2), "int8", None, (0.2,), (0,))]
    ops = [O(OP.DEQUANTIZE, [0], [1]), O(OP.SPLIT, [2, 1], [3, 4], ("SplitOptions", {"NumSplits": 2})),
           O(OP.QUANTIZE, [3], [5]), O(OP.QUANTIZE, [4], [6])]
    path = tmp_path / "island.tflite"
    path.write_bytes(build(tensors, ops, [0], [5, 6]))
    model = parse(path.read_bytes(), str(path))
    fold_constants(model)
    assert [op.opname for op in model.ops] == ["DEQUANTIZE", "SPLIT", "QUANTIZE", "QUANTIZE"]
    with pytest.raises(TinygenError) as err:
        tinygen.compile(str(path), tmp_path / "out", board="cortex-m4")
    msg = str(err.value)
    assert "\n" not in msg and "layer" in msg and "float32" in msg, msg
    assert not (tmp_path / "out").exists() or not any((tmp_path / "out").iterdir())


def test_folded_chain_feeding_int8_fully_connected_builds_bit_exact_with_tflm(tmp_path):
    """End to end: the GRU's float island (DEQUANTIZE(const) -> SPLIT -> QUANTIZE) feeds two int8
    FULLY_CONNECTED ops; tinygen's C build (host run) equals TFLM byte for byte."""
    import tinygen

    rng = np.random.default_rng(7)
    w = rng.integers(-127, 128, size=(6, 8)).astype(np.int8)
    bias = rng.integers(-300, 300, size=(3,)).astype(np.int32)
    x_scale, w_scales = 0.05, (0.0093, 0.0061)
    tensors = [T("x", (1, 8), "int8", None, (x_scale,), (-3,)),
               T("w", (6, 8), "int8", _bytes(w, "int8"), (0.0071,), (0,)), T("wf", (6, 8), "float32"),
               T("axis", (), "int32", _bytes(0, "int32")), T("p0", (3, 8), "float32"), T("p1", (3, 8), "float32"),
               T("q0", (3, 8), "int8", None, (w_scales[0],), (0,)), T("q1", (3, 8), "int8", None, (w_scales[1],), (0,)),
               T("b0", (3,), "int32", _bytes(bias, "int32"), (x_scale * w_scales[0],), (0,)),
               T("b1", (3,), "int32", _bytes(bias[::-1], "int32"), (x_scale * w_scales[1],), (0,)),
               T("y0", (1, 3), "int8", None, (0.02,), (2,)), T("y1", (1, 3), "int8", None, (0.03,), (-5,))]
    fc = ("FullyConnectedOptions", {"FusedActivationFunction": 0})
    ops = [O(OP.DEQUANTIZE, [1], [2]), O(OP.SPLIT, [3, 2], [4, 5], ("SplitOptions", {"NumSplits": 2})),
           O(OP.QUANTIZE, [4], [6]), O(OP.QUANTIZE, [5], [7]),
           O(OP.FULLY_CONNECTED, [0, 6, 8], [10], fc), O(OP.FULLY_CONNECTED, [0, 7, 9], [11], fc)]
    path = tmp_path / "island.tflite"
    path.write_bytes(build(tensors, ops, [0], [10, 11]))
    out = tmp_path / "build"
    tinygen.compile(str(path), out, board="cortex-m4", name="island")
    xs = [rng.integers(-128, 128, size=(1, 8)).astype(np.int8) for _ in range(4)]
    ours = tinygen.run(out, [np.concatenate(xs)])
    for k, x in enumerate(xs):
        want = tflm_run(path.read_bytes(), [x])
        for j in range(2):
            got = np.asarray(ours[j][k]).astype(np.int8).reshape(-1)
            assert got.tobytes() == want[j].reshape(-1).tobytes(), (k, j, got, want[j])
    # the outputs are not all clamped: the comparison sees the folded weights
    assert len({tuple(np.asarray(ours[0][k]).reshape(-1)) for k in range(4)}) > 1
