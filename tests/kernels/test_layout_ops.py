"""Layout ops (slices, splits, unpack, ...) as single-operator .tflite models written with tinygen's
flatbuffer writer (raw TFLite operands and options, every mask form), int8 and int16: the generated C and
the NumPy reference must equal TFLM's interpreter byte for byte, on random inputs and on the extremes."""
from __future__ import annotations

import zlib

import numpy as np
import pytest

from layout_models import one_op, ops_model, qparams
from oracle import tflm_run
from tinygen.compiler import load_model, lower
from tinygen.verify.testing import host_model_for, run_reference

DTYPES = ("int8", "int16")


def _samples(graph, rng) -> list:
    """Two random samples over each input's full range, then all-min and all-max."""
    out = []
    for mode in ("rand", "rand", "min", "max"):
        xs = []
        for name in graph.inputs:
            t = graph.tensors[name]
            info = np.iinfo(np.dtype(t.dtype))
            if mode == "rand":
                xs.append(rng.integers(info.min, info.max, size=t.shape, endpoint=True).astype(t.dtype))
            else:
                xs.append(np.full(t.shape, info.min if mode == "min" else info.max, t.dtype))
        out.append(xs)
    return out


def check_against_tflm(data: bytes, tmp_path, name: str = "m") -> list:
    """Build `data` with tinygen; C and reference equal TFLM on every output; returns the lowered ops."""
    path = tmp_path / f"{name}.tflite"
    path.write_bytes(data)
    graph = load_model(str(path))
    lowered = lower(graph)
    model = host_model_for(graph)
    rng = np.random.default_rng(zlib.crc32(data))
    for k, xs in enumerate(_samples(graph, rng)):
        want = tflm_run(data, xs)
        got_c = model(xs)
        got_ref = run_reference(graph, xs, lowered)
        for j, w in enumerate(want):
            c = np.asarray(got_c[j]).reshape(w.shape)
            r = np.asarray(got_ref[j]).reshape(w.shape)
            assert c.dtype == w.dtype and c.tobytes() == w.tobytes(), f"sample {k} output {j}: C != TFLM"
            assert r.dtype == w.dtype and r.tobytes() == w.tobytes(), f"sample {k} output {j}: reference != TFLM"
    return lowered


# ---- STRIDED_SLICE ------------------------------------------------------------------------------

_MASKS = ("BeginMask", "EndMask", "EllipsisMask", "NewAxisMask", "ShrinkAxisMask", "Offset")
# (input shape, begin, end, strides, (begin, end, ellipsis, new_axis, shrink, offset) masks, output shape)
SLICES = [
    ((10,), [2], [9], [3], (0, 0, 0, 0, 0, 0), (3,)),
    ((10,), [-2], [-11], [-3], (0, 0, 0, 0, 0, 0), (3,)),
    ((4, 5), [1, 1], [3, 4], [1, 1], (0, 0, 0, 0, 0, 0), (2, 3)),
    ((4, 5), [-1, 4], [-5, -6], [-1, -2], (0, 0, 0, 0, 0, 0), (4, 3)),
    ((4, 5), [3, 0], [0, 0], [-1, 1], (0, 2, 0, 0, 0, 0), (3, 5)),
    ((4, 5), [3, 0], [0, 0], [-1, 1], (1, 3, 0, 0, 0, 0), (4, 5)),
    ((4, 5), [-1, 0], [0, 0], [1, 1], (0, 2, 0, 0, 1, 0), (5,)),
    ((4, 5), [2, 3], [0, 0], [1, 1], (0, 0, 0, 0, 3, 0), ()),
    ((3, 4, 5), [0, 1, 0], [3, 4, 5], [2, 2, 2], (0, 0, 0, 0, 0, 0), (2, 2, 3)),
    ((3, 4, 5), [0, 0, 0], [0, 0, 0], [1, -1, 1], (7, 7, 0, 0, 0, 0), (3, 4, 5)),
    ((1, 1, 1, 72), [0, 0, 0, 0], [0, 0, 1, 0], [1, 1, 1, 1], (11, 11, 0, 0, 4, 0), (1, 1, 72)),
    ((2, 6, 7, 9), [1, -5, 100, 2], [2, 6, -100, 9], [1, 2, -3, 3], (0, 0, 0, 0, 1, 0), (3, 3, 3)),
    ((2, 6, 7, 9), [0, 1, 1, 0], [2, 5, 6, 9], [1, 1, 1, 1], (0, 0, 0, 0, 0, 0), (2, 4, 5, 9)),
    ((2, 6, 7, 9), [1, 2, 0, 0], [2, 3, 7, 9], [1, 1, 1, 1], (0, 0, 0, 0, 0, 0), (1, 1, 7, 9)),
    ((2, 6, 7, 9), [0, 0, 0, 8], [2, 6, 7, 9], [1, 1, 1, 1], (0, 0, 0, 0, 8, 0), (2, 6, 7)),
    # TFLM ignores the ellipsis and new-axis masks and the offset flag: so does tinygen
    ((4, 5), [1, 1], [3, 4], [1, 1], (0, 0, 1, 0, 0, 0), (2, 3)),
    ((4, 5), [1, 1], [3, 4], [1, 1], (0, 0, 0, 2, 0, 0), (2, 3)),
    ((4, 5), [1, 1], [2, 3], [1, 1], (0, 0, 0, 0, 0, 1), (1, 2)),
]


