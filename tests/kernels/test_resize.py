"""RESIZE_NEAREST_NEIGHBOR (int8, int16) and RESIZE_BILINEAR (int8) against TFLM's interpreter.

One model per (op, type, flags) holds a resize for every size pair of SIZES (each its own input): up
by integer and non-integer ratios, down, mixed, to and from one pixel. The models are written with
tinygen's exporter and read back through the TFLite frontend; the generated C and the NumPy reference
must equal TFLM byte for byte on random inputs, the type's extremes, random {min, max} and {-1, 0}
patterns (bilinear rounding ties, negative ones included).
"""
from __future__ import annotations

import zlib

import numpy as np
import pytest

from single_op import build_graph, check_against_tflm, qp, random_inputs, tflm
from tinygen import ir
from tinygen.errors import ModelFormatError, UnsupportedError
from tinygen.compiler import lower
from tinygen.lower.resize import bilinear_taps
from tinygen.ops.resize import ResizeAttrs, nearest_index
from tinygen.verify.export_tflite import to_bytes

K = ir.OpKind
# (in H, in W, out H, out W)
SIZES = [(6, 6, 12, 12), (5, 7, 3, 11), (4, 3, 9, 2), (3, 5, 7, 13), (7, 9, 4, 4), (1, 1, 3, 2),
         (4, 6, 1, 1), (2, 2, 2, 2), (10, 3, 1, 8)]
FLAGS = [(False, False), (True, False), (False, True), (True, True)]
CASES = ([(K.RESIZE_NEAREST_NEIGHBOR, dt, f) for dt in ("int8", "int16") for f in FLAGS]
         + [(K.RESIZE_BILINEAR, "int8", f) for f in FLAGS if f != (True, True)])


def _resize_model(kind, dtype, flags, rng, sizes=SIZES, batch=2, depth=3):
    tensors, ops = [], []
    for k, (h, w, oh, ow) in enumerate(sizes):
        q = qp(float(rng.uniform(0.01, 0.2)), int(rng.integers(-20, 21)) if dtype == "int8" else 0)
        tensors.append((f"x{k}", (batch, h, w, depth), dtype, q, None))
        ops.append((kind, ResizeAttrs(*flags), [f"x{k}"], (f"y{k}", (batch, oh, ow, depth), dtype, q)))
    return build_graph(tensors, ops, name=f"{kind.value.lower()}_{dtype}")


@pytest.mark.parametrize("kind,dtype,flags", CASES,
                         ids=[f"{k.value}-{d}-ac{int(f[0])}hp{int(f[1])}" for k, d, f in CASES])
def test_resize_equals_tflm(kind, dtype, flags, tmp_path):
    rng = np.random.default_rng(zlib.crc32(f"{kind.value}{dtype}{flags}".encode()))
    graph = _resize_model(kind, dtype, flags, rng)
    _, lowered = check_against_tflm(graph, tmp_path, random_inputs(graph, rng, 3))
    suffix = "s8" if dtype == "int8" else "s16"
    name = "nearest" if kind == K.RESIZE_NEAREST_NEIGHBOR else "bilinear"
    assert {lop.c_function for lop in lowered} == {f"tg_resize_{name}_{suffix}"}


def test_large_ratio_and_deep_channels_equal_tflm(tmp_path):
    """A 2 -> 37 bilinear upsampling and a 37 -> 3 nearest downsampling on 17 channels, batch 1."""
    rng = np.random.default_rng(5)
    for kind, sizes, flags in ((K.RESIZE_BILINEAR, [(2, 3, 37, 29)], (False, True)),
                               (K.RESIZE_NEAREST_NEIGHBOR, [(37, 29, 3, 5)], (True, False))):
        graph = _resize_model(kind, "int8", flags, rng, sizes=sizes, batch=1, depth=17)
        check_against_tflm(graph, tmp_path, random_inputs(graph, rng, 2))


def test_index_tables_match_hand_computed_values():
    # 2 -> 4, no flags: floor(i * 0.5); half-pixel: floor((i + 0.5) * 0.5); align corners: round(i * 1/3)
    assert nearest_index(2, 4, False, False).tolist() == [0, 0, 1, 1]
    assert nearest_index(2, 4, False, True).tolist() == [0, 0, 1, 1]
    assert nearest_index(2, 4, True, False).tolist() == [0, 0, 1, 1]
    assert nearest_index(3, 2, True, False).tolist() == [0, 2]
    # bilinear 2 -> 4 half-pixel: scale 512, positions -256, 256, 768, 1280
    assert bilinear_taps(2, 4, False, True).tolist() == [[0, 0, -256], [0, 1, 256], [0, 1, 768], [1, 1, 256]]


def test_int16_bilinear_is_refused_like_tflm():
    """TFLM runs RESIZE_BILINEAR for float32 and int8 only: tinygen names the layer and op."""
    q = qp(0.01)
    graph = build_graph([("x", (1, 2, 2, 1), "int16", q, None)],
                        [(K.RESIZE_BILINEAR, ResizeAttrs(), ["x"], ("y", (1, 4, 4, 1), "int16", q))])
    interp = tflm(to_bytes(graph))
    interp.set_input(np.zeros((1, 2, 2, 1), np.int16), 0)
    with pytest.raises(Exception):
        interp.invoke()
    with pytest.raises(UnsupportedError, match=r"layer 'op0': op RESIZE_BILINEAR with input types \(int16\)"):
        lower(graph)


