"""ONNX fixture models (tests/onnx_models.py, PyTorch's export forms, no torch needed) through tinygen:

- the float import equals onnxruntime (the float oracle) on the ONNX-layout input;
- the int8 build has no TRANSPOSE op (NCHW -> NHWC is done at import: weights permuted, the flatten
  order moved into the next Linear's weights);
- generated C == NumPy reference == TFLM on tinygen's exported .tflite, byte for byte;
- the int8 error against onnxruntime's float outputs is measured and bounded (and printed: `-s`).
"""
from __future__ import annotations

import numpy as np
import pytest

from tests.oracle import tflm_run
from tests.onnx_models import FIXTURES
from tinygen.compiler import build, load_model, lower
from tinygen.ir import OpKind
from tinygen.quant import float_ref
from tinygen.verify.export_tflite import to_bytes
from tinygen.verify.testing import host_model_for, run_reference

import onnx
import onnxruntime as ort

# int8 error bound: max |int8 - float| over the outputs, as a fraction of the float outputs' range
ERROR_BOUND = 0.08


def _save(tmp_path, name):
    path = tmp_path / f"{name}.onnx"
    onnx.save(FIXTURES[name](), str(path))
    return path


def _onnx_shape(path) -> tuple:
    m = onnx.load(str(path))
    return tuple(d.dim_value or 1 for d in m.graph.input[0].type.tensor_type.shape.dim)


def _ort(path, x: np.ndarray) -> np.ndarray:
    sess = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    return np.concatenate([sess.run(None, {"input": x[i:i + 1]})[0] for i in range(len(x))])


@pytest.mark.parametrize("name", sorted(FIXTURES))
def test_float_import_equals_onnxruntime(tmp_path, name):
    from tinygen.frontend.onnx.io import inputs_to_stored, outputs_to_onnx

    path = _save(tmp_path, name)
    graph = load_model(path)
    assert not [op for op in graph.ops if op.kind == OpKind.TRANSPOSE]
    x = np.random.default_rng(1).standard_normal((3,) + _onnx_shape(path)[1:]).astype(np.float32)
    want = _ort(path, x)
    stored = inputs_to_stored(graph.onnx_io, [x])[0]
    got = np.concatenate([np.asarray(float_ref.run(graph, [stored[i:i + 1]])[0]) for i in range(len(x))])
    got = outputs_to_onnx(graph.onnx_io, [got.reshape((len(x),) + tuple(graph.tensors[graph.outputs[0]].shape[1:]))])[0]
    np.testing.assert_allclose(got.reshape(want.shape), want, rtol=1e-4, atol=1e-4)


def _quantize(x, t):
    q = np.round(x / t.scale) + t.zero_point
    return np.clip(q, -128, 127).astype(np.int8)


