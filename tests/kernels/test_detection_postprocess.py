"""DETECTION_POSTPROCESS (TFLite custom op TFLite_Detection_PostProcess) against TFLM.

Each case is an SSD-style head written by tinygen's exporter: int8 box encodings and class scores
(model inputs, or a small conv head) -> DEQUANTIZE -> the custom op with its flexbuffer options and
float32 anchors; read back through the TFLite frontend. TFLM runs the file; the generated C (host) and
the lowering's NumPy reference must give the same float32 bytes. TFLM's fast NMS leaves the output rows
past the detections unwritten (whatever its arena held), so there the rows up to num_detections and
num_detections itself are compared (tinygen writes 0 past them); regular NMS writes every row and is
compared whole.
"""
from __future__ import annotations

import numpy as np
import pytest

from tinygen import ir
from tinygen.compiler import load_model, lower
from tinygen.errors import TinygenError
from tinygen.ir import validate
from tinygen.lower.detection import scratch_bytes
from tinygen.ops.detection import DetectionPostprocessAttrs
from tinygen.verify.export_tflite import to_bytes
from tinygen.verify.testing import host_model_for, run_reference
from oracle import tflm_interpreter, tflm_run_with

q = ir.QuantParams.make


def _attrs(classes, max_det, regular, score_thr=0.3, iou_thr=0.5, per_class=100):
    return DetectionPostprocessAttrs(max_det, 1, per_class, float(np.float32(score_thr)), float(np.float32(iou_thr)),
                                     classes, 10.0, 10.0, 5.0, 5.0, regular)


def _anchors(n, rng):
    """A grid of anchors (y, x, h, w) with repeats, so that boxes overlap and scores tie."""
    side = int(np.ceil(np.sqrt(n)))
    yx = (np.stack(np.meshgrid(np.arange(side), np.arange(side), indexing="ij"), -1).reshape(-1, 2)[:n] + 0.5) / side
    hw = rng.choice([0.2, 0.35, 0.5], size=(n, 2))
    return np.concatenate([yx, hw], 1).astype(np.float32)


def ssd_graph(n, classes, attrs, background=True, seed=0, conv=False, box_width=4):
    rng = np.random.default_rng(seed)
    cols = classes + int(background)
    m = attrs.max_detections
    t = {
        "bq": ir.Tensor("bq", (1, n, box_width), "int8", q(0.08, 3)),
        "sq": ir.Tensor("sq", (1, n, cols), "int8", q(1 / 256, -128)),
        "bf": ir.Tensor("bf", (1, n, box_width), "float32"),
        "sf": ir.Tensor("sf", (1, n, cols), "float32"),
        "anchors": ir.Tensor("anchors", (n, 4), "float32", None, _anchors(n, rng)),
        "boxes": ir.Tensor("boxes", (1, m, 4), "float32"),
        "classes": ir.Tensor("classes", (1, m), "float32"),
        "scores": ir.Tensor("scores", (1, m), "float32"),
        "num": ir.Tensor("num", (1,), "float32"),
    }
    ops = [ir.Op(ir.OpKind.DEQUANTIZE, "deq_boxes", ["bq"], ["bf"]),
           ir.Op(ir.OpKind.DEQUANTIZE, "deq_scores", ["sq"], ["sf"]),
           ir.Op(ir.OpKind.DETECTION_POSTPROCESS, "postprocess", ["bf", "sf", "anchors"],
                 ["boxes", "classes", "scores", "num"], attrs)]
    inputs = ["bq", "sq"]
    if conv:  # the class scores from a 1x1 conv over a feature map [1, n, 1, 8]
        t["feat"] = ir.Tensor("feat", (1, n, 1, 8), "int8", q(0.05, -2))
        t["w"] = ir.Tensor("w", (cols, 1, 1, 8), "int8", q(0.01, 0), rng.integers(-127, 128, (cols, 1, 1, 8)).astype(np.int8))
        t["b"] = ir.Tensor("b", (cols,), "int32", q(0.05 * 0.01, 0), rng.integers(-300, 300, cols).astype(np.int32))
        t["cv"] = ir.Tensor("cv", (1, n, 1, cols), "int8", q(1 / 256, -128))
        ops = [ir.Op(ir.OpKind.CONV_2D, "head", ["feat", "w", "b"], ["cv"],
                     ir.Conv2DAttrs(1, 1)),
               ir.Op(ir.OpKind.RESHAPE, "head_reshape", ["cv"], ["sq"], ir.ReshapeAttrs())] + ops
        inputs = ["bq", "feat"]
    return ir.Graph(t, ops, inputs, ["boxes", "classes", "scores", "num"], name="ssd", source="ssd.test")


