"""ONNX Resize (nearest, linear) over H and W -> RESIZE_NEAREST_NEIGHBOR / RESIZE_BILINEAR.

ONNX describes a resize by a coordinate transformation mode (half_pixel, pytorch_half_pixel, align_corners,
asymmetric, ...) and, for nearest, a rounding mode; TFLite by two flags (align_corners,
half_pixel_centers). Which flags give the node's result depends on the sizes, so the frontend decides
by evaluation: the node runs in onnx's reference evaluator on a probe plane of the input's (H, W), and the
flags whose tinygen float reference gives the same values are taken. A node no flags reproduce is refused.
"""
from __future__ import annotations

import numpy as np

from tinygen.frontend.onnx.builder import Builder, Val
from tinygen.frontend.onnx.convert_nn import _finish_spatial, spatial_input
from tinygen.frontend.onnx.fold import attrs
from tinygen.ir import Op, OpKind

_FLAGS = ((False, False), (False, True), (True, False))
_KINDS = {"nearest": OpKind.RESIZE_NEAREST_NEIGHBOR, "linear": OpKind.RESIZE_BILINEAR}


def _out_size(b: Builder, v: Val) -> tuple:
    scales, sizes = b.const_input(2, "scales"), b.const_input(3, "sizes")
    if attrs(b.node).get("axes") is not None:
        raise b.fail("the axes attribute is not supported; give scales or sizes for every dimension")
    if sizes is not None and sizes.size:
        out = tuple(int(s) for s in sizes)
    elif scales is not None and scales.size:
        out = tuple(int(np.floor(n * float(s))) for n, s in zip(v.shape, scales))
    else:
        raise b.fail("neither scales nor sizes is given")
    if len(out) != len(v.shape) or tuple(out[:2]) != tuple(v.shape[:2]):
        raise b.fail(f"output {list(out)}: only the spatial dimensions of {list(v.shape)} may be resized")
    return out


def _onnx_probe(b: Builder, plane: np.ndarray, out_hw: tuple) -> np.ndarray:
    """The node's own result on a (1, 1, H, W) plane, from onnx's reference evaluator."""
    from onnx import TensorProto, helper, numpy_helper
    from onnx.reference import ReferenceEvaluator

    a = {k: v for k, v in attrs(b.node).items()}
    sizes = numpy_helper.from_array(np.asarray((1, 1) + tuple(out_hw), np.int64), "sizes")
    node = helper.make_node("Resize", ["x", "", "", "sizes"], ["y"], **a)
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, list(plane.shape))
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, None)
    y.type.tensor_type.elem_type = TensorProto.FLOAT
    g = helper.make_graph([node], "probe", [x], [y], [sizes])
    model = helper.make_model(g, opset_imports=[helper.make_opsetid("", 19)])
    return np.asarray(ReferenceEvaluator(model).run(None, {"x": plane})[0])


def resize(b: Builder) -> None:
    a = attrs(b.node)
    mode = a.get("mode", "nearest")
    if mode not in _KINDS:
        raise b.fail(f"mode '{mode}' is not supported (nearest, linear)")
    if a.get("antialias", 0):
        raise b.fail("antialias=1 is not supported")
    v = b.act_input(0)
    if len(v.shape) != 4:
        raise b.fail(f"input {list(v.shape)}: only 4-D (N, C, H, W) inputs are supported")
    out = _out_size(b, v)
    x, _ = spatial_input(b)
    _, h, w, c = b.g.tensors[x].shape
    oh, ow = out[2], out[3]
    plane = np.random.default_rng(0).standard_normal((1, 1, h, w)).astype(np.float32)
    try:
        want = _onnx_probe(b, plane, (oh, ow))[0, 0]
    except Exception as e:  # the reference evaluator refuses attribute combinations it does not define
        raise b.fail(f"cannot evaluate this Resize: {str(e).splitlines()[0] if str(e) else type(e).__name__}") from e
    kind = _KINDS[mode]
    from tinygen.ops.resize import ResizeAttrs
    from tinygen.ops.spec import spec_for

    for align, half in _FLAGS:
        if align and (oh < 2 or ow < 2):
            continue
        op = Op(kind, b.name, [x], ["probe"], ResizeAttrs(align, half))
        got = spec_for(kind).float_ref(op, [plane.reshape(1, h, w, 1)], (1, oh, ow, 1), b.g)
        if np.allclose(np.asarray(got).reshape(oh, ow), want, rtol=1e-5, atol=1e-5):
            y = b.op(kind, [x], (1, oh, ow, c), ResizeAttrs(align, half))
            _finish_spatial(b, y, 4)
            return
    raise b.fail(f"coordinate_transformation_mode '{a.get('coordinate_transformation_mode', 'half_pixel')}'"
                 + (f" with nearest_mode '{a.get('nearest_mode', 'round_prefer_floor')}'" if mode == "nearest" else "")
                 + f" from {h}x{w} to {oh}x{ow} matches no TFLite resize (align_corners, half_pixel_centers)")


CONVERTERS = {"Resize": resize}
