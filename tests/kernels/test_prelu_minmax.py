"""PRELU (int8; int16 with an int8 alpha), MAXIMUM and MINIMUM (int8, int16) against TFLM's interpreter.

Each model holds one op per entry of its plan (each with its own inputs): broadcast shapes of rank 1 to 6,
constant and activation second operands, and for PRELU quantization parameters whose multipliers are
below and above one, with zero points of both signs. Models are written with tinygen's exporter and
read back through the TFLite frontend; the generated C and the NumPy reference must equal TFLM byte for
byte on random inputs, the type's extremes and random {min, max} / {-1, 0} patterns.
"""
from __future__ import annotations

import zlib

import numpy as np
import pytest

from single_op import INFO, build_graph, check_against_tflm, qp, random_inputs, tflm
from tinygen import ir
from tinygen.compiler import lower
from tinygen.errors import UnsupportedError
from tinygen.memory.plan import plan
from tinygen.verify.export_tflite import to_bytes

K = ir.OpKind
# (input shape, second operand shape, second operand constant?)
SHAPES = [((1, 4, 5, 3), (1, 1, 3), True), ((2, 4, 5, 3), (3,), True), ((1, 1, 5, 3), (1, 4, 1, 3), False),
          ((6,), (2, 1, 6), False), ((3, 7), (3, 7), True), ((1, 3, 3, 2), (1, 3, 3, 2), False),
          ((1, 2, 2, 4), (1,), True), ((2, 3, 1, 4, 5), (1, 1, 1, 4, 5), False),
          ((1, 2, 3, 2, 2, 3), (2, 1, 1, 1, 3), True)]
# PRELU (input scale, zp), (alpha scale, zp), (output scale, zp): multipliers below and above one
PRELU_QUANT = [((0.05, 3), (0.01, -7), (0.04, -2)), ((0.2, -100), (0.002, 50), (0.01, 120)),
               ((0.003, 127), (0.3, 0), (0.5, -128)), ((0.1, 0), (1 / 128, 0), (0.1, 0))]
CASES = [(K.PRELU, "int8"), (K.PRELU, "int16"), (K.MAXIMUM, "int8"), (K.MAXIMUM, "int16"),
         (K.MINIMUM, "int8"), (K.MINIMUM, "int16")]


def _q(dtype: str, scale: float, zp: int) -> ir.QuantParams:
    return qp(scale, zp if dtype != "int16" else 0)


def _model(kind, dtype, rng):
    tensors, ops = [], []
    for k, (xs, ys, const) in enumerate(SHAPES):
        second = "int8" if kind == K.PRELU else dtype
        if kind == K.PRELU:
            (sx, zx), (sa, za), (so, zo) = PRELU_QUANT[k % len(PRELU_QUANT)]
            qx, qa, qo = _q(dtype, sx, zx), _q(second, sa, za), _q(dtype, so, zo)
        else:
            qx = qa = qo = _q(dtype, float(rng.uniform(0.01, 0.2)), int(rng.integers(-20, 21)))
        lo, hi = INFO[second]
        data = rng.integers(lo, hi, size=ys, endpoint=True) if const else None
        tensors += [(f"x{k}", xs, dtype, qx, None), (f"a{k}", ys, second, qa, data)]
        ops.append((kind, ir.NoAttrs(), [f"x{k}", f"a{k}"], (f"y{k}", np.broadcast_shapes(xs, ys), dtype, qo)))
    return build_graph(tensors, ops, name=f"{kind.value.lower()}_{dtype}")


@pytest.mark.parametrize("kind,dtype", CASES, ids=[f"{k.value}-{d}" for k, d in CASES])
def test_op_equals_tflm(kind, dtype, tmp_path):
    rng = np.random.default_rng(zlib.crc32(f"{kind.value}{dtype}".encode()))
    graph = _model(kind, dtype, rng)
    _, lowered = check_against_tflm(graph, tmp_path, random_inputs(graph, rng, 3))
    suffix = "s8" if dtype == "int8" else "s16"
    assert {lop.c_function for lop in lowered} == {f"tg_{kind.value.lower()}_{suffix}"}