def _inputs(g, rng, k):
    out = []
    for name in g.inputs:
        shape = g.tensors[name].shape
        x = rng.integers(-128, 128, shape).astype(np.int8)
        if name == "sq" and k % 3 == 1:  # coarse scores: many exact ties
            x = (x // 64 * 64).astype(np.int8)
        out.append(x)
    return out


def _same(got, want, regular, what):
    n = int(want[3][0])
    assert got[3].tobytes() == want[3].tobytes(), f"{what}: num_detections {got[3]} vs {want[3]}"
    rows = got[0].shape[1] if regular else n
    for i in range(3):
        assert got[i][:, :rows].tobytes() == want[i][:, :rows].tobytes(), f"{what}: output {i}\n{got[i]}\n{want[i]}"
    assert not any(g[:, n:].any() for g in got[:3]), f"{what}: rows past the detections are not 0"


CASES = {  # n, classes, max_det, regular, score_thr, iou_thr, background, conv, per_class
    "fast_1class": (12, 1, 5, False, 0.3, 0.5, True, False, 100),
    "fast_3class": (20, 3, 6, False, 0.4, 0.45, True, False, 100),
    "fast_5class_nobg": (30, 5, 10, False, 0.5, 0.6, False, False, 100),
    "regular_3class": (20, 3, 6, True, 0.4, 0.45, True, False, 100),
    "regular_4class_per2": (25, 4, 8, True, 0.3, 0.5, True, False, 2),
    "regular_2class_nobg": (16, 2, 4, True, 0.2, 1.0, False, False, 3),
    "keep_none": (12, 2, 4, False, 1.0, 0.5, True, False, 100),
    "keep_all": (9, 2, 9, True, 0.0, 1.0, True, False, 100),
    "fast_conv_head": (16, 3, 5, False, 0.45, 0.5, True, True, 100),
    "regular_conv_head": (16, 3, 5, True, 0.45, 0.5, True, True, 100),
    # max_detections above what survives: the count depends on the overlaps NMS removes
    "fast_suppress": (20, 3, 20, False, 0.2, 0.1, True, False, 100),
    "regular_suppress": (20, 3, 30, True, 0.5, 0.1, True, False, 100),
}


def _against_tflm(g0, regular, path, steps=12) -> set:
    """Run `steps` samples through TFLM, the C and the reference; returns the detection counts seen."""
    path.write_bytes(to_bytes(g0))
    g = load_model(str(path))
    post = [o for o in g.ops if o.kind == ir.OpKind.DETECTION_POSTPROCESS]
    assert len(post) == 1 and post[0].attrs == g0.ops[-1].attrs
    interp = tflm_interpreter(path)
    model, lowered = host_model_for(g, name="ssd"), lower(g)
    rng = np.random.default_rng(7)
    counts = set()
    for step in range(steps):
        xs = _inputs(g, rng, step)
        want = tflm_run_with(interp, xs, n_outputs=4)
        _same(model(xs), want, regular, f"step {step}: C vs TFLM")
        _same(run_reference(g, xs, lowered=lowered), want, regular, f"step {step}: NumPy reference vs TFLM")
        counts.add(int(want[3][0]))
    return counts


@pytest.mark.parametrize("case", sorted(CASES))
def test_detection_postprocess_matches_tflm(case, tmp_path):
    n, k, m, regular, sthr, ithr, bg, conv, per_class = CASES[case]
    g0 = ssd_graph(n, k, _attrs(k, m, regular, sthr, ithr, per_class), bg, conv=conv)
    counts = _against_tflm(g0, regular, tmp_path / f"{case}.tflite")
    if case == "keep_none":
        assert counts == {0}
    elif case == "keep_all":
        assert counts == {9}
    elif case.endswith("suppress"):
        assert len(counts) > 2 and min(counts) < m, counts
    else:
        assert max(counts) > 0, counts


@pytest.mark.parametrize("regular", [False, True])
def test_box_encodings_wider_than_four(regular, tmp_path):
    """Box rows of 6 values (TFLM reads the first 4 of each row)."""
    g0 = ssd_graph(15, 2, _attrs(2, 7, regular, 0.3, 0.3), box_width=6, seed=3)
    assert max(_against_tflm(g0, regular, tmp_path / "wide.tflite", steps=6)) > 0


def test_ties_keep_the_lower_index_first(tmp_path):
    """Equal scores on disjoint boxes: TFLM's stable order keeps them by anchor index."""
    g0 = ssd_graph(8, 2, _attrs(2, 8, False, 0.1, 0.5))
    path = tmp_path / "ties.tflite"
    path.write_bytes(to_bytes(g0))
    g = load_model(str(path))
    bq = np.zeros((1, 8, 4), np.int8)
    sq = np.full((1, 8, 3), 64, np.int8)  # all scores equal: class 0 wins each box, anchors in order
    want = tflm_run_with(tflm_interpreter(path), [bq, sq], n_outputs=4)
    got = host_model_for(g, name="ssd")([bq, sq])
    _same(got, want, False, "ties")
    assert int(want[3][0]) > 1 and not want[1][0, :int(want[3][0])].any()


def test_scratch_twin_and_refusals():
    from tinygen.lower import csig
    from tinygen.paths import runtime_file, runtime_include_dirs
    from tinygen.verify.hostbuild import build_extension

    cdef = "int32_t tg_detection_postprocess_f32_get_buffer_size(int32_t num_boxes, int32_t max_detections);"
    _, lib = build_extension(cdef, "#include <stdint.h>\n" + cdef,
                             [runtime_file("tg_detection_postprocess.c")], runtime_include_dirs())
    for n, m in ((1, 1), (12, 5), (300, 100)):
        assert lib.tg_detection_postprocess_f32_get_buffer_size(n, m) == scratch_bytes(n, m)
    assert csig.signature("tg_detection_postprocess_f32")
    g = ssd_graph(8, 2, _attrs(2, 4, False, iou_thr=0.0))
    with pytest.raises(TinygenError, match=r"layer 'postprocess' \(DETECTION_POSTPROCESS\): nms_iou_threshold 0.0"):
        validate.check(g)
    g = ssd_graph(8, 2, DetectionPostprocessAttrs(4, 2, 100, 0.3, 0.5, 2, 10.0, 10.0, 5.0, 5.0, False))
    with pytest.raises(TinygenError, match="max_classes_per_detection 2"):
        validate.check(g)
    g = ssd_graph(8, 1, _attrs(3, 4, False))
    with pytest.raises(TinygenError, match=r"class scores 'sf' have shape \[1, 8, 2\]"):
        validate.check(g)


@pytest.mark.qemu
def test_detection_postprocess_firmware_under_qemu_equals_tflm(tmp_path):
    """One Cortex-M4 build (newlib's exp in double precision) of a regular-NMS and conv-head model under QEMU:
    byte for byte against TFLM on the host."""
    import shutil

    import tinygen

    missing = [t for t in ("arm-none-eabi-gcc", "qemu-system-arm", "make") if shutil.which(t) is None]
    if missing:
        pytest.fail(f"missing tools {missing}: run `make sysdeps`")
    path = tmp_path / "ssd.tflite"
    path.write_bytes(to_bytes(ssd_graph(16, 3, _attrs(3, 8, True, 0.3, 0.4), conv=True)))
    g = load_model(str(path))
    out = tmp_path / "out"
    tinygen.compile(str(path), out, board="cortex-m4", name="ssd", measure_stack=False, compare_tflm_arena=False)
    rng = np.random.default_rng(11)
    samples = [_inputs(g, rng, k) for k in range(6)]
    interp = tflm_interpreter(path)
    want = [tflm_run_with(interp, xs, n_outputs=4) for xs in samples]
    got = tinygen.run(out, [np.concatenate([xs[i] for xs in samples]) for i in range(len(g.inputs))], target="qemu")
    assert {int(w[3][0]) for w in want} != {0}
    for k in range(len(samples)):
        _same([np.asarray(o[k]).reshape(want[k][i].shape) for i, o in enumerate(got)], want[k], True,
              f"sample {k}: QEMU vs TFLM")


def test_verify_command_on_fast_nms_build(tmp_path):
    """`tinygen verify` on a fast-NMS build: bit-exact with TFLM on every row TFLM writes (its rows past
    num_detections keep earlier contents, which the comparison ignores), and with the reference."""
    import tinygen
    from tinygen.verify.compare import verify_out

    path = tmp_path / "ssd.tflite"
    path.write_bytes(to_bytes(ssd_graph(20, 3, _attrs(3, 6, False, 0.4, 0.45))))
    out = tmp_path / "out"
    tinygen.compile(str(path), out, name="ssd", measure_stack=False, compare_tflm_arena=False)
    result = verify_out(out, samples=10)
    assert result["ok"] and result["oracles"] == {"tflm": 0, "reference": 0}, result["lines"]


def test_bad_custom_options_name_the_layer(tmp_path):
    from tinygen.verify import export_tflite

    g0 = ssd_graph(8, 2, _attrs(2, 4, False))
    w = export_tflite._Writer(g0)
    for op in g0.ops[:-1]:
        w.add_op(op)
    post = g0.ops[-1]
    w.emit_custom("TFLite_Detection_PostProcess", [w.tensor(t) for t in post.inputs],
                  [w.tensor(t) for t in post.outputs], b"\x01\x02\x03")
    path = tmp_path / "bad.tflite"
    path.write_bytes(w.finish())
    with pytest.raises(TinygenError, match=r"bad.tflite: layer '.*' \(CUSTOM\(TFLite_Detection_PostProcess\), "
                                           r"operator 2\): custom_options"):
        load_model(str(path))


@pytest.mark.parametrize("regular", [False, True])
def test_clean_under_sanitizers(regular, tmp_path):
    """ASan + UBSan: the scratch layout holds every list the NMS writes."""
    from test_hardening import sanitized_run_equals_normal_builds

    g0 = ssd_graph(20, 3, _attrs(3, 12, regular, 0.2, 0.3, per_class=5))
    path = tmp_path / "ssd.tflite"
    path.write_bytes(to_bytes(g0))
    g = load_model(str(path))
    rng = np.random.default_rng(5)
    sanitized_run_equals_normal_builds(g, tmp_path, [_inputs(g, rng, k) for k in range(6)], "portable",
                                       f"regular={regular}")
