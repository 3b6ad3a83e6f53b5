"""Tests for the .tflite frontend: real models, a Keras-3 conversion, hand-built edge cases, fuzzing."""
from __future__ import annotations

import collections
from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional

import flatbuffers
import numpy as np
import pytest
import tflite
from tflite.BuiltinOptions import BuiltinOptions

from tinygen import ir
from tinygen.errors import ModelFormatError, UnsupportedError
from tinygen.frontend.tflite import load_tflite

MODELS = Path(__file__).resolve().parents[2].parent / "shared" / "models"
needs_models = pytest.mark.skipif(not MODELS.is_dir(), reason="shared models folder absent")

# ---- a minimal .tflite writer (tflite package builders), for hand-made edge cases ---------------

TYPES = {"float32": 0, "int32": 2, "uint8": 3, "int64": 4, "bool": 6, "int16": 7, "int8": 9}


@dataclass
class T:
    name: Optional[str]
    shape: tuple
    dtype: str = "int8"
    data: Optional[bytes] = None  # raw little-endian bytes of a constant
    scale: tuple = ()
    zero_point: tuple = ()
    axis: int = 0


@dataclass
class O:
    code: int  # BuiltinOperator value (32 = CUSTOM)
    inputs: list
    outputs: list
    options: Optional[tuple] = None  # ("Conv2DOptions", {"Padding": 0, ...})
    custom: Optional[str] = None
    extra: dict = field(default_factory=dict)


def _vec(b, vals, prepend, size):
    b.StartVector(size, len(vals), size)
    for v in reversed(list(vals)):
        prepend(v)
    return b.EndVector()


def _offsets(b, offs):
    return _vec(b, offs, b.PrependUOffsetTRelative, 4)


def build(tensors: list, ops: list, inputs: list, outputs: list, n_subgraphs: int = 1) -> bytes:
    """A one-subgraph model: each const tensor gets its own buffer (buffer 0 stays empty)."""
    b = flatbuffers.Builder(1024)
    buffers, tensor_offs = [], []
    tflite.BufferStart(b)
    buffers.append(tflite.BufferEnd(b))
    for t in tensors:
        buf_index = 0
        if t.data is not None:
            vec = b.CreateByteVector(bytes(t.data))
            tflite.BufferStart(b)
            tflite.BufferAddData(b, vec)
            buffers.append(tflite.BufferEnd(b))
            buf_index = len(buffers) - 1
        name = b.CreateString(t.name) if t.name is not None else None
        shape = _vec(b, t.shape, b.PrependInt32, 4)
        quant = None
        if t.scale:
            sv = _vec(b, np.float32(t.scale).tolist(), b.PrependFloat32, 4)
            zv = _vec(b, list(t.zero_point), b.PrependInt64, 8)
            tflite.QuantizationParametersStart(b)
            tflite.QuantizationParametersAddScale(b, sv)
            tflite.QuantizationParametersAddZeroPoint(b, zv)
            tflite.QuantizationParametersAddQuantizedDimension(b, t.axis)
            quant = tflite.QuantizationParametersEnd(b)
        tflite.TensorStart(b)
        tflite.TensorAddShape(b, shape)
        tflite.TensorAddType(b, TYPES[t.dtype])
        tflite.TensorAddBuffer(b, buf_index)
        if name is not None:
            tflite.TensorAddName(b, name)
        if quant is not None:
            tflite.TensorAddQuantization(b, quant)
        tensor_offs.append(tflite.TensorEnd(b))

    codes, code_offs, op_offs = [], [], []
    for o in ops:
        key = (o.code, o.custom)
        if key not in codes:
            codes.append(key)
    for code, custom in codes:
        cname = b.CreateString(custom) if custom is not None else None
        tflite.OperatorCodeStart(b)
        tflite.OperatorCodeAddBuiltinCode(b, code)
        tflite.OperatorCodeAddDeprecatedBuiltinCode(b, min(code, 127))
        if cname is not None:
            tflite.OperatorCodeAddCustomCode(b, cname)
        code_offs.append(tflite.OperatorCodeEnd(b))
    for o in ops:
        opts = None
        if o.options is not None:
            cls, fields = o.options
            getattr(tflite, f"{cls}Start")(b)
            for k, v in fields.items():
                getattr(tflite, f"{cls}Add{k}")(b, v)
            opts = getattr(tflite, f"{cls}End")(b)
        iv = _vec(b, o.inputs, b.PrependInt32, 4)
        ov = _vec(b, o.outputs, b.PrependInt32, 4)
        tflite.OperatorStart(b)
        tflite.OperatorAddOpcodeIndex(b, codes.index((o.code, o.custom)))
        tflite.OperatorAddInputs(b, iv)
        tflite.OperatorAddOutputs(b, ov)
        if opts is not None:
            tflite.OperatorAddBuiltinOptionsType(b, getattr(BuiltinOptions, o.options[0]))
            tflite.OperatorAddBuiltinOptions(b, opts)
        op_offs.append(tflite.OperatorEnd(b))

    tv, opv = _offsets(b, tensor_offs), _offsets(b, op_offs)
    inv, outv = _vec(b, inputs, b.PrependInt32, 4), _vec(b, outputs, b.PrependInt32, 4)
    subgraphs = []
    for _ in range(n_subgraphs):
        tflite.SubGraphStart(b)
        tflite.SubGraphAddTensors(b, tv)
        tflite.SubGraphAddOperators(b, opv)
        tflite.SubGraphAddInputs(b, inv)
        tflite.SubGraphAddOutputs(b, outv)
        subgraphs.append(tflite.SubGraphEnd(b))
    sgv, cv, bv = _offsets(b, subgraphs), _offsets(b, code_offs), _offsets(b, buffers)
    tflite.ModelStart(b)
    tflite.ModelAddVersion(b, 3)
    tflite.ModelAddOperatorCodes(b, cv)
    tflite.ModelAddSubgraphs(b, sgv)
    tflite.ModelAddBuffers(b, bv)
    b.Finish(tflite.ModelEnd(b), file_identifier=b"TFL3")
    return bytes(b.Output())


