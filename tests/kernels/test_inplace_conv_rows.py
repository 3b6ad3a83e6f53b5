"""tg_inplace_conv_rows_s8_fast (a stride-1 same-size CONV_2D written over its input, a ring of input rows
in scratch) and ADD written over a dead input: forced into graphs where the planner ties the output to the
input, on both host kernel paths, against the NumPy reference and the ordinary (not in-place) build;
IC (ResNet-8) takes both by itself and stays bit-exact with TFLM under QEMU."""
from __future__ import annotations

import dataclasses
import shutil

import numpy as np
import pytest

import tinygen.lower.fast as fast
from oracle import tflm_run
from test_kernels_conv import Case, build, sample_inputs
from tinygen.ir import Activation, OpKind
from tinygen.lower import inplace
from tinygen.memory import plan as planner
from tinygen.verify.hostbuild import KERNEL_PATHS

C2 = OpKind.CONV_2D
ROWS = "tg_inplace_conv_rows_s8_fast"

# (channels in, case): kh 3 and 5, odd widths, channels not a multiple of 4 (im2col), dilation, out_c < in_c
ROW_CASES = [
    Case(C2, (1, 7, 5, 16), out_c=16, zp_in=-128, act=Activation.RELU),
    Case(C2, (1, 6, 9, 8), out_c=5, kernel=(5, 5), zp_in=127, zp_out=-128),
    Case(C2, (1, 5, 7, 6), out_c=6, per_channel=False, act=Activation.RELU6),
    Case(C2, (1, 8, 3, 3), out_c=2, kernel=(5, 3), bias=False),
    Case(C2, (1, 9, 7, 4), out_c=3, dilation=(2, 2)),
    Case(C2, (1, 4, 11, 12), out_c=12, kernel=(1, 3), zp_in=-128),
    Case(C2, (1, 5, 5, 16), out_c=16, saturate=True),
]


def chained(case: Case, seed: int):
    """pre (1x1 conv, 3 -> case channels) -> the case's conv -> post (1x1 conv): the case's input and
    output are arena activations, read by one op each."""
    n, h, w, c = case.in_shape
    cases = [Case(C2, (n, h, w, 3), out_c=c, kernel=(1, 1)), case,
             Case(C2, (n, h, w, case.out_c), out_c=4, kernel=(1, 1), zp_in=case.zp_out)]
    g = build(cases, seed=seed)
    t = g.tensors
    for i in (1, 2):  # op i reads y{i-1}, with x{i}'s parameters
        t[f"y{i - 1}"] = dataclasses.replace(t.pop(f"x{i}"), name=f"y{i - 1}")
        g.ops[i] = dataclasses.replace(g.ops[i], inputs=[f"y{i - 1}", *g.ops[i].inputs[1:]])
    return dataclasses.replace(g, inputs=["x0"], outputs=["y2"])


def _tied(res, a: str, b: str) -> bool:
    """Tensors a and b planned at one arena offset (the output written over the input)."""
    off = {t: buf.offset for buf in res.plan.buffers for t in buf.tensors}
    return off[a] == off[b] >= 0


def _force(monkeypatch):
    """Every in-place candidate taken, whatever the arena (and kept: no scratch trimming after)."""
    from tinygen.memory import schedule

    def rewrite(graph, lowered):
        return [inplace.variant(lop, graph) or lop for lop in lowered]
    monkeypatch.setattr(inplace, "rewrite", rewrite)
    monkeypatch.setattr(schedule, "trim_scratch", lambda graph, lowered: lowered)


@pytest.mark.parametrize("extend", [True, False], ids=["extended", "taps"])
@pytest.mark.parametrize("kernel_path", KERNEL_PATHS)
def test_conv_rows_in_place_matches_reference(kernel_path, extend, monkeypatch):
    from tinygen.compiler import generate
    from tinygen.verify.testing import run_c, run_reference

    rng = np.random.default_rng(3)
    for i, case in enumerate(ROW_CASES):
        graph = chained(case, seed=i)
        plain = [run_c(graph, xs, kernel_path=kernel_path)[0] for xs in
                 [sample_inputs(graph, np.random.default_rng(i)), sample_inputs(graph, rng, -128)]]
        with monkeypatch.context() as m:
            _force(m)
            if not extend:
                m.setitem(fast._REGISTRY, C2, [k for k in fast._REGISTRY[C2] if type(k) is not fast.FastConv2D])
            res = generate(graph)
            assert res.lowered[1].c_function == ROWS, case
            assert _tied(res, "y0", "y1"), f"{case}: output not tied to the input"
            # every window is extended now (channels not a multiple of 4: padded to one); the in-place kernel
            # reads those from bytes (same weight packing)
            assert (res.lowered[1].notes["window"] == "extended") == extend
            for k, xs in enumerate([sample_inputs(graph, np.random.default_rng(i)), sample_inputs(graph, rng, -128)]):
                want = run_reference(graph, xs)[0]
                got = run_c(graph, xs, kernel_path=kernel_path)[0]
                assert np.array_equal(want, got), f"{kernel_path}: {case}: {np.count_nonzero(want != got)} bytes differ"
                assert np.array_equal(plain[k], got), f"{kernel_path}: {case}: differs from the ordinary build"