def test_constant_first_operand_of_maximum_equals_tflm(tmp_path):
    """MAXIMUM(const, x) and MINIMUM(const, x): the constant may come first."""
    rng = np.random.default_rng(3)
    q = qp(0.05, -4)
    c = rng.integers(-128, 128, size=(1, 1, 4))
    graph = build_graph([("c", (1, 1, 4), "int8", q, c), ("x", (1, 3, 5, 4), "int8", q, None)],
                        [(K.MAXIMUM, ir.NoAttrs(), ["c", "x"], ("y0", (1, 3, 5, 4), "int8", q)),
                         (K.MINIMUM, ir.NoAttrs(), ["c", "x"], ("y1", (1, 3, 5, 4), "int8", q))])
    check_against_tflm(graph, tmp_path, random_inputs(graph, rng, 3))


def test_chain_runs_in_place_and_equals_tflm(tmp_path):
    """x -> PRELU -> MAXIMUM(., const) -> MINIMUM(., const): MAXIMUM runs in place over PRELU's output
    (MINIMUM writes the model output, which is not in the arena)."""
    rng = np.random.default_rng(4)
    qx, qa, qy = qp(0.05, 3), qp(0.01, -7), qp(0.04, -2)
    shape = (1, 6, 6, 8)
    lo_c, hi_c = np.full((8,), -60), np.full((1, 1, 8), 90)
    graph = build_graph(
        [("x", shape, "int8", qx, None), ("alpha", (1, 1, 8), "int8", qa, rng.integers(-128, 128, size=(1, 1, 8))),
         ("lo", (8,), "int8", qy, lo_c), ("hi", (1, 1, 8), "int8", qy, hi_c)],
        [(K.PRELU, ir.NoAttrs(), ["x", "alpha"], ("p", shape, "int8", qy)),
         (K.MAXIMUM, ir.NoAttrs(), ["p", "lo"], ("m", shape, "int8", qy)),
         (K.MINIMUM, ir.NoAttrs(), ["m", "hi"], ("y", shape, "int8", qy))])
    loaded, lowered = check_against_tflm(graph, tmp_path, random_inputs(graph, rng, 3))
    assert [lop.inplace_of for lop in lowered] == ["x", "p", "m"]
    assert plan(loaded, lowered).inplace == [1]


def test_unsupported_forms_name_the_layer_and_op():
    q = qp(0.05)
    # int16 PRELU with an int16 alpha: TFLM requires an int8 alpha
    bad_alpha = build_graph([("x", (1, 4), "int16", q, None), ("a", (4,), "int16", q, np.ones(4))],
                            [(K.PRELU, ir.NoAttrs(), ["x", "a"], ("y", (1, 4), "int16", q))])
    with pytest.raises(Exception):  # TFLM's Prepare refuses it
        tflm(to_bytes(bad_alpha)).invoke()
    with pytest.raises(UnsupportedError, match=r"layer 'op0': op PRELU with input types \(int16, int16\)"):
        lower(bad_alpha)
    # a broadcast alternating over five dimensions (TFLM's loop takes it; the 4-D walk cannot)
    five = build_graph([("x", (2, 1, 3, 1, 5), "int8", q, None), ("b", (1, 4, 1, 6, 1), "int8", q, None)],
                       [(K.MAXIMUM, ir.NoAttrs(), ["x", "b"], ("y", (2, 4, 3, 6, 5), "int8", q))])
    from tinygen.ir import validate

    with pytest.raises(UnsupportedError, match=r"layer 'op0' \(MAXIMUM\): shapes .* broadcast over 5 separate "
                                               r"dimensions \(at most 4\)"):
        validate.check(five)
    # mixed types
    mixed = build_graph([("x", (1, 4), "int8", q, None), ("b", (1, 4), "int16", q, None)],
                        [(K.MINIMUM, ir.NoAttrs(), ["x", "b"], ("y", (1, 4), "int8", q))])
    with pytest.raises(Exception, match=r"layer 'op0' \(MINIMUM\): input types \(int8, int16\) -> int8"):
        validate.check(mixed)