OP = tflite.BuiltinOperator


def _i32(*vals) -> bytes:
    return np.asarray(vals, dtype="<i4").tobytes()


def _dw_model(multiplier: int = 0, bias: bool = True, **overrides) -> bytes:
    """x[1,4,4,2] int8 -> DEPTHWISE_CONV_2D 3x3 SAME, 4 output channels (multiplier 2)."""
    w = np.arange(36, dtype=np.int8).reshape(1, 3, 3, 4)
    tensors = [
        T("x", (1, 4, 4, 2), scale=(0.5,), zero_point=(-3,)),
        T("w", (1, 3, 3, 4), data=w.tobytes(), scale=(0.1, 0.2, 0.3, 0.4), zero_point=(0, 0, 0, 0), axis=3),
        T("b", (4,), "int32", data=_i32(1, -2, 300000, -70000)),
        T("y", (1, 4, 4, 4), scale=(0.25,), zero_point=(5,)),
    ]
    opts = ("DepthwiseConv2DOptions", {"Padding": 0, "StrideW": 1, "StrideH": 1,
                                       "DepthMultiplier": multiplier, "FusedActivationFunction": 3})
    op = O(OP.DEPTHWISE_CONV_2D, [0, 1, 2 if bias else -1], [3], opts)
    args = dict(tensors=tensors, ops=[op], inputs=[0], outputs=[3])
    args.update(overrides)
    return build(**args)


# ---- real models ----------------------------------------------------------------------------------

REAL = {
    "mlperf/kws/kws_ref_model.tflite": {"CONV_2D": 5, "DEPTHWISE_CONV_2D": 4, "AVERAGE_POOL_2D": 1,
                                        "RESHAPE": 1, "FULLY_CONNECTED": 1, "SOFTMAX": 1},
    "mlperf/vww/vww_96_int8.tflite": {"CONV_2D": 14, "DEPTHWISE_CONV_2D": 13, "AVERAGE_POOL_2D": 1,
                                      "RESHAPE": 1, "FULLY_CONNECTED": 1, "SOFTMAX": 1},
    "mlperf/ic/pretrainedResnet_quant.tflite": {"ADD": 3, "AVERAGE_POOL_2D": 1, "CONV_2D": 9,
                                                "FULLY_CONNECTED": 1, "RESHAPE": 1, "SOFTMAX": 1},
    "mlperf/ad/ad01_int8.tflite": {"FULLY_CONNECTED": 10},
    "mlperf/sww/str_ww_ref_model.tflite": {"CONV_2D": 4, "DEPTHWISE_CONV_2D": 4, "FULLY_CONNECTED": 1,
                                           "RESHAPE": 1, "SOFTMAX": 1},
    "tflm/person_detection/person_detect.tflite": {"AVERAGE_POOL_2D": 1, "CONV_2D": 14,
                                                   "DEPTHWISE_CONV_2D": 14, "RESHAPE": 1, "SOFTMAX": 1},
    "tflm/micro_speech/micro_speech_quantized.tflite": {"DEPTHWISE_CONV_2D": 1, "FULLY_CONNECTED": 1,
                                                        "RESHAPE": 1, "SOFTMAX": 1},
    "tflm/hello_world/hello_world_int8.tflite": {"FULLY_CONNECTED": 3},
    "tflm/hello_world/hello_world_float.tflite": {"FULLY_CONNECTED": 3},
}

