"""SPACE_TO_BATCH_ND and BATCH_TO_SPACE_ND, int8 and int16, as single-op .tflite models.

Oracle: desktop TFLite's reference kernels (tf.lite.Interpreter, BUILTIN_REF), not TFLM: TFLM's
SPACE_TO_BATCH_ND pads with uninitialized memory (tflite-micro issue 1646; test_tflm_pads_with_garbage
shows it with the pinned tflite-micro) and has no int16 kernel. Where TFLM is deterministic (every
non-padded cell, int8 BATCH_TO_SPACE_ND) tinygen is compared with TFLM too.

Plan: rank 3 (NHC) and 4 (NHWC); blocks 1..3 per axis, square and not; paddings / crops zero, before
only, after only, both, larger than a block; batch 1 and 2; one channel and several; zero points at
both int8 ends and in between (int16: 0, the only one TFLite accepts); random inputs over the full
range, all-min and all-max. Each model goes through the TFLite frontend (written by tinygen's
exporter), the C kernel and the NumPy reference.
"""
from __future__ import annotations

import dataclasses
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from tinygen import ir
from tinygen.compiler import load_model, lower
from tinygen.errors import TinygenError
from tinygen.ops.space_batch import SpaceBatchAttrs, batch_to_space_shape, space_to_batch_shape
from tinygen.verify import tflite_ref
from tinygen.verify.export_tflite import to_bytes
from tinygen.verify.testing import host_model_for, run_reference

S2B, B2S = ir.OpKind.SPACE_TO_BATCH_ND, ir.OpKind.BATCH_TO_SPACE_ND

CASES = [  # kind, input shape, block, paddings / crops, dtype, zero point
    (S2B, (1, 4, 6, 3), (2, 2), ((0, 0), (0, 0)), "int8", 0),
    (S2B, (1, 11, 13, 3), (2, 2), ((2, 3), (2, 3)), "int8", -128),
    (S2B, (2, 5, 7, 1), (2, 3), ((1, 2), (0, 2)), "int8", 127),
    (S2B, (1, 5, 4, 5), (3, 1), ((4, 0), (0, 0)), "int8", -7),
    (S2B, (1, 3, 3, 2), (1, 2), ((0, 0), (5, 0)), "int8", 33),
    (S2B, (1, 20, 3), (2,), ((2, 2),), "int8", 12),
    (S2B, (2, 7, 4), (3,), ((0, 2),), "int8", -128),
    (S2B, (1, 11, 13, 3), (3, 3), ((3, 4), (3, 5)), "int16", 0),
    (S2B, (2, 5, 7, 2), (2, 3), ((1, 2), (0, 2)), "int16", 0),
    (S2B, (1, 9, 5), (3,), ((1, 2),), "int16", 0),
    (B2S, (4, 6, 7, 3), (2, 2), ((0, 1), (0, 1)), "int8", -128),
    (B2S, (12, 3, 3, 2), (2, 3), ((1, 2), (0, 2)), "int8", 5),
    (B2S, (6, 2, 5, 1), (3, 1), ((0, 0), (2, 0)), "int8", 127),
    (B2S, (4, 10, 4), (2,), ((0, 0),), "int8", -3),
    (B2S, (6, 3, 2), (3,), ((2, 1),), "int16", 0),
    (B2S, (9, 4, 4, 3), (3, 3), ((3, 4), (3, 5)), "int16", 0),
    (B2S, (8, 2, 3, 2), (2, 2), ((1, 0), (0, 1)), "int16", 0),
]


def _graph(kind, shape, block, pads, dtype, zp, scale=0.05) -> ir.Graph:
    fn = space_to_batch_shape if kind == S2B else batch_to_space_shape
    q = ir.QuantParams.make(scale, zp)
    t = {"x": ir.Tensor("x", shape, dtype, q), "y": ir.Tensor("y", fn(shape, block, pads), dtype, q)}
    op = ir.Op(kind, "sb", ["x"], ["y"], SpaceBatchAttrs(tuple(block), tuple(tuple(p) for p in pads)))
    return ir.Graph(t, [op], ["x"], ["y"], name="sb")