@pytest.mark.parametrize("activations", ["int8", "int16"])
def test_keras_layers_through_ptq_equal_tflm(activations, tmp_path):
    """Keras PReLU (shared and per-pixel alpha), UpSampling2D (nearest; bilinear for int8, the only type
    TFLM runs it in), Maximum and Minimum, quantized by tinygen's PTQ (int8 or 16x8; resize, maximum and
    minimum outputs share their inputs' parameters, as TFLM does not requantize them; PRELU's alpha is
    int8 under both): the C equals TFLM running tinygen's export of the quantized graph."""
    import keras

    from tinygen.compiler import load_model, quantize

    inp = keras.Input((5, 6, 3))
    a = keras.layers.Conv2D(4, 3, padding="same", name="a")(inp)
    b = keras.layers.Conv2D(4, 3, padding="same", name="b")(inp)
    a = keras.layers.PReLU(shared_axes=[1, 2], alpha_initializer=keras.initializers.Constant(0.2), name="pa")(a)
    b = keras.layers.PReLU(alpha_initializer=keras.initializers.RandomUniform(-0.5, 1.0, seed=1), name="pb")(b)
    up_a = keras.layers.UpSampling2D((2, 3), interpolation="nearest", name="up_nearest")(a)
    mode = "bilinear" if activations == "int8" else "nearest"
    up_b = keras.layers.UpSampling2D((2, 3), interpolation=mode, name="up_b")(b)
    hi = keras.layers.Maximum(name="max")([up_a, up_b])
    lo = keras.layers.Minimum(name="min")([up_a, up_b, hi])
    model = keras.Model(inp, [hi, lo])
    rng = np.random.default_rng(8)
    calib = rng.standard_normal((16, 5, 6, 3)).astype(np.float32)
    graph = quantize(load_model(model), calib, activations=activations)
    kinds = {op.kind for op in graph.ops}
    assert {K.PRELU, K.RESIZE_NEAREST_NEIGHBOR, K.MAXIMUM, K.MINIMUM} <= kinds
    assert (K.RESIZE_BILINEAR in kinds) == (activations == "int8")
    for op in graph.ops:
        if op.kind in (K.RESIZE_NEAREST_NEIGHBOR, K.RESIZE_BILINEAR, K.MAXIMUM, K.MINIMUM):
            assert len({graph.tensors[t].quant for t in op.inputs + op.outputs}) == 1, op.name
        if op.kind == K.PRELU:
            assert graph.tensors[op.inputs[1]].dtype == "int8"
    check_against_tflm(graph, tmp_path, random_inputs(graph, rng, 4))


def _every_kernel_graph(rng) -> ir.Graph:
    """uint8 -> QUANTIZE -> RESIZE_BILINEAR (half-pixel, negative positions) -> PRELU -> MAXIMUM(const)
    -> RESIZE_NEAREST_NEIGHBOR (align corners) -> QUANTIZE to uint8, MINIMUM of two branches, and an
    int16 PRELU -> RESIZE_NEAREST_NEIGHBOR -> MINIMUM(const) chain: every kernel of this family."""
    from tinygen.ops.resize import ResizeAttrs

    q8, qa, q16 = qp(0.05, 3), qp(0.01, -7), qp(0.002)
    return build_graph(
        [("u", (1, 5, 7, 3), "uint8", qp(0.04, 128), None), ("w", (1, 4, 5, 3), "int16", q16, None),
         ("alpha", (1, 1, 3), "int8", qa, rng.integers(-128, 128, size=(1, 1, 3))),
         ("floor", (3,), "int8", q8, np.array([-100, 0, 20])),
         ("ceil", (1, 1, 3), "int16", q16, np.array([[[-50, 0, 3000]]]))],
        [(K.QUANTIZE, ir.NoAttrs(), ["u"], ("x", (1, 5, 7, 3), "int8", q8)),
         (K.RESIZE_BILINEAR, ResizeAttrs(False, True), ["x"], ("r", (1, 9, 4, 3), "int8", q8)),
         (K.PRELU, ir.NoAttrs(), ["r", "alpha"], ("p", (1, 9, 4, 3), "int8", q8)),
         (K.MAXIMUM, ir.NoAttrs(), ["p", "floor"], ("m", (1, 9, 4, 3), "int8", q8)),
         (K.RESIZE_NEAREST_NEIGHBOR, ResizeAttrs(True, False), ["m"], ("n", (1, 6, 11, 3), "int8", q8)),
         (K.QUANTIZE, ir.NoAttrs(), ["n"], ("out_u8", (1, 6, 11, 3), "uint8", qp(0.05, 128))),
         (K.MINIMUM, ir.NoAttrs(), ["m", "r"], ("out_min", (1, 9, 4, 3), "int8", q8)),
         (K.PRELU, ir.NoAttrs(), ["w", "alpha"], ("p16", (1, 4, 5, 3), "int16", qp(0.003))),
         (K.RESIZE_NEAREST_NEIGHBOR, ResizeAttrs(False, True), ["p16"], ("n16", (1, 7, 3, 3), "int16", qp(0.003))),
         (K.MINIMUM, ir.NoAttrs(), ["n16", "ceil"], ("out16", (1, 7, 3, 3), "int16", qp(0.003)))],
        name="every_kernel")