# (input shape, input scale, input zp, output shape, output scale, output zp) from the models README
IO = {
    "mlperf/kws/kws_ref_model.tflite": ((1, 49, 10, 1), 0.5847, 83, (1, 12), 1 / 256, -128),
    "mlperf/vww/vww_96_int8.tflite": ((1, 96, 96, 3), 1 / 255, -128, (1, 2), None, None),
    "mlperf/ic/pretrainedResnet_quant.tflite": ((1, 32, 32, 3), 1.0, -128, (1, 10), None, None),
    "mlperf/ad/ad01_int8.tflite": ((1, 640), 0.3910, 89, (1, 640), None, None),
    "tflm/person_detection/person_detect.tflite": ((1, 96, 96, 1), 0.00784, -1, (1, 2), None, None),
    "tflm/micro_speech/micro_speech_quantized.tflite": ((1, 1960), None, None, (1, 4), None, None),
}


def _check_structure(g: ir.Graph) -> None:
    """Invariants every loaded graph must hold, independent of the model."""
    assert len({op.name for op in g.ops}) == len(g.ops), "op names must be unique"
    used = set(g.inputs) | set(g.outputs)
    for op in g.ops:
        used.update(t for t in op.inputs if t)
        used.update(op.outputs)
        assert all(t in g.tensors for t in op.inputs if t) and op.name
    assert set(g.tensors) == used, "unused tensors must be removed"
    for t in g.tensors.values():
        assert t.dtype in {"float32", "int8", "int16", "int32", "int64", "uint8"}
        if t.data is not None:
            assert t.data.dtype == np.dtype(t.dtype) and t.data.shape == tuple(t.shape), t.name
        if t.quant is not None and t.quant.per_axis:
            assert t.shape[t.quant.axis] == len(t.quant.scale) == len(t.quant.zero_point), t.name
            assert all(s == float(np.float32(s)) for s in t.quant.scale)
    for op in g.ops:
        if op.kind in (ir.OpKind.CONV_2D, ir.OpKind.DEPTHWISE_CONV_2D):
            x, w, y = g.tensors[op.inputs[0]], g.tensors[op.inputs[1]], g.tensors[op.outputs[0]]
            a = op.attrs
            for dim, k, s, d, before, after in ((1, w.shape[1], a.stride_h, a.dilation_h, a.padding.top,
                                                 a.padding.bottom),
                                                (2, w.shape[2], a.stride_w, a.dilation_w, a.padding.left,
                                                 a.padding.right)):
                # the explicit padding must reproduce the output size: out = (in + pads - eff) // s + 1
                eff = (k - 1) * d + 1
                assert (x.shape[dim] + before + after - eff) // s + 1 == y.shape[dim], op.name
                assert 0 <= after - before <= 1
            if op.kind is ir.OpKind.DEPTHWISE_CONV_2D:
                assert x.shape[3] * a.depth_multiplier == y.shape[3]
        if op.kind is ir.OpKind.RESHAPE:
            assert len(op.inputs) == 1


@needs_models
@pytest.mark.parametrize("rel", sorted(REAL))
def test_real_model_loads(rel):
    g = load_tflite(MODELS / rel)
    assert dict(collections.Counter(op.kind.value for op in g.ops)) == REAL[rel]
    assert g.name == Path(rel).stem and g.source == str(MODELS / rel)
    _check_structure(g)
    if rel in IO:
        in_shape, in_s, in_zp, out_shape, out_s, out_zp = IO[rel]
        x, y = g.tensors[g.inputs[0]], g.tensors[g.outputs[0]]
        assert (x.shape, y.shape) == (in_shape, out_shape)
        for t, s, zp in ((x, in_s, in_zp), (y, out_s, out_zp)):
            assert t.dtype == "int8"
            if s is not None:
                assert t.scale == pytest.approx(s, rel=1e-3) and t.zero_point == zp