def test_conv_rows_variant_applies_only_to_same_size_stride_1():
    cases = [Case(C2, (1, 6, 6, 8), out_c=8, stride=(2, 2)), Case(C2, (1, 6, 6, 8), out_c=9),
             Case(C2, (1, 6, 6, 8), out_c=8, same=False), Case(C2, (1, 6, 6, 8), out_c=8, kernel=(1, 1))]
    from tinygen.lower.base import lower_op

    graph = build(cases)
    for op, case in zip(graph.ops, cases):
        assert inplace.conv_rows_variant(lower_op(op, graph), graph) is None, case
    graph = build(ROW_CASES)
    assert all(inplace.conv_rows_variant(lower_op(op, graph), graph) is not None for op in graph.ops)


def _residual(seed: int):
    """x -> conv a -> conv b -> add(a, b) -> 1x1 conv -> y: the add may overwrite a or b (both dead)."""
    g = chained(Case(C2, (1, 5, 7, 8), out_c=8, zp_in=-3, zp_out=-3), seed)
    from test_kernels_misc import A, T, single_op
    from tinygen.ir import ElementwiseAttrs

    t = g.tensors
    add = single_op(OpKind.ADD, ElementwiseAttrs(activation=A.RELU), [T((1, 5, 7, 8), (0.05, -3)),
                    T((1, 5, 7, 8), (0.05, -3))], T((1, 5, 7, 8), (0.07, -5)), seed=seed)
    out = add.outputs[0]
    t["sum"] = dataclasses.replace(add.tensors[out], name="sum", quant=t["y1"].quant)
    op = dataclasses.replace(add.ops[0], name="add", inputs=["y0", "y1"], outputs=["sum"])
    g.ops[2] = dataclasses.replace(g.ops[2], inputs=["sum", *g.ops[2].inputs[1:]])
    g.ops.insert(2, op)
    return g


@pytest.mark.parametrize("kernel_path", KERNEL_PATHS)
def test_add_in_place_matches_reference(kernel_path, monkeypatch):
    from tinygen.compiler import generate
    from tinygen.verify.testing import run_c, run_reference

    graph = _residual(1)
    rng = np.random.default_rng(5)
    samples = [sample_inputs(graph, rng), sample_inputs(graph, rng, 127)]
    plain = [run_c(graph, xs, kernel_path=kernel_path)[0] for xs in samples]
    _force(monkeypatch)
    res = generate(graph)
    k = next(i for i, lop in enumerate(res.lowered) if lop.op.kind == OpKind.ADD)
    assert res.lowered[k].inplace_of == "y1" and _tied(res, "y1", "sum")
    for xs, p in zip(samples, plain):
        got = run_c(graph, xs, kernel_path=kernel_path)[0]
        assert np.array_equal(run_reference(graph, xs)[0], got) and np.array_equal(p, got), kernel_path


def test_ic_takes_the_row_ring_and_add_in_place(models_dir):
    from tinygen.compiler import generate, load_model

    res = generate(load_model(str(models_dir / "mlperf/ic/pretrainedResnet_quant.tflite")))
    rows = [lop for lop in res.lowered if lop.c_function == ROWS]
    adds = [lop for lop in res.lowered if lop.op.kind == OpKind.ADD and lop.inplace_of]
    assert rows and adds
    assert all(_tied(res, lop.inplace_of, lop.op.outputs[0]) for lop in rows + adds)
    assert res.plan.arena_bytes < 49152 * 0.75


@pytest.mark.qemu
def test_ic_in_place_under_qemu_matches_tflm(models_dir, tmp_path):
    import tinygen
    from tinygen.compiler import load_model

    missing = [t for t in ("arm-none-eabi-gcc", "qemu-system-arm") if shutil.which(t) is None]
    if missing:
        pytest.fail(f"missing tools {missing}: run `make sysdeps`")
    path = models_dir / "mlperf/ic/pretrainedResnet_quant.tflite"
    graph = load_model(str(path))
    out = tmp_path / "ic"
    tinygen.compile(graph, out, board="cortex-m4")
    assert (out / "model" / f"{ROWS}.c").is_file()
    x = graph.tensors[graph.inputs[0]]
    rng = np.random.default_rng(21)
    for sample in (rng.integers(-128, 128, size=x.shape, dtype=np.int8), np.full(x.shape, 127, np.int8)):
        want = tflm_run(path, [sample])[0]
        got = tinygen.run(out, [sample], target="qemu")[0]
        assert np.array_equal(want.reshape(got.shape), got)