@pytest.mark.parametrize("name", sorted(FIXTURES))
def test_int8_c_equals_reference_and_tflm(tmp_path, name):
    path = _save(tmp_path, name)
    shape = _onnx_shape(path)
    rng = np.random.default_rng(2)
    calib = rng.standard_normal((128,) + shape[1:]).astype(np.float32)
    result = build(path, calibration=calib, firmware=False, measure_stack=False, compare_tflm_arena=False,
                   check_fit=False)
    graph = result.graph
    assert not [op for op in graph.ops if op.kind == OpKind.TRANSPOSE]
    assert not any("transpose" in f for f in result.files), sorted(result.files)
    tflite = to_bytes(graph)
    lowered = lower(graph)
    model = host_model_for(graph)
    tin, tout = graph.tensors[graph.inputs[0]], graph.tensors[graph.outputs[0]]
    info = np.iinfo(np.int8)
    samples = [rng.integers(info.min, info.max, size=tin.shape, endpoint=True).astype(np.int8) for _ in range(3)]
    samples += [np.full(tin.shape, info.min, np.int8), np.full(tin.shape, info.max, np.int8)]
    for k, xq in enumerate(samples):
        want = np.asarray(tflm_run(tflite, [xq])[0]).reshape(tout.shape)
        ref = np.asarray(run_reference(graph, [xq], lowered)[0]).reshape(tout.shape)
        got = np.asarray(model([xq])[0]).reshape(tout.shape)
        assert ref.tobytes() == want.tobytes(), f"sample {k}: NumPy reference differs from TFLM"
        assert got.tobytes() == want.tobytes(), f"sample {k}: C differs from TFLM"
    # int8 error against onnxruntime's float outputs, on fresh float inputs in the ONNX layout
    from tinygen.frontend.onnx.io import inputs_to_stored, outputs_to_onnx

    x = rng.standard_normal((16,) + shape[1:]).astype(np.float32)
    want = _ort(path, x)
    layout = result.report["onnx_layout"]
    stored = inputs_to_stored(layout, [x])[0]
    got = np.stack([(model([_quantize(stored[i:i + 1], tin)])[0].astype(np.float32) - tout.zero_point) * tout.scale
                    for i in range(len(x))]).reshape((len(x),) + tout.shape[1:])
    got = outputs_to_onnx(layout, [got])[0].reshape(want.shape)
    err = float(np.abs(got - want).max() / (want.max() - want.min()))
    print(f"\n{name}: int8 |error| vs onnxruntime: max {np.abs(got - want).max():.4f}, mean {np.abs(got - want).mean():.4f} "
          f"(max {100 * err:.2f}% of the output range {want.max() - want.min():.3f})")
    assert err < ERROR_BOUND


@pytest.mark.parametrize("name", ["autoencoder", "ds_cnn", "har_1d"])
def test_16x8_and_weight_schemes(tmp_path, name):
    """--activations int16 equals TFLM on the export; --weights int4 and --mixed auto equal the NumPy
    reference (their weights have no exact .tflite form), all from the ONNX model."""
    path = _save(tmp_path, name)
    rng = np.random.default_rng(3)
    calib = rng.standard_normal((32,) + _onnx_shape(path)[1:]).astype(np.float32)
    opts = dict(firmware=False, measure_stack=False, compare_tflm_arena=False, check_fit=False)
    g16 = build(path, calibration=calib, activations="int16", **opts).graph
    tin = g16.tensors[g16.inputs[0]]
    assert tin.dtype == "int16"
    x16 = rng.integers(-32768, 32767, size=tin.shape, endpoint=True).astype(np.int16)
    want = np.asarray(tflm_run(to_bytes(g16), [x16])[0])
    assert host_model_for(g16)([x16])[0].tobytes() == want.tobytes()
    int8_bytes = build(path, calibration=calib, **opts).report["weights_bytes"]
    for kw in (dict(weights="int4"), dict(weights="auto", budget_flash=int(int8_bytes * 0.7))):
        r = build(path, calibration=calib, **kw, **opts)
        g = r.graph
        x = rng.integers(-128, 127, size=g.tensors[g.inputs[0]].shape, endpoint=True).astype(np.int8)
        assert host_model_for(g)([x])[0].tobytes() == np.asarray(run_reference(g, [x])[0]).tobytes()
        assert r.report["weights_bytes"] < int8_bytes


@pytest.mark.parametrize("name", ["autoencoder", "resnet8"])
def test_io_layout_onnx_keeps_nchw_at_the_api(tmp_path, name):
    """io_layout="onnx": the C takes and returns the ONNX layout; one TRANSPOSE after the input (and one
    before a 4-D output), none inside; C == reference == TFLM; float outputs equal onnxruntime's directly."""
    path = _save(tmp_path, name)
    shape = _onnx_shape(path)
    g = load_model(path, io_layout="onnx")
    assert g.tensors[g.inputs[0]].shape == shape
    x = np.random.default_rng(4).standard_normal(shape).astype(np.float32)
    np.testing.assert_allclose(np.asarray(float_ref.run(g, [x])[0]).reshape(-1), _ort(path, x).reshape(-1),
                               rtol=1e-4, atol=1e-4)
    calib = np.random.default_rng(5).standard_normal((64,) + shape[1:]).astype(np.float32)
    r = build(path, calibration=calib, io_layout="onnx", firmware=False, measure_stack=False,
              compare_tflm_arena=False, check_fit=False)
    q = r.graph
    transposes = [op for op in q.ops if op.kind == OpKind.TRANSPOSE]
    assert len(transposes) == (2 if len(q.tensors[q.outputs[0]].shape) == 4 else 1)
    assert q.tensors[q.inputs[0]].shape == shape and transposes[0].inputs == [q.inputs[0]]
    xq = np.random.default_rng(6).integers(-128, 127, size=shape, endpoint=True).astype(np.int8)
    want = np.asarray(tflm_run(to_bytes(q), [xq])[0])
    assert host_model_for(q)([xq])[0].tobytes() == np.asarray(run_reference(q, [xq])[0]).tobytes() == want.tobytes()