@needs_models
def test_person_detect_per_channel_depthwise_axis3():
    g = load_tflite(MODELS / "tflm/person_detection/person_detect.tflite")
    dws = [op for op in g.ops if op.kind is ir.OpKind.DEPTHWISE_CONV_2D]
    per_axis = [g.tensors[op.inputs[1]].quant for op in dws if g.tensors[op.inputs[1]].quant.per_axis]
    assert per_axis and all(q.axis == 3 for q in per_axis)
    # the biases repeat quantized_dimension 3 on a rank-1 tensor: their only axis is 0
    assert all(g.tensors[op.inputs[2]].quant.axis in (None, 0) for op in dws)


@needs_models
def test_constants_match_tf_interpreter():
    """Weights, biases and quant params agree with TF's own flatbuffer reader."""
    tf = pytest.importorskip("tensorflow")
    path = MODELS / "mlperf/kws/kws_ref_model.tflite"
    g = load_tflite(path)
    interp = tf.lite.Interpreter(model_path=str(path))
    by_name = {d["name"]: d for d in interp.get_tensor_details()}
    checked = 0
    for t in g.tensors.values():
        d = by_name[t.name]
        assert tuple(d["shape"]) == t.shape and np.dtype(d["dtype"]) == np.dtype(t.dtype)
        if t.quant is not None:
            np.testing.assert_array_equal(d["quantization_parameters"]["scales"].astype(np.float32),
                                          np.float32(t.quant.scale))
            np.testing.assert_array_equal(d["quantization_parameters"]["zero_points"], t.quant.zero_point)
        if t.is_const:
            np.testing.assert_array_equal(interp.get_tensor(d["index"]), t.data)
            checked += 1
    assert checked >= 20


@needs_models
def test_kws_first_conv_padding_is_tflite_same():
    # 49x10 input, 10x4 filter, stride 2 -> 25x5 output; total pad H = 24*2+10-49 = 9, W = 4*2+4-10 = 2
    g = load_tflite(MODELS / "mlperf/kws/kws_ref_model.tflite")
    conv = g.ops[0]
    assert conv.kind is ir.OpKind.CONV_2D and conv.attrs.activation is ir.Activation.RELU
    assert conv.attrs.padding == ir.Padding(top=4, bottom=5, left=1, right=1)


@needs_models
def test_int16_single_op_models_load_or_are_unsupported():
    files = sorted((MODELS / "tflm/int16_ops").glob("*/*.tflite"))
    assert files
    loaded = 0
    for f in files:
        op_name = {"CONV": "CONV_2D"}.get(f.parent.name.upper(), f.parent.name.upper())
        g = load_tflite(f)
        _check_structure(g)
        assert [op.kind.value for op in g.ops] == [op_name]
        assert all(g.tensors[t].dtype == "int16" for t in g.outputs)
        loaded += 1
        if op_name == "PAD":
            x, y = g.tensors[g.inputs[0]], g.tensors[g.outputs[0]]
            pads = g.ops[0].attrs.paddings
            assert tuple(a + b + s for (a, b), s in zip(pads, x.shape)) == y.shape
    assert loaded > 40


# ---- Keras 3 conversions --------------------------------------------------------------------------


@pytest.fixture(scope="module")
def keras_graph():
    """One small Keras-3 model touching Flatten, PAD, depthwise multiplier, concat, MEAN.

    (TF writes a dilated Conv2D as SPACE_TO_BATCH_ND + CONV_2D + BATCH_TO_SPACE_ND, so dilation is
    tested on a hand-built model below.)
    """
    keras = pytest.importorskip("keras")
    from tfconvert import convert

    L = keras.layers
    x = keras.Input((8, 8, 2))
    p = L.ZeroPadding2D(((1, 0), (2, 1)))(x)
    a = L.Conv2D(4, 3, strides=1, padding="same", activation="relu6")(p)
    b = L.DepthwiseConv2D(3, depth_multiplier=2, padding="same")(p)
    c = L.LeakyReLU(negative_slope=0.2)(L.Concatenate(axis=-1)([a, b]))
    d = L.MaxPooling2D(2, strides=2)(L.Add()([a, b]))
    e = L.Dense(3)(L.Flatten()(d))
    f = L.Dense(3)(L.GlobalAveragePooling2D()(c))
    model = keras.Model(x, L.Softmax()(L.Add()([e, f])))
    data = np.random.default_rng(0).normal(size=(16, 8, 8, 2)).astype(np.float32)
    return load_tflite(convert(model, data), name="keras_mix")