def _samples(shape, dtype, seed) -> list:
    info = np.iinfo(np.dtype(dtype))
    rng = np.random.default_rng(seed)
    xs = [rng.integers(int(info.min), int(info.max), size=shape, endpoint=True).astype(dtype) for _ in range(3)]
    return xs + [np.full(shape, info.min, dtype), np.full(shape, info.max, dtype)]


def _model_file(tmp_path: Path, case) -> Path:
    path = tmp_path / "sb.tflite"
    path.write_bytes(to_bytes(_graph(*case)))
    return path


@pytest.mark.parametrize("case", CASES, ids=[f"{c[0].value[:5]}{len(c[1])}d_{c[4]}_{i}" for i, c in enumerate(CASES)])
def test_equals_tflite_reference_kernels(case, tmp_path):
    path = _model_file(tmp_path, case)
    graph = load_model(str(path))
    assert [op.kind for op in graph.ops] == [case[0]]
    lowered = lower(graph)
    model = host_model_for(graph)
    data = path.read_bytes()
    seed = len(case[1]) * 7 + case[5] + 200
    for k, x in enumerate(_samples(case[1], case[4], seed)):
        (want,) = tflite_ref.run(data, [x])
        got_c = np.asarray(model([x])[0]).reshape(want.shape)
        got_ref = np.asarray(run_reference(graph, [x], lowered)[0]).reshape(want.shape)
        assert got_c.dtype == want.dtype and got_c.tobytes() == want.tobytes(), f"sample {k} (seed {seed}): C"
        assert got_ref.tobytes() == want.tobytes(), f"sample {k}: NumPy reference"


@pytest.mark.parametrize("case", [c for c in CASES if c[4] == "int8"][:4] + [c for c in CASES if c[0] == B2S and c[4] == "int8"],
                         ids=lambda c: f"{c[0].value[:5]}{c[1]}")
def test_equals_tflm_where_tflm_is_deterministic(case, tmp_path):
    """int8 (TFLM has no int16 kernels for these ops): every cell for BATCH_TO_SPACE_ND, the cells that
    are not padding for SPACE_TO_BATCH_ND."""
    from oracle import tflm_run

    path = _model_file(tmp_path, case)
    graph = load_model(str(path))
    model = host_model_for(graph)
    for x in _samples(case[1], case[4], 5):
        (want,) = tflm_run(path, [x])
        got = np.asarray(model([x])[0]).reshape(want.shape)
        if case[0] == S2B:
            marker = np.asarray(model([np.full(case[1], case[5] + 1 if case[5] < 127 else 0, "int8")])[0])
            keep = marker.reshape(want.shape) != case[5]  # the cells that come from the input
            got, want = got[keep], want[keep]
        assert got.tobytes() == want.tobytes()


def test_tinygen_pads_deterministically(tmp_path):
    """The padded cells are the zero point whatever ran before (the arena is reused between calls)."""
    case = (S2B, (1, 5, 5, 4), (2, 2), ((1, 2), (1, 2)), "int8", -7)
    graph = load_model(str(_model_file(tmp_path, case)))
    model = host_model_for(graph)
    a, b = _samples(case[1], "int8", 1)[:2]
    first = np.asarray(model([a])[0]).copy()
    np.asarray(model([b])[0])
    for _ in range(3):
        assert np.asarray(model([a])[0]).tobytes() == first.tobytes()
    zeros = np.asarray(model([np.full(case[1], 100, np.int8)])[0])
    n_pad = zeros.size - 100  # 25 input cells x 4 channels
    assert int(np.count_nonzero(zeros == -7)) == n_pad
    assert int(np.count_nonzero(first == -7)) >= n_pad


_TFLM_PAD_SCRIPT = """
import sys, numpy as np
from tflite_micro.python.tflite_micro import runtime
it = runtime.Interpreter.from_bytes(open(sys.argv[1], "rb").read())
it.set_input(np.load(sys.argv[2]), 0)
it.invoke()
np.save(sys.argv[3], np.array(it.get_output(0)))
"""