def strided_slice_model(shape, begin, end, strides, masks, out_shape, dtype, rng) -> bytes:
    q = qparams(dtype, rng)
    r = len(begin)
    return one_op("STRIDED_SLICE", [("x", shape, dtype, q, None), ("begin", (r,), "int32", None, begin),
                                    ("end", (r,), "int32", None, end), ("strides", (r,), "int32", None, strides)],
                  [("y", out_shape, dtype, q, None)], "StridedSliceOptions", tuple(zip(_MASKS, masks)))


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("case", range(len(SLICES)))
def test_strided_slice_equals_tflm(case, dtype, tmp_path):
    rng = np.random.default_rng(case)
    lowered = check_against_tflm(strided_slice_model(*SLICES[case], dtype, rng), tmp_path)
    assert [lop.c_function for lop in lowered] == [f"tg_copy_strided_s{8 if dtype == 'int8' else 16}"]


# ---- SLICE, SPLIT, SPLIT_V, UNPACK: one strided copy per output ------------------------------------

# (input shape, begin, size, index dtype)
SLICE_V1 = [
    ((4, 5), [1, 1], [2, -1], "int32"),
    ((2, 3, 4, 5), [0, 1, 2, 3], [-1, 2, 2, 2], "int32"),
    ((2, 3, 4, 5), [1, 0, 0, 0], [1, 3, 4, 5], "int64"),
    ((2, 2, 2, 2, 3), [1, 0, 1, 0, 1], [1, 2, 1, 2, 2], "int32"),
    ((7,), [6], [1], "int64"),
]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("case", range(len(SLICE_V1)))
def test_slice_equals_tflm(case, dtype, tmp_path):
    shape, begin, size, idx = SLICE_V1[case]
    rng = np.random.default_rng(100 + case)
    q = qparams(dtype, rng)
    out = tuple(n - b if s == -1 else s for n, b, s in zip(shape, begin, size))
    r = len(shape)
    data = one_op("SLICE", [("x", shape, dtype, q, None), ("begin", (r,), idx, None, begin),
                            ("size", (r,), idx, None, size)], [("y", out, dtype, q, None)], "SliceOptions")
    check_against_tflm(data, tmp_path)


def _pieces(shape, axis, sizes, dtype, q, drop=False) -> list:
    outs = []
    for k, n in enumerate(sizes):
        s = list(shape)
        if drop:
            del s[axis]
        else:
            s[axis] = n
        outs.append((f"y{k}", tuple(s), dtype, q, None))
    return outs