def test_keras_model_ops_and_folding(keras_graph):
    g = keras_graph
    kinds = collections.Counter(op.kind.value for op in g.ops)
    assert g.name == "keras_mix" and g.source == "<bytes>"
    assert kinds["RESHAPE"] == 1 and kinds["PAD"] == 1 and kinds["MEAN"] == 1
    assert kinds["CONCATENATION"] == 1 and kinds["MAX_POOL_2D"] == 1 and kinds["LEAKY_RELU"] == 1
    # Flatten's SHAPE -> STRIDED_SLICE -> PACK chain is folded and its int32 tensors are gone
    # and, like PAD's paddings and MEAN's axes, no longer an input: the only constants left are
    # weights and biases
    weighted = (ir.OpKind.CONV_2D, ir.OpKind.DEPTHWISE_CONV_2D, ir.OpKind.FULLY_CONNECTED)
    params = {t for op in g.ops if op.kind in weighted for t in op.inputs[1:] if t}
    assert {n for n, t in g.tensors.items() if t.is_const} == params
    _check_structure(g)


def test_keras_model_attrs(keras_graph):
    g = keras_graph
    by_kind = {op.kind: op for op in g.ops}
    pad = by_kind[ir.OpKind.PAD]
    assert pad.attrs.paddings == ((0, 0), (1, 0), (2, 1), (0, 0)) and len(pad.inputs) == 1
    dw = by_kind[ir.OpKind.DEPTHWISE_CONV_2D].attrs
    assert dw.depth_multiplier == 2 and dw.padding == ir.Padding(1, 1, 1, 1)
    conv = by_kind[ir.OpKind.CONV_2D].attrs
    assert conv.activation is ir.Activation.RELU6 and conv.padding == ir.Padding(1, 1, 1, 1)
    assert by_kind[ir.OpKind.CONCATENATION].attrs.axis == 3
    mean = by_kind[ir.OpKind.MEAN]
    assert mean.attrs.axes == (1, 2) and mean.attrs.keep_dims is False and len(mean.inputs) == 1
    assert by_kind[ir.OpKind.LEAKY_RELU].attrs.alpha == pytest.approx(0.2)
    assert by_kind[ir.OpKind.RESHAPE].inputs == [by_kind[ir.OpKind.MAX_POOL_2D].outputs[0]]


# ---- hand-built edge cases ------------------------------------------------------------------------


def test_handmade_depthwise_multiplier_from_shapes():
    g = load_tflite(_dw_model(multiplier=0))
    op = g.ops[0]
    assert op.kind is ir.OpKind.DEPTHWISE_CONV_2D and op.attrs.depth_multiplier == 2
    assert op.attrs.activation is ir.Activation.RELU6 and op.attrs.padding == ir.Padding(1, 1, 1, 1)
    b, w, x = g.tensors["b"], g.tensors["w"], g.tensors["x"]
    np.testing.assert_array_equal(b.data, [1, -2, 300000, -70000])
    np.testing.assert_array_equal(w.data, np.arange(36).reshape(1, 3, 3, 4))
    assert w.quant.axis == 3 and w.quant.scale == tuple(float(np.float32(s)) for s in (0.1, 0.2, 0.3, 0.4))
    assert x.quant == ir.QuantParams((0.5,), (-3,), None)
    assert g.name == "model" and g.source == "<bytes>"
    # a stale option is overridden by the shapes, like TFLM does
    assert load_tflite(_dw_model(multiplier=7)).ops[0].attrs.depth_multiplier == 2