def test_bilinear_with_both_flags_is_refused(tmp_path):
    from tinygen.compiler import load_model

    q = qp(0.01)
    graph = build_graph([("x", (1, 2, 2, 1), "int8", q, None)],
                        [(K.RESIZE_BILINEAR, ResizeAttrs(True, True), ["x"], ("y", (1, 4, 4, 1), "int8", q))])
    path = tmp_path / "both.tflite"
    path.write_bytes(to_bytes(graph))
    with pytest.raises(UnsupportedError, match="RESIZE_BILINEAR.*align_corners and half_pixel_centers"):
        load_model(str(path))


def test_size_must_be_a_constant_matching_the_output(tmp_path):
    from tinygen.compiler import load_model
    from tinygen.verify.export_tflite import _Writer

    q = qp(0.01)
    for size, const, err in (([4, 4], False, UnsupportedError), ([4, 5], True, ModelFormatError)):
        tensors = {"x": ir.Tensor("x", (1, 2, 2, 1), "int8", q), "y": ir.Tensor("y", (1, 4, 4, 1), "int8", q),
                   "size": ir.Tensor("size", (2,), "int32", None, np.asarray(size, np.int32) if const else None)}
        inputs = ["x"] if const else ["x", "size"]
        w = _Writer(ir.Graph(tensors, [], inputs, ["y"], name="r"))
        w.emit("RESIZE_NEAREST_NEIGHBOR", [w.tensor("x"), w.tensor("size")], [w.tensor("y")],
               "ResizeNearestNeighborOptions", (("AlignCorners", False), ("HalfPixelCenters", False)))
        path = tmp_path / f"size_{int(const)}.tflite"
        path.write_bytes(w.finish())
        with pytest.raises(err, match="RESIZE_NEAREST_NEIGHBOR.*size"):
            load_model(str(path))


def test_importing_a_family_module_first_keeps_every_spec():
    """Importing tinygen.ops.resize before anything else used to leave the registry with only its own
    specs (spec_for then loaded nothing more): a fresh interpreter must still see every kind."""
    import subprocess
    import sys

    code = ("import tinygen.ops.resize\n"
            "from tinygen.ir import OpKind\n"
            "from tinygen.ops.spec import spec_for\n"
            "assert all(spec_for(k) is not None for k in (OpKind.CONV_2D, OpKind.PRELU, OpKind.ADD))\n")
    subprocess.run([sys.executable, "-c", code], check=True, timeout=120)


def test_bilinear_whose_tflm_taps_leave_the_input_is_refused():
    """1 -> 55 rows: TFLM's 10-bit scale (19) puts the last sample at 1026 / 1024, row 1 of a one-row
    input, which TFLM reads out of bounds; tinygen cannot reproduce that and says so."""
    assert bilinear_taps(1, 55, False, False)[-1].tolist() == [1, 0, 2]
    q = qp(0.01)
    graph = build_graph([("x", (1, 1, 4, 2), "int8", q, None)],
                        [(K.RESIZE_BILINEAR, ResizeAttrs(), ["x"], ("y", (1, 55, 4, 2), "int8", q))])
    with pytest.raises(UnsupportedError, match=r"layer 'op0' \(RESIZE_BILINEAR\): TFLM's 10-bit row scale for "
                                               r"1 -> 55 reads outside the input"):
        lower(graph)


def test_resize_attrs_survive_save_and_load(tmp_path):
    """ResizeAttrs lives in tinygen/ops/resize.py (OpSpec.attrs): the saved graph reads back equal."""
    from tinygen.ir import serialize

    rng = np.random.default_rng(2)
    graph = _resize_model(K.RESIZE_BILINEAR, "int8", (False, True), rng, sizes=[(2, 3, 5, 4)])
    serialize.save(graph, tmp_path)
    back = serialize.load(tmp_path)
    assert [op.attrs for op in back.ops] == [ResizeAttrs(False, True)]


@pytest.mark.parametrize("interpolation", ["nearest", "bilinear"])
def test_keras_upsampling_through_qat_equals_tflm(interpolation, tmp_path):
    """Quantization-aware training keeps UpSampling2D on its input's parameters (TFLM does not requantize
    a resize); a calibrated QAT model exports to C that equals TFLM on tinygen's .tflite export."""
    import keras

    import tinygen.qat
    from single_op import check_against_tflm
    from tinygen.compiler import load_model

    inp = keras.Input((5, 6, 3))
    y = keras.layers.Conv2D(4, 3, padding="same", activation="relu")(inp)
    y = keras.layers.UpSampling2D((2, 3), interpolation=interpolation)(y)
    y = keras.layers.Conv2D(2, 3, padding="same")(y)
    rng = np.random.default_rng(6)
    qat = tinygen.qat.quantize_model(keras.Model(inp, y))
    tinygen.qat.calibrate(qat, rng.standard_normal((16, 5, 6, 3)).astype(np.float32))
    graph = load_model(qat)
    kind = K.RESIZE_NEAREST_NEIGHBOR if interpolation == "nearest" else K.RESIZE_BILINEAR
    (op,) = [o for o in graph.ops if o.kind == kind]
    assert graph.tensors[op.inputs[0]].quant == graph.tensors[op.outputs[0]].quant
    check_against_tflm(graph, tmp_path, random_inputs(graph, rng, 3))