# (input shape, axis, number of pieces)
SPLITS = [((8,), 0, 4), ((2, 6, 4), 1, 3), ((2, 6, 4), -1, 2), ((1, 2, 3, 4), 0, 1), ((2, 3, 4, 6), 3, 3),
          ((1, 288), 1, 4), ((2, 1, 2, 3, 4), 4, 2), ((2, 1, 2, 1, 3, 4), 5, 2), ((3, 1, 2, 1, 2, 2), 0, 3)]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("case", range(len(SPLITS)))
def test_split_equals_tflm(case, dtype, tmp_path):
    shape, axis, n = SPLITS[case]
    q = qparams(dtype, np.random.default_rng(200 + case))
    outs = _pieces(shape, axis % len(shape), [shape[axis] // n] * n, dtype, q)
    data = one_op("SPLIT", [("axis", (), "int32", None, axis), ("x", shape, dtype, q, None)], outs,
                  "SplitOptions", (("NumSplits", n),))
    lowered = check_against_tflm(data, tmp_path)
    assert len(lowered) == n


# (input shape, size_splits, axis)
SPLITS_V = [((4, 10), [3, -1, 2], 1), ((6, 5), [1, 5], 0), ((6, 5), [2, 2, 2], -2), ((3, 2, 7), [7], 2),
            ((2, 3, 9, 2), [4, 1, -1], 2), ((2, 1, 3, 1, 2, 5), [2, 3], -1)]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("case", range(len(SPLITS_V)))
def test_split_v_equals_tflm(case, dtype, tmp_path):
    shape, sizes, axis = SPLITS_V[case]
    q = qparams(dtype, np.random.default_rng(300 + case))
    a = axis % len(shape)
    real = [shape[a] - (sum(sizes) + 1) if v == -1 else v for v in sizes]
    data = one_op("SPLIT_V", [("x", shape, dtype, q, None), ("sizes", (len(sizes),), "int32", None, sizes),
                              ("axis", (), "int32", None, axis)], _pieces(shape, a, real, dtype, q),
                  "SplitVOptions", (("NumSplits", len(sizes)),))
    check_against_tflm(data, tmp_path)


# (input shape, axis)
UNPACKS = [((3, 4), 0), ((2, 3, 4), 1), ((2, 3, 4), -1), ((1, 1, 72), 0), ((2, 2, 3, 2), 2), ((5,), 0),
           ((2, 1, 3, 2, 1, 2), 3)]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("case", range(len(UNPACKS)))
def test_unpack_equals_tflm(case, dtype, tmp_path):
    shape, axis = UNPACKS[case]
    q = qparams(dtype, np.random.default_rng(400 + case))
    a = axis % len(shape)
    data = one_op("UNPACK", [("x", shape, dtype, q, None)], _pieces(shape, a, [1] * shape[a], dtype, q, drop=True),
                  "UnpackOptions", (("Num", shape[a]), ("Axis", axis)))
    check_against_tflm(data, tmp_path)


# ---- views: a slice that is one contiguous block of an arena tensor is stored inside it ---------------


@pytest.mark.parametrize("dtype", DTYPES)
def test_contiguous_pieces_become_views_and_equal_tflm(dtype, tmp_path):
    """ADD -> SPLIT on axis 0 (contiguous pieces: views) and on axis 1 (strided: copies) -> ADD each; one
    piece is also a model output (it must be copied into the caller's buffer)."""
    from tinygen.compiler import generate

    rng = np.random.default_rng(7)
    q = [qparams(dtype, rng) for _ in range(9)]
    shape = (3, 6, 4)
    tensors = [("x", shape, dtype, q[0], None), ("t", shape, dtype, q[1], None),
               ("ax0", (), "int32", None, 0), ("ax1", (), "int32", None, 1)]
    tensors += [(f"a{k}", (1, 6, 4), dtype, q[1], None) for k in range(3)]
    tensors += [(f"b{k}", (3, 2, 4), dtype, q[1], None) for k in range(3)]
    tensors += [(f"ya{k}", (1, 6, 4), dtype, q[2 + k], None) for k in range(2)]
    tensors += [(f"yb{k}", (3, 2, 4), dtype, q[4 + k], None) for k in range(3)]
    ops = [("ADD", ["x", "x"], ["t"], "AddOptions", ()),
           ("SPLIT", ["ax0", "t"], ["a0", "a1", "a2"], "SplitOptions", (("NumSplits", 3),)),
           ("SPLIT", ["ax1", "t"], ["b0", "b1", "b2"], "SplitOptions", (("NumSplits", 3),))]
    ops += [("ADD", [f"a{k}", "a0"], [f"ya{k}"], "AddOptions", ()) for k in range(2)]
    ops += [("ADD", [f"b{k}", "b0"], [f"yb{k}"], "AddOptions", ()) for k in range(3)]
    data = ops_model(tensors, ops, ["x"], ["ya0", "ya1", "yb0", "yb1", "yb2", "a2"])
    check_against_tflm(data, tmp_path)
    result = generate(load_model(str(tmp_path / "m.tflite")))
    viewed = {result.lowered[i].op.outputs[0] for i in result.plan.views}
    assert viewed == {"a0", "a1"}, viewed  # a2 is a model output; the axis-1 pieces are strided
    kind, base = result.plan.storage["t"]
    size = np.dtype(dtype).itemsize
    assert result.plan.storage["a0"] == (kind, base) and result.plan.storage["a1"] == (kind, base + 24 * size)
    calls = [line for line in result.files["model.c"].splitlines() if "tg_copy_strided_s" in line and "(" in line]
    assert len(calls) == 4, calls  # a2 and the three axis-1 pieces
    kernels = {layer["name"]: layer["kernel"] for layer in result.report["layers"]}
    assert [kernels[result.lowered[i].op.name] for i in result.plan.views] == ["view", "view"]


# ---- TRANSPOSE, DEPTH_TO_SPACE, SPACE_TO_DEPTH: strided copies ------------------------------------

# (input shape, perm)
TRANSPOSES = [((5,), [0]), ((3, 7), [1, 0]), ((2, 3, 4), [2, 0, 1]), ((2, 3, 4), [0, 2, 1]), ((1, 4, 5, 6), [0, 3, 1, 2]),
              ((2, 4, 5, 6), [3, 2, 1, 0]), ((1, 8, 8, 3), [0, 2, 1, 3]), ((2, 1, 3, 2, 4), [4, 2, 0, 3, 1]),
              ((2, 3, 1, 4, 5), [0, 1, 2, 3, 4])]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("case", range(len(TRANSPOSES)))
def test_transpose_equals_tflm(case, dtype, tmp_path):
    shape, perm = TRANSPOSES[case]
    q = qparams(dtype, np.random.default_rng(500 + case))
    out = tuple(shape[p] for p in perm)
    data = one_op("TRANSPOSE", [("x", shape, dtype, q, None), ("perm", (len(perm),), "int32", None, perm)],
                  [("y", out, dtype, q, None)], "TransposeOptions")
    check_against_tflm(data, tmp_path)


# (op, input shape, block size)
BLOCKS = [("DEPTH_TO_SPACE", (1, 2, 3, 8), 2), ("DEPTH_TO_SPACE", (2, 3, 2, 27), 3), ("DEPTH_TO_SPACE", (1, 1, 1, 16), 4),
          ("DEPTH_TO_SPACE", (1, 2, 2, 4), 1), ("SPACE_TO_DEPTH", (1, 4, 6, 2), 2), ("SPACE_TO_DEPTH", (2, 6, 3, 5), 3),
          ("SPACE_TO_DEPTH", (1, 4, 4, 1), 4)]


@pytest.mark.parametrize("case", range(len(BLOCKS)))
def test_depth_space_equal_tflm(case, tmp_path):
    name, (n, h, w, c), bs = BLOCKS[case]
    q = qparams("int8", np.random.default_rng(600 + case))
    out = (n, h * bs, w * bs, c // bs // bs) if name == "DEPTH_TO_SPACE" else (n, h // bs, w // bs, c * bs * bs)
    options = "DepthToSpaceOptions" if name == "DEPTH_TO_SPACE" else "SpaceToDepthOptions"
    data = one_op(name, [("x", (n, h, w, c), "int8", q, None)], [("y", out, "int8", q, None)], options,
                  (("BlockSize", bs),))
    check_against_tflm(data, tmp_path)


# ---- PACK ----------------------------------------------------------------------------------------

# (input shape, number of inputs, axis, constant input index or None)
PACKS = [((3,), 2, 0, None), ((2, 3), 3, 1, None), ((2, 3), 2, -1, None), ((2, 3, 4), 4, 0, 2), ((1, 72), 2, 2, None),
         ((2, 2, 2, 3), 2, 3, 0), ((2, 1, 2, 1, 3), 3, 2, None)]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("case", range(len(PACKS)))
def test_pack_equals_tflm(case, dtype, tmp_path):
    shape, n, axis, const = PACKS[case]
    rng = np.random.default_rng(700 + case)
    q = qparams(dtype, rng)
    info = np.iinfo(np.dtype(dtype))
    ins = [(f"x{k}", shape, dtype, q, rng.integers(info.min, info.max, size=shape) if k == const else None)
           for k in range(n)]
    out = list(shape)
    out.insert(axis % (len(shape) + 1), n)
    data = one_op("PACK", ins, [("y", tuple(out), dtype, q, None)], "PackOptions", (("ValuesCount", n), ("Axis", axis)))
    check_against_tflm(data, tmp_path)


# ---- GATHER, GATHER_ND ---------------------------------------------------------------------------


def _index_model(opname, params_shape, idx, out_shape, options, fields, const_params, const_idx, rng) -> tuple:
    q = qparams("int8", rng)
    pdata = rng.integers(-128, 127, size=params_shape, endpoint=True) if const_params else None
    ins = [("p", params_shape, "int8", q, pdata), ("i", np.shape(idx), "int32", None, idx if const_idx else None)]
    data = one_op(opname, ins, [("y", out_shape, "int8", q, None)], options, fields)
    return data, np.asarray(idx, np.int32)


def _check_with_indices(data, idx, tmp_path, rng) -> None:
    """C and reference equal TFLM with these (computed) indices and random params."""
    path = tmp_path / "g.tflite"
    path.write_bytes(data)
    graph = load_model(str(path))
    lowered = lower(graph)
    model = host_model_for(graph)
    for _ in range(3):
        xs = []
        for name in graph.inputs:
            t = graph.tensors[name]
            xs.append(idx if t.dtype == "int32" else rng.integers(-128, 127, size=t.shape, endpoint=True).astype(np.int8))
        (want,) = tflm_run(data, xs)
        (got_c,) = model(xs)
        (got_ref,) = run_reference(graph, xs, lowered)
        assert np.asarray(got_c).reshape(want.shape).tobytes() == want.tobytes()
        assert np.asarray(got_ref).reshape(want.shape).tobytes() == want.tobytes()


# (params shape, indices, axis, batch_dims)
GATHERS = [((5, 3), [4, 0, 2, 2], 0, 0), ((5, 3), [[2, 1], [0, 2]], 1, 0), ((2, 4, 3), [[3, 1, 0], [0, 0, 2]], 1, 1),
           ((3, 4, 2, 5), [1, 0, 1], -2, 0), ((10,), [9, 0, 5], 0, 0), ((2, 3, 4), [[[1], [2]], [[0], [3]]], 2, 1),
           ((2, 1, 3, 1, 2, 4), [[3, 0], [1, 1]], 5, 1), ((4, 3), [[[[[1, 3]]]]], 0, 0), ((2, 3, 4), [[1, 0], [2, 2]], -1, -1)]


def _gather_out(shape, idx, axis, batch_dims):
    axis %= len(shape)
    if batch_dims < 0:  # counts from the indices' rank
        batch_dims += len(np.shape(idx))
    return tuple(shape[:axis]) + np.shape(idx)[batch_dims:] + tuple(shape[axis + 1:])


@pytest.mark.parametrize("form", ["activations", "const_indices", "const_params"])
@pytest.mark.parametrize("case", range(len(GATHERS)))
def test_gather_equals_tflm(case, form, tmp_path):
    shape, idx, axis, batch_dims = GATHERS[case]
    rng = np.random.default_rng(800 + case)
    data, idx = _index_model("GATHER", shape, idx, _gather_out(shape, idx, axis, batch_dims), "GatherOptions",
                             (("Axis", axis), ("BatchDims", batch_dims)), form == "const_params",
                             form == "const_indices", rng)
    _check_with_indices(data, idx, tmp_path, rng)


# (params shape, indices)
GATHERS_ND = [((4, 3), [[3, 1], [0, 2]]), ((4, 3), [[3], [0], [1]]), ((2, 3, 4), [[[1, 2]], [[0, 0]]]),
              ((2, 3, 4), [[1, 2, 3], [0, 0, 0]]), ((5, 2, 2, 3), [[4, 1, 0]]),
              ((2, 1, 3, 2, 2, 3), [[1, 0, 2, 1, 0], [0, 0, 0, 1, 1]])]


@pytest.mark.parametrize("form", ["activations", "const_indices", "const_params"])
@pytest.mark.parametrize("case", range(len(GATHERS_ND)))
def test_gather_nd_equals_tflm(case, form, tmp_path):
    shape, idx = GATHERS_ND[case]
    rng = np.random.default_rng(900 + case)
    k = np.shape(idx)[-1]
    out = np.shape(idx)[:-1] + tuple(shape[k:])
    data, idx = _index_model("GATHER_ND", shape, idx, out, "GatherNdOptions", (), form == "const_params",
                             form == "const_indices", rng)
    _check_with_indices(data, idx, tmp_path, rng)


@pytest.mark.parametrize("opname", ["GATHER", "GATHER_ND"])
def test_out_of_range_indices_fail_like_tflm(opname, tmp_path):
    """A computed index outside its dimension: TFLM's invoke fails and the generated C returns an error."""
    from tinygen.errors import VerificationError

    rng = np.random.default_rng(1)
    idx = [[4, 1]] if opname == "GATHER_ND" else [4, 1]
    out = (1,) if opname == "GATHER_ND" else (2, 3)
    options, fields = ("GatherNdOptions", ()) if opname == "GATHER_ND" else ("GatherOptions", (("Axis", 0), ("BatchDims", 0)))
    data, idx = _index_model(opname, (4, 3), idx, out, options, fields, False, False, rng)
    (tmp_path / "g.tflite").write_bytes(data)
    graph = load_model(str(tmp_path / "g.tflite"))
    xs = [rng.integers(-128, 127, size=(4, 3)).astype(np.int8), idx]
    with pytest.raises(RuntimeError):
        tflm_run(data, xs)
    with pytest.raises(VerificationError):
        host_model_for(graph)(xs)


@pytest.mark.parametrize("dtype", DTYPES)
def test_pieces_of_a_model_input_read_it_in_place(dtype, tmp_path):
    """UNPACK of a model input on axis 0 -> ADD each: the rows are views into the caller's input buffer."""
    from tinygen.compiler import generate

    rng = np.random.default_rng(9)
    q = [qparams(dtype, rng) for _ in range(4)]
    tensors = [("x", (3, 2, 5), dtype, q[0], None)] + [(f"r{k}", (2, 5), dtype, q[0], None) for k in range(3)]
    tensors += [(f"y{k}", (2, 5), dtype, q[1 + k], None) for k in range(3)]
    ops = [("UNPACK", ["x"], ["r0", "r1", "r2"], "UnpackOptions", (("Num", 3), ("Axis", 0)))]
    ops += [("ADD", [f"r{k}", "r1"], [f"y{k}"], "AddOptions", ()) for k in range(3)]
    data = ops_model(tensors, ops, ["x"], ["y0", "y1", "y2"])
    check_against_tflm(data, tmp_path)
    result = generate(load_model(str(tmp_path / "m.tflite")))
    assert len(result.plan.views) == 3
    size = np.dtype(dtype).itemsize
    assert [result.plan.storage[f"r{k}"] for k in range(3)] == [
        ("input", 0), ("input_view", (0, 10 * size)), ("input_view", (0, 20 * size))]
    assert "tg_copy_strided" not in result.files["model.c"]