def test_tflm_pads_with_garbage(tmp_path):
    """Documents tflite-micro issue 1646 with the pinned TFLM: its SPACE_TO_BATCH_ND pads with a value it
    never initialized, so the padded cells hold whatever bytes the allocator handed out instead of the zero
    point -7, while every other cell is right. glibc's MALLOC_PERTURB_=N makes every fresh allocation hold
    the byte ~N, so the runs below pad with ~5 = -6 and ~77 = -78 (without it the byte depends on what the
    process freed before: 0, 1, 5, 77, 101, 104 and 113 have been seen). This is why the oracle is desktop
    TFLite for these models."""
    case = (S2B, (1, 5, 5, 4), (2, 2), ((1, 2), (1, 2)), "int8", -7)
    path = _model_file(tmp_path, case)
    x = np.arange(100, dtype=np.int64).reshape(case[1]).astype(np.int8)
    np.save(tmp_path / "x.npy", x)
    (want,) = tflite_ref.run(path.read_bytes(), [x])
    pad = want == -7  # the input holds no -7
    assert int(pad.sum()) == want.size - x.size
    pads = []
    for k, perturb in enumerate((5, 77)):
        out = tmp_path / f"out{k}.npy"
        env = {**os.environ, "MALLOC_PERTURB_": str(perturb)}
        subprocess.run([sys.executable, "-c", _TFLM_PAD_SCRIPT, str(path), str(tmp_path / "x.npy"), str(out)],
                       check=True, capture_output=True, env=env)
        got = np.load(out).reshape(want.shape)
        assert got[~pad].tobytes() == want[~pad].tobytes(), "TFLM's non-padded cells are right"
        pads.append(tuple(sorted(set(got[pad].tolist()))))
    assert pads == [(-6,), (-78,)], f"TFLM's padding did not follow the allocator's bytes: {pads}"


def test_dynamic_batch_in_the_file_is_refused(tmp_path):
    """A static output shape that disagrees with the op (the converter's dynamic batch) is one error
    naming the layer."""
    g = _graph(S2B, (1, 4, 4, 2), (2, 2), ((0, 0), (0, 0)), "int8", 0)
    g.tensors["y"].shape = (1, 2, 2, 2)
    path = tmp_path / "bad.tflite"
    path.write_bytes(to_bytes(g))
    with pytest.raises(TinygenError, match=r"layer 'y' \(SPACE_TO_BATCH_ND.*\[4, 2, 2, 2\]"):
        load_model(str(path))


def test_int16_with_a_nonzero_zero_point_is_refused():
    g = _graph(S2B, (1, 4, 4, 2), (2, 2), ((1, 1), (1, 1)), "int16", 3)
    with pytest.raises(TinygenError, match=r"layer 'sb' \(SPACE_TO_BATCH_ND\): int16 .*zero point 0"):
        lower(g)


@pytest.mark.qemu
def test_firmware_under_qemu_equals_tflite_reference(tmp_path):
    """SPACE_TO_BATCH_ND then BATCH_TO_SPACE_ND (block 2x3, padding and crops), int8, as Cortex-M4 firmware."""
    import shutil

    import tinygen

    missing = [t for t in ("arm-none-eabi-gcc", "qemu-system-arm", "make") if shutil.which(t) is None]
    if missing:
        pytest.fail(f"missing tools {missing}: run `make sysdeps`")
    g = _graph(S2B, (1, 5, 7, 3), (2, 3), ((1, 2), (0, 2)), "int8", -7)
    mid = g.tensors["y"]
    b2s = _graph(B2S, mid.shape, (2, 3), ((0, 1), (1, 0)), "int8", -7)
    g.tensors["z"] = dataclasses.replace(b2s.tensors["y"], name="z")
    g.ops.append(dataclasses.replace(b2s.ops[0], name="b2s", inputs=["y"], outputs=["z"]))
    g.outputs = ["z"]
    path = tmp_path / "sb2.tflite"
    path.write_bytes(to_bytes(g))
    out = tmp_path / "fw"
    tinygen.compile(str(path), out, board="cortex-m4", name="sb2")
    xs = _samples((1, 5, 7, 3), "int8", 8)[:3]
    on_target = tinygen.run(out, [np.stack([x[0] for x in xs])], target="qemu")[0]
    for i, x in enumerate(xs):
        (want,) = tflite_ref.run(path.read_bytes(), [x])
        assert np.asarray(on_target[i]).reshape(want.shape).tobytes() == want.tobytes(), f"sample {i}"