@pytest.mark.parametrize("padding, stride, expected", [
    (0, 1, (ir.Padding(2, 2, 3, 3), (7, 9))),  # SAME: effective window 5x7, total pad 4 and 6
    (0, 2, (ir.Padding(2, 2, 3, 3), (4, 5))),  # SAME, stride 2: out 4x5, total (4-1)*2+5-7=4, (5-1)*2+7-9=6
    (1, 1, (ir.Padding(), (3, 3))),  # VALID: 7-5+1, 9-7+1
])
def test_handmade_dilated_conv_padding(padding, stride, expected):
    pad, (oh, ow) = expected
    tensors = [T("x", (1, 7, 9, 2)), T("w", (3, 3, 4, 2), data=bytes(72)), T("y", (1, oh, ow, 3))]
    opts = ("Conv2DOptions", {"Padding": padding, "StrideW": stride, "StrideH": stride,
                              "DilationHFactor": 2, "DilationWFactor": 2})
    op = load_tflite(build(tensors, [O(OP.CONV_2D, [0, 1, -1], [2], opts)], [0], [2])).ops[0]
    assert (op.attrs.dilation_h, op.attrs.dilation_w, op.attrs.stride_h) == (2, 2, stride)
    assert op.attrs.padding == pad


def test_handmade_absent_bias_and_duplicate_names(tmp_path):
    data = _dw_model(bias=False)
    g = load_tflite(data)
    assert g.ops[0].inputs[2] is None and "b" not in g.tensors
    tensors = [T("same", (1, 4)), T("same", (1, 4))]
    g = load_tflite(build(tensors, [O(OP.RELU, [0], [1])], [0], [1]))
    assert len(set(g.tensors)) == 2 and g.inputs != g.outputs
    path = tmp_path / "tiny_relu.tflite"
    path.write_bytes(build([T(None, (1, 4)), T("r", (1, 4))], [O(OP.RELU, [0], [1])], [0], [1]))
    g = load_tflite(path)
    assert g.name == "tiny_relu" and g.source == str(path) and g.ops[0].kind is ir.OpKind.RELU


def test_handmade_flatten_chain_is_folded():
    """SHAPE -> STRIDED_SLICE(shrink) -> PACK -> RESHAPE, as Keras 3 writes Flatten."""
    tensors = [T("x", (1, 2, 3, 4)), T("shape", (4,), "int32"), T("b", (1,), "int32", _i32(0)),
               T("e", (1,), "int32", _i32(1)), T("s", (1,), "int32", _i32(1)), T("n", (), "int32"),
               T("m1", (), "int32", _i32(-1)), T("packed", (2,), "int32"), T("y", (1, 24))]
    ops = [O(OP.SHAPE, [0], [1]),
           O(OP.STRIDED_SLICE, [1, 2, 3, 4], [5], ("StridedSliceOptions", {"ShrinkAxisMask": 1})),
           O(OP.PACK, [5, 6], [7], ("PackOptions", {"ValuesCount": 2, "Axis": 0})),
           O(OP.RESHAPE, [0, 7], [8])]
    g = load_tflite(build(tensors, ops, [0], [8]))
    assert [op.kind for op in g.ops] == [ir.OpKind.RESHAPE] and g.ops[0].inputs == ["x"]
    assert set(g.tensors) == {"x", "y"}


def test_unsupported_ops_name_op_and_layer():
    tensors = [T("x", (1, 4), "float32"), T("model/my_layer/Exp", (1, 4), "float32")]
    with pytest.raises(UnsupportedError, match="EXP") as e:
        load_tflite(build(tensors, [O(OP.EXP, [0], [1])], [0], [1]))
    assert "my_layer" in str(e.value) and "EXP" in str(e.value)
    with pytest.raises(UnsupportedError, match="MyCustomOp"):
        load_tflite(build(tensors, [O(OP.CUSTOM, [0], [1], custom="MyCustomOp")], [0], [1]))
    fc = [T("x", (1, 4)), T("w", (2, 4), data=bytes(8)), T("y", (1, 2))]
    opts = ("FullyConnectedOptions", {"WeightsFormat": 1})
    with pytest.raises(UnsupportedError, match="weights_format"):
        load_tflite(build(fc, [O(OP.FULLY_CONNECTED, [0, 1, -1], [2], opts)], [0], [2]))