def test_layout_mix_keeps_only_the_real_transpose(tmp_path):
    """Split / Concat / Slice / Pad / Reduce axes mapped through the stored layout; the one Transpose that
    swaps H and W stays (as one TRANSPOSE op) and everything equals onnxruntime / TFLM."""
    from tests.onnx_models import layout_mix

    path = tmp_path / "layout_mix.onnx"
    onnx.save(layout_mix(), str(path))
    graph = load_model(path)
    assert len([op for op in graph.ops if op.kind == OpKind.TRANSPOSE]) == 1
    x = np.random.default_rng(7).standard_normal((1, 4, 8, 7)).astype(np.float32)
    got = np.asarray(float_ref.run(graph, [x.transpose(0, 2, 3, 1)])[0]).reshape(-1)
    np.testing.assert_allclose(got, _ort(path, x).reshape(-1), rtol=1e-4, atol=1e-4)
    calib = np.random.default_rng(8).standard_normal((64, 4, 8, 7)).astype(np.float32)
    q = build(path, calibration=calib, firmware=False, measure_stack=False, compare_tflm_arena=False).graph
    assert len([op for op in q.ops if op.kind == OpKind.TRANSPOSE]) == 1
    xq = np.random.default_rng(9).integers(-128, 127, size=q.tensors[q.inputs[0]].shape, endpoint=True).astype(np.int8)
    want = np.asarray(tflm_run(to_bytes(q), [xq])[0])
    assert host_model_for(q)([xq])[0].tobytes() == np.asarray(run_reference(q, [xq])[0]).tobytes() == want.tobytes()


def test_flattened_conv_output_as_model_output(tmp_path):
    """A model whose output is the NCHW flatten of a conv map: the stored NHWC row is put back in PyTorch's
    order before the output (RESHAPE, one TRANSPOSE, RESHAPE), equal to onnxruntime and, int8, to TFLM."""
    from tests.onnx_models import Net

    n = Net("flat_out", 10)
    m = n.model((1, 3, 4, 5), n.node("Flatten", [n.node("Relu", [n.conv("input", 3, 6, 3, 1, 1)])], axis=1))
    path = tmp_path / "flat_out.onnx"
    onnx.save(m, str(path))
    g = load_model(path)
    assert g.tensors[g.outputs[0]].shape == (1, 120)
    x = np.random.default_rng(1).standard_normal((1, 3, 4, 5)).astype(np.float32)
    np.testing.assert_allclose(np.asarray(float_ref.run(g, [x.transpose(0, 2, 3, 1)])[0]).reshape(-1),
                               _ort(path, x).reshape(-1), rtol=1e-4, atol=1e-5)
    calib = np.random.default_rng(2).standard_normal((32, 3, 4, 5)).astype(np.float32)
    q = build(path, calibration=calib, firmware=False, measure_stack=False, compare_tflm_arena=False).graph
    xq = np.random.default_rng(3).integers(-128, 127, size=q.tensors[q.inputs[0]].shape, endpoint=True).astype(np.int8)
    want = np.asarray(tflm_run(to_bytes(q), [xq])[0])
    assert host_model_for(q)([xq])[0].tobytes() == np.asarray(run_reference(q, [xq])[0]).tobytes() == want.tobytes()


