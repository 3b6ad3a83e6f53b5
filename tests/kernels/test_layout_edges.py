"""Layout ops at their edges: forms TFLM refuses give one-line errors naming the layer and the op; the
models round-trip through tinygen's own .tflite export (TFLM on the export equals TFLM on the original);
the kernels run clean under AddressSanitizer and UBSan."""
from __future__ import annotations

import numpy as np
import pytest

from layout_models import one_op, qparams
from oracle import tflm_run
from test_layout_ops import (GATHERS, PACKS, SLICES, SPLITS, TRANSPOSES, UNPACKS, _gather_out, _pieces,
                             check_against_tflm, strided_slice_model)
from tinygen.compiler import load_model, lower
from tinygen.errors import TinygenError
from tinygen.verify.export_tflite import to_bytes

def _models() -> dict:
    """A few representative layout models by name."""
    rng = np.random.default_rng(11)
    q8, q16 = qparams("int8", rng), qparams("int16", rng)
    shape, axis, n = SPLITS[4]
    split = one_op("SPLIT", [("axis", (), "int32", None, axis), ("x", shape, "int16", q16, None)],
                   _pieces(shape, axis, [shape[axis] // n] * n, "int16", q16), "SplitOptions", (("NumSplits", n),))
    shape, axis = UNPACKS[4]
    unpack = one_op("UNPACK", [("x", shape, "int8", q8, None)], _pieces(shape, axis, [1] * shape[axis], "int8", q8, True),
                    "UnpackOptions", (("Num", shape[axis]), ("Axis", axis)))
    shape, perm = TRANSPOSES[7]
    transpose = one_op("TRANSPOSE", [("x", shape, "int8", q8, None), ("perm", (5,), "int32", None, perm)],
                       [("y", tuple(shape[p] for p in perm), "int8", q8, None)], "TransposeOptions")
    shape, k, axis, _ = PACKS[1]
    pack = one_op("PACK", [(f"x{i}", shape, "int16", q16, None) for i in range(k)], [("y", (2, 3, 3), "int16", q16, None)],
                  "PackOptions", (("ValuesCount", k), ("Axis", axis)))
    shape, idx, axis, bd = GATHERS[2]
    gather = one_op("GATHER", [("p", shape, "int8", q8, None), ("i", np.shape(idx), "int32", None, idx)],
                    [("y", _gather_out(shape, idx, axis, bd), "int8", q8, None)], "GatherOptions",
                    (("Axis", axis), ("BatchDims", bd)))
    d2s = one_op("DEPTH_TO_SPACE", [("x", (1, 2, 3, 8), "int8", q8, None)], [("y", (1, 4, 6, 2), "int8", q8, None)],
                 "DepthToSpaceOptions", (("BlockSize", 2),))
    gather_nd = one_op("GATHER_ND", [("p", (2, 3, 4), "int8", q8, None), ("i", (2, 2), "int32", None, [[1, 2], [0, 1]])],
                       [("y", (2, 4), "int8", q8, None)], "GatherNdOptions")
    slices = {f"strided_slice{k}": strided_slice_model(*SLICES[k], "int8", rng) for k in (3, 5, 11)}
    return dict(split=split, unpack=unpack, transpose=transpose, pack=pack, gather=gather, d2s=d2s,
                gather_nd=gather_nd, **slices)


MODELS = _models()


def _inputs(graph, rng) -> list:
    out = []
    for name in graph.inputs:
        t = graph.tensors[name]
        info = np.iinfo(np.dtype(t.dtype))
        out.append(rng.integers(info.min, info.max, size=t.shape, endpoint=True).astype(t.dtype))
    return out


@pytest.mark.parametrize("name", sorted(MODELS))
def test_export_round_trip_equals_tflm(name, tmp_path):
    data = MODELS[name]
    path = tmp_path / "m.tflite"
    path.write_bytes(data)
    exported = to_bytes(load_model(str(path)))
    rng = np.random.default_rng(3)
    for _ in range(3):
        xs = _inputs(load_model(str(path)), rng)
        for a, b in zip(tflm_run(data, xs), tflm_run(exported, xs)):
            assert a.dtype == b.dtype and a.tobytes() == b.tobytes()


@pytest.mark.parametrize("name", sorted(MODELS))
def test_layout_kernels_clean_under_sanitizers(name, tmp_path):
    """ASan + UBSan standalone build on the portable path: no report, and the same bytes as the -O2 builds."""
    from test_hardening import _inputs as hardening_inputs
    from test_hardening import sanitized_run_equals_normal_builds

    path = tmp_path / "m.tflite"
    path.write_bytes(MODELS[name])
    graph = load_model(str(path))
    sanitized_run_equals_normal_builds(graph, tmp_path, hardening_inputs(graph, n=4), "portable", name)


def _error(data: bytes, tmp_path) -> str:
    path = tmp_path / "bad.tflite"
    path.write_bytes(data)
    with pytest.raises(TinygenError) as exc:
        lower(load_model(str(path)))
    msg = str(exc.value)
    assert "\n" not in msg
    return msg


def test_refused_forms_name_layer_and_op(tmp_path):
    q8, q16 = qparams("int8", np.random.default_rng(0)), qparams("int16", np.random.default_rng(0))
    five = (2, 1, 2, 1, 3)
    ss5 = one_op("STRIDED_SLICE", [("x", five, "int8", q8, None)] + [(k, (5,), "int32", None, v) for k, v in (
        ("b", [0] * 5), ("e", list(five)), ("s", [1] * 5))], [("y", five, "int8", q8, None)], "StridedSliceOptions",
        tuple((f, 0) for f in ("BeginMask", "EndMask", "EllipsisMask", "NewAxisMask", "ShrinkAxisMask", "Offset")))
    assert "(STRIDED_SLICE" in _error(ss5, tmp_path) and "rank 5" in _error(ss5, tmp_path)
    ss64 = one_op("STRIDED_SLICE", [("x", (4, 5), "int8", q8, None)] + [(k, (2,), "int64", None, v) for k, v in (
        ("b", [1, 1]), ("e", [3, 4]), ("s", [1, 1]))], [("y", (2, 3), "int8", q8, None)], "StridedSliceOptions", ())
    assert "as int32 only" in _error(ss64, tmp_path)
    neg = strided_slice_model((4, 5), [3, 0], [0, 0], [-1, 1], (0, 0, 0, 0, 1, 0), (5,), "int8", np.random.default_rng(0))
    assert "shrinking dimension 0" in _error(neg, tmp_path)
    gather16 = one_op("GATHER", [("p", (4, 3), "int16", q16, None), ("i", (2,), "int32", None, None)],
                      [("y", (2, 3), "int16", q16, None)], "GatherOptions", (("Axis", 0), ("BatchDims", 0)))
    assert "GATHER" in _error(gather16, tmp_path)
    gather64 = one_op("GATHER", [("p", (4, 3), "int8", q8, None), ("i", (2,), "int64", None, None)],
                      [("y", (2, 3), "int8", q8, None)], "GatherOptions", (("Axis", 0), ("BatchDims", 0)))
    assert "int32 indices only" in _error(gather64, tmp_path)
    d2s16 = one_op("DEPTH_TO_SPACE", [("x", (1, 2, 3, 8), "int16", q16, None)], [("y", (1, 4, 6, 2), "int16", q16, None)],
                   "DepthToSpaceOptions", (("BlockSize", 2),))
    assert "DEPTH_TO_SPACE" in _error(d2s16, tmp_path)
    t6 = one_op("TRANSPOSE", [("x", (1,) * 6, "int8", q8, None), ("perm", (6,), "int32", None, list(range(6)))],
                [("y", (1,) * 6, "int8", q8, None)], "TransposeOptions")
    assert "(TRANSPOSE" in _error(t6, tmp_path) and "rank 6" in _error(t6, tmp_path)
    nd6 = one_op("GATHER_ND", [("p", (2,) * 6, "int8", q8, None), ("i", (1, 6), "int32", None, [1] * 6)],
                 [("y", (1,), "int8", q8, None)], "GatherNdOptions")
    assert "(GATHER_ND" in _error(nd6, tmp_path) and "at most 5" in _error(nd6, tmp_path)
    oob = one_op("GATHER", [("p", (4, 3), "int8", q8, None), ("i", (2,), "int32", None, [1, 4])],
                 [("y", (2, 3), "int8", q8, None)], "GatherOptions", (("Axis", 0), ("BatchDims", 0)))
    assert "constant index 4" in _error(oob, tmp_path)


def test_strided_slice_shape_refused_like_tflm(tmp_path):
    """An output shape TFLM's check refuses (here: new_axis_mask expecting an extra dimension) is refused."""
    data = strided_slice_model((4, 5), [1, 1], [3, 4], [1, 1], (0, 0, 0, 1, 0, 0), (1, 2, 3), "int8",
                               np.random.default_rng(0))
    assert "TFLM refuses it too" in _error(data, tmp_path)
    with pytest.raises(RuntimeError):
        tflm_run(data, [np.zeros((4, 5), np.int8)])
    assert check_against_tflm  # the shared checker stays importable for the models above


def test_generated_layout_code_is_wconversion_and_cppcheck_clean(tmp_path):
    """Every layout model's generated C: -Wconversion -Wsign-conversion on both kernel paths and cppcheck,
    0 findings."""
    import subprocess

    from test_hardening import CPPCHECK, _gcc, _write_model
    from tinygen.verify.hostbuild import KERNEL_PATHS, kernel_path_cflags

    findings = []
    for name, data in sorted(MODELS.items()):
        path = tmp_path / f"{name}.tflite"
        path.write_bytes(data)
        src = _write_model(load_model(str(path)), tmp_path / name)
        for c in sorted(src.glob("*.c")):
            for kp in KERNEL_PATHS:
                p = subprocess.run([_gcc(), "-std=c99", "-O2", "-fsyntax-only", "-Wall", "-Wextra", "-Wconversion",
                                    "-Wsign-conversion", *kernel_path_cflags(kp), c.name], capture_output=True,
                                   text=True, cwd=src)
                findings += [f"{name} ({kp}): {ln}" for ln in p.stderr.splitlines() if "warning:" in ln]
        p = subprocess.run([*CPPCHECK, "-I", str(src), str(src)], capture_output=True, text=True, timeout=900)
        findings += [f"{name}: {ln}" for ln in p.stderr.splitlines() if ln.strip()]
    assert not findings, "\n".join(findings)


def test_malformed_operands_are_typed_errors(tmp_path):
    """Operands no converter should trust (no pieces, empty size_splits, scalar params, a repeated perm):
    typed errors, never a crash."""

    q = qparams("int8", np.random.default_rng(0))
    bad = [
        one_op("SPLIT", [("axis", (), "int32", None, 0), ("x", (4,), "int8", q, None)], [], "SplitOptions",
               (("NumSplits", 0),)),
        one_op("SPLIT_V", [("x", (4,), "int8", q, None), ("sizes", (0,), "int32", None, []),
                           ("axis", (), "int32", None, 0)], [("y", (4,), "int8", q, None)], "SplitVOptions",
               (("NumSplits", 1),)),
        one_op("GATHER", [("p", (), "int8", q, None), ("i", (1,), "int32", None, [0])], [("y", (1,), "int8", q, None)],
               "GatherOptions", (("Axis", 0), ("BatchDims", 0))),
        one_op("TRANSPOSE", [("x", (2, 3), "int8", q, None), ("perm", (2,), "int32", None, [0, 0])],
               [("y", (2, 3), "int8", q, None)], "TransposeOptions"),
    ]
    for k, data in enumerate(bad):
        path = tmp_path / f"bad{k}.tflite"
        path.write_bytes(data)
        with pytest.raises(TinygenError):
            load_model(str(path))