def test_every_kernel_equals_tflm_and_is_sanitizer_clean(tmp_path):
    """The chain above against TFLM, then built with ASan + UBSan (exact-size input and output buffers)
    on both kernel paths: no report, and the same bytes as the ordinary builds."""
    from test_hardening import sanitized_run_equals_normal_builds
    from tinygen.verify.hostbuild import KERNEL_PATHS

    rng = np.random.default_rng(21)
    graph = _every_kernel_graph(rng)
    samples = random_inputs(graph, rng, 3)
    loaded, _ = check_against_tflm(graph, tmp_path, samples)
    for path in KERNEL_PATHS:
        sanitized_run_equals_normal_builds(loaded, tmp_path / path, samples, path, "every_kernel")


_CONVERT_SCRIPT = """
import sys
import numpy as np
import keras
import tensorflow as tf
from tfconvert import convert

inp = keras.Input((6, 7, 3))
a = keras.layers.PReLU(shared_axes=[1, 2])(keras.layers.Conv2D(4, 3, padding="same")(inp))
b = keras.layers.PReLU(alpha_initializer=keras.initializers.RandomUniform(-0.5, 1.0, seed=1))(
    keras.layers.Conv2D(4, 3, padding="same")(inp))
up = keras.layers.Lambda(lambda t: tf.image.resize(t, (12, 14), method="nearest"))(a)
bl = keras.layers.Lambda(lambda t: tf.image.resize(t, (12, 14), method="bilinear"))(b)
nn = keras.layers.Lambda(lambda t: tf.compat.v1.image.resize_nearest_neighbor(t, (9, 5), align_corners=True))(b)
model = keras.Model(inp, [keras.layers.Maximum()([up, bl]), keras.layers.Minimum()([up, bl]), nn])
calib = np.random.default_rng(0).standard_normal((16, 6, 7, 3)).astype(np.float32)
open(sys.argv[1], "wb").write(convert(model, calib))
"""


def test_tf_converted_model_equals_tflm(tmp_path):
    """TF's own int8 converter on Keras PReLU (shared and per-pixel alpha), tf.image.resize (bilinear and
    nearest, half-pixel centers), resize_nearest_neighbor with align_corners, Maximum and Minimum (the
    converter requantizes one input to a common scale first): C and reference equal TFLM. The model is
    converted in a fresh interpreter: after the QAT tests ran in the same process, TF's converter left
    the 'resize_nearest_neighbor' op in float32."""
    import os
    import subprocess
    import sys

    from single_op import check_file_against_tflm

    path = tmp_path / "converted.tflite"
    tests_dir = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    env = dict(os.environ, PYTHONPATH=tests_dir + os.pathsep + os.environ.get("PYTHONPATH", ""))
    subprocess.run([sys.executable, "-c", _CONVERT_SCRIPT, str(path)], check=True, env=env, timeout=600,
                   capture_output=True)
    rng = np.random.default_rng(0)
    loaded, _ = check_file_against_tflm(path, lambda g: random_inputs(g, rng, 4))
    kinds = [op.kind for op in loaded.ops]
    assert {K.PRELU, K.RESIZE_BILINEAR, K.RESIZE_NEAREST_NEIGHBOR, K.MAXIMUM, K.MINIMUM} <= set(kinds)


def test_fused_broadcast_walk_visits_numpy_broadcast_order():
    """Walking fuse_broadcast's dims with its strides reads both operands exactly where NumPy's
    broadcast puts them, over random shapes of rank 0 to 5."""
    import itertools

    from tinygen.ops.prelu_minmax import fuse_broadcast

    rng = np.random.default_rng(0)
    for _ in range(500):
        rank = int(rng.integers(0, 6))
        full = tuple(int(d) for d in rng.integers(1, 4, size=rank))
        a, b = (tuple(d if rng.random() < 0.5 else 1 for d in full)[int(rng.integers(0, rank + 1)):] for _ in "ab")
        out = np.broadcast_shapes(a, b)
        dims, sa, sb = fuse_broadcast(a, b, out)
        walk = list(itertools.product(*[range(d) for d in dims]))
        for shape, strides in ((a, sa), (b, sb)):
            want = np.broadcast_to(np.arange(int(np.prod(shape))).reshape(shape), out).ravel()
            got = [sum(i * s for i, s in zip(idx, strides)) for idx in walk]
            assert got == want.tolist(), (a, b, dims, sa, sb)