def test_reflect_pad_max_min_abs_neg(tmp_path):
    """Pad mode reflect (MIRROR_PAD on the stored axes), Max / Min of two tensors and with a constant, Abs, Neg on
    channels-last data: == onnxruntime and, int8, C == reference == TFLM."""
    from tests.onnx_models import Net

    n = Net("minmax", 11)
    pads = n.init("reflect_pads", np.array([0, 0, 1, 2, 0, 0, 1, 0], np.int64))
    a = n.conv(n.node("Pad", ["input", pads], mode="reflect"), 3, 4, 3, 1, 0)  # nn.ReflectionPad2d((2, 0, 1, 1))
    y = n.node("Max", [n.node("Abs", [a]), n.node("Neg", [a])])
    y = n.node("Min", [y, n.init("cap", np.array([[[1.5]], [[2.0]], [[2.5]], [[3.0]]], np.float32))])
    path = tmp_path / "minmax.onnx"
    onnx.save(n.model((1, 3, 6, 6), n.conv(y, 4, 2, 1)), str(path))
    g = load_model(path)
    x = np.random.default_rng(1).standard_normal((1, 3, 6, 6)).astype(np.float32)
    got = np.asarray(float_ref.run(g, [x.transpose(0, 2, 3, 1)])[0]).transpose(0, 3, 1, 2)
    np.testing.assert_allclose(got, _ort(path, x), rtol=1e-4, atol=1e-5)
    calib = np.random.default_rng(2).standard_normal((32, 3, 6, 6)).astype(np.float32)
    q = build(path, calibration=calib, firmware=False, measure_stack=False, compare_tflm_arena=False).graph
    xq = np.random.default_rng(3).integers(-128, 127, size=q.tensors[q.inputs[0]].shape, endpoint=True).astype(np.int8)
    want = np.asarray(tflm_run(to_bytes(q), [xq])[0])
    assert host_model_for(q)([xq])[0].tobytes() == np.asarray(run_reference(q, [xq])[0]).tobytes() == want.tobytes()


@pytest.mark.parametrize("nd", [1, 2])
def test_conv_transpose_unequal_strides_and_1d(tmp_path, nd):
    """ConvTranspose with strides (2, 3), kernel (3, 4), asymmetric pads and output_padding; and a 1-D one:
    == onnxruntime, int8 C == reference == TFLM."""
    from tests.onnx_models import Net

    n = Net("deconv", 12)
    if nd == 2:
        shape, kw = (1, 3, 5, 4), dict(kernel_shape=[3, 4], strides=[2, 3], pads=[1, 0, 0, 2], output_padding=[1, 2])
        w = n.init("w", n.w(3, 4, 3, 4, fan_in=12))
    else:
        shape, kw = (1, 3, 9), dict(kernel_shape=[5], strides=[3], pads=[2, 1], output_padding=[1])
        w = n.init("w", n.w(3, 4, 5, fan_in=5))
    y = n.node("ConvTranspose", ["input", w, n.init("b", np.linspace(-0.2, 0.2, 4, dtype=np.float32))], **kw)
    path = tmp_path / "deconv.onnx"
    onnx.save(n.model(shape, y), str(path))
    g = load_model(path)
    from tinygen.frontend.onnx.io import inputs_to_stored, outputs_to_onnx

    x = np.random.default_rng(1).standard_normal(shape).astype(np.float32)
    want = _ort(path, x)
    got = outputs_to_onnx(g.onnx_io, [np.asarray(float_ref.run(g, inputs_to_stored(g.onnx_io, [x]))[0])])[0]
    np.testing.assert_allclose(got.reshape(want.shape), want, rtol=1e-4, atol=1e-5)
    calib = np.random.default_rng(2).standard_normal((32,) + shape[1:]).astype(np.float32)
    q = build(path, calibration=calib, firmware=False, measure_stack=False, compare_tflm_arena=False).graph
    xq = np.random.default_rng(3).integers(-128, 127, size=q.tensors[q.inputs[0]].shape, endpoint=True).astype(np.int8)
    ref = np.asarray(run_reference(q, [xq])[0])
    assert host_model_for(q)([xq])[0].tobytes() == ref.tobytes() == np.asarray(tflm_run(to_bytes(q), [xq])[0]).tobytes()