@pytest.mark.parametrize("case, pattern", [
    ("input_index", r"tensor index 9.*out of range"),
    ("buffer_size", r"'w'.*holds 35 bytes.*needs 36"),
    ("no_subgraph", r"no subgraph"),
    ("identifier", r"identifier"),
    ("bad_padding", r"output 'y'.*window"),
    ("unproduced", r"neither a model input"),
    ("quant_axis", r"quantized_dimension"),
])
def test_malformed_models(case, pattern):
    if case == "input_index":
        data = _dw_model(ops=[O(OP.DEPTHWISE_CONV_2D, [0, 1, 9], [3], None)])
    elif case == "buffer_size":
        tensors = [T("x", (1, 4, 4, 2)), T("w", (1, 3, 3, 4), data=bytes(35)), T("y", (1, 4, 4, 4))]
        data = build(tensors, [O(OP.DEPTHWISE_CONV_2D, [0, 1, -1], [2], None)], [0], [2])
    elif case == "no_subgraph":
        data = build([T("x", (1, 4))], [], [0], [0], n_subgraphs=0)
    elif case == "identifier":
        data = bytearray(_dw_model())
        data[4:8] = b"XXXX"
        data = bytes(data)
    elif case == "bad_padding":
        tensors = [T("x", (1, 4, 4, 2)), T("w", (3, 3, 3, 2), data=bytes(54)), T("y", (1, 4, 4, 3))]
        opts = ("Conv2DOptions", {"Padding": 1, "StrideW": 1, "StrideH": 1})
        data = build(tensors, [O(OP.CONV_2D, [0, 1, -1], [2], opts)], [0], [2])
    elif case == "unproduced":
        tensors = [T("x", (1, 4)), T("ghost", (1, 4)), T("y", (1, 4))]
        data = build(tensors, [O(OP.ADD, [0, 1], [2])], [0], [2])
    else:
        tensors = [T("x", (1, 4)), T("w", (2, 4), data=bytes(8), scale=(1.0, 2.0, 3.0), zero_point=(0,),
                                     axis=1), T("y", (1, 2))]
        data = build(tensors, [O(OP.FULLY_CONNECTED, [0, 1, -1], [2])], [0], [2])
    with pytest.raises(ModelFormatError, match=pattern) as e:
        load_tflite(data)
    assert "<bytes>" in str(e.value)


def test_malformed_file_names_path(tmp_path):
    path = tmp_path / "junk.tflite"
    path.write_bytes(b"\x00" * 3)
    with pytest.raises(ModelFormatError, match="junk.tflite"):
        load_tflite(path)
    with pytest.raises(ModelFormatError, match="missing.tflite"):
        load_tflite(tmp_path / "missing.tflite")


def test_truncated_and_random_bytes_raise_model_format_error():
    data = _dw_model()
    rng = np.random.default_rng(1)
    cuts = sorted(set([0, 4, 7, 8, 12, 16, 32, len(data) // 2, len(data) - 1]
                      + rng.integers(8, len(data), 30).tolist()))
    for n in cuts:
        with pytest.raises(ModelFormatError):
            load_tflite(data[:n])
    for _ in range(40):
        junk = bytearray(rng.integers(0, 256, int(rng.integers(8, 400)), dtype=np.uint8).tobytes())
        junk[4:8] = b"TFL3"
        with pytest.raises(ModelFormatError):
            load_tflite(bytes(junk))


def test_bit_flips_never_escape_as_raw_errors():
    """Corrupting single bytes of a valid model gives a Graph or a typed tinygen error, nothing else."""
    data = _dw_model()
    rng = np.random.default_rng(2)
    for _ in range(300):
        mutated = bytearray(data)
        for pos in rng.integers(0, len(data), int(rng.integers(1, 4))):
            mutated[pos] = int(rng.integers(0, 256))
        try:
            load_tflite(bytes(mutated))
        except (ModelFormatError, UnsupportedError):
            pass


def test_float_index_operand_is_rejected_by_name(models_dir, tmp_path):
    """A strided slice whose begin tensor is retyped to float32 (found by the fuzzer) is one clear error."""
    import importlib.util

    from tinygen.errors import TinygenError

    spec = importlib.util.spec_from_file_location("fuzz", Path(__file__).resolve().parents[2] / "scripts" / "fuzz.py")
    fuzz = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(fuzz)
    src = models_dir / "tflm/int16_ops/strided_slice/strided_slice0.tflite"
    model = fuzz._schema().ModelT.InitFromPackedBuf(bytearray(src.read_bytes()), 0)
    sub = model.subgraphs[0]
    begin = sub.tensors[sub.operators[0].inputs[1]]
    begin.type = 0  # FLOAT32: the int32 data now reads as floats
    path = tmp_path / "bad.tflite"
    path.write_bytes(fuzz.pack(model))
    with pytest.raises(TinygenError, match="begin .* must be an integer tensor, got float32"):
        load_tflite(path)
