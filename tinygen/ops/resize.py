"""Spatial resizing of NHWC tensors: RESIZE_NEAREST_NEIGHBOR, RESIZE_BILINEAR.

The output size (the TFLite `size` operand) must be a constant; the IR keeps it as the output tensor's
H and W. Both ops copy or blend input values without requantization (TFLM does not rescale them), so
the output keeps the input's quantization.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from tinygen.ir import OpKind
from tinygen.ops.checks import CheckContext
from tinygen.ops.common import keras_fail
from tinygen.ops.spec import QAT_SHARED, KerasLayer, Lowering, NotApplicable, OpSpec, TfliteOp, register
from tinygen.ops.tflite_context import OpContext


@dataclass(frozen=True)
class ResizeAttrs:
    """RESIZE_NEAREST_NEIGHBOR / RESIZE_BILINEAR options, as TFLite names them. The output size is the
    output tensor's H and W."""
    align_corners: bool = False
    half_pixel_centers: bool = False


# ---- the index arithmetic both the float reference and the kernels use ----------------------------


def nearest_index(in_size: int, out_size: int, align_corners: bool, half_pixel_centers: bool) -> np.ndarray:
    """Source index of every output position along one axis, in TFLM's float32 arithmetic: scale =
    in / out (or (in - 1) / (out - 1) with align_corners), (i + 0.5 if half_pixel_centers) * scale
    rounded half away from zero with align_corners, else floored; clamped to [0, in - 1]."""
    f32 = np.float32
    if align_corners and out_size > 1:
        scale = f32(in_size - 1) / f32(out_size - 1)
    else:
        scale = f32(in_size) / f32(out_size)
    offset = f32(0.5) if half_pixel_centers else f32(0.0)
    pos = ((np.arange(out_size).astype(np.float32) + offset) * scale).astype(np.float64)  # exact in float64
    idx = np.floor(pos + 0.5) if align_corners else np.floor(pos)  # pos >= 0: half away from zero
    idx = np.minimum(idx.astype(np.int64), in_size - 1)
    if half_pixel_centers:
        idx = np.maximum(idx, 0)
    return idx


def _bilinear_axis(in_size: int, out_size: int, align_corners: bool, half_pixel_centers: bool) -> tuple:
    """(lower index, upper index, fraction) per output position: TFLite's float interpolation values."""
    f32 = np.float32
    scale = f32(in_size) / f32(out_size)
    if align_corners and out_size > 1:
        scale = f32(in_size - 1) / f32(out_size - 1)
    pos = np.arange(out_size).astype(np.float32)
    pos = (pos + f32(0.5)) * scale - f32(0.5) if half_pixel_centers else pos * scale
    lo = np.maximum(np.floor(pos).astype(np.int64), 0)
    hi = np.minimum(np.ceil(pos).astype(np.int64), in_size - 1)
    return lo, hi, (pos - lo).astype(np.float32)


# ---- checks ------------------------------------------------------------------------------------


def check_resize_shapes(c: CheckContext) -> None:
    """input and output are rank 4 (NHWC) with the same batch and channels, and a non-empty output"""
    x, y = c.ins[0], c.out
    c.rank(x, 4, "input")
    c.rank(y, 4, "output")
    if x.shape[0] != y.shape[0] or x.shape[3] != y.shape[3]:
        raise c.bad(f"input {list(x.shape)} and output {list(y.shape)} differ in batch or channels")
    if min(y.shape[1:3]) < 1 or min(x.shape[1:3]) < 1:
        raise c.bad(f"input {list(x.shape)} or output {list(y.shape)} has an empty H or W")


def check_resize_flags(c: CheckContext) -> None:
    """align_corners and half_pixel_centers are booleans"""
    for name in ("align_corners", "half_pixel_centers"):
        if not isinstance(getattr(c.a, name), bool):
            raise c.bad(f"{name} is {getattr(c.a, name)!r}, must be a boolean")


def check_bilinear_flags(c: CheckContext) -> None:
    """align_corners and half_pixel_centers are not both true (TFLM rejects the pair)"""
    if c.a.align_corners and c.a.half_pixel_centers:
        raise c.unsupported("align_corners and half_pixel_centers are both true")


# ---- float references --------------------------------------------------------------------------


def float_resize_nearest(op, ins, out_shape, graph):
    x, a = ins[0], op.attrs
    (_, h, w, _), (_, oh, ow, _) = x.shape, out_shape
    ys = nearest_index(h, oh, a.align_corners, a.half_pixel_centers)
    xs = nearest_index(w, ow, a.align_corners, a.half_pixel_centers)
    return x[:, ys][:, :, xs]


def float_resize_bilinear(op, ins, out_shape, graph):
    x, a = np.asarray(ins[0], np.float32), op.attrs
    (_, h, w, _), (_, oh, ow, _) = x.shape, out_shape
    y0, y1, fy = _bilinear_axis(h, oh, a.align_corners, a.half_pixel_centers)
    x0, x1, fx = _bilinear_axis(w, ow, a.align_corners, a.half_pixel_centers)
    fy, fx = fy[None, :, None, None], fx[None, None, :, None]
    top = x[:, y0][:, :, x0] * (1 - fx) + x[:, y0][:, :, x1] * fx
    bottom = x[:, y1][:, :, x0] * (1 - fx) + x[:, y1][:, :, x1] * fx
    return top * (1 - fy) + bottom * fy


# ---- TFLite ------------------------------------------------------------------------------------


def tflite_resize(kind: OpKind):
    def convert(c: OpContext):
        x, y = c.input(0, rank=4), c.output(rank=4)
        size = c.int_const(1, "size").reshape(-1)
        if size.shape != (2,) or tuple(int(v) for v in size) != tuple(y.shape[1:3]):
            raise c.bad(f"size {size.tolist()} must be 2 values equal to the output's H, W {list(y.shape[1:3])}")
        o = c.op.options
        attrs = ResizeAttrs(bool(o.get("AlignCorners", False)), bool(o.get("HalfPixelCenters", False)))
        if kind == OpKind.RESIZE_BILINEAR and attrs.align_corners and attrs.half_pixel_centers:
            raise c.unsupported("align_corners and half_pixel_centers are both true (TFLM rejects the pair)")
        return kind, attrs, [c.op.inputs[0]]
    return convert


_OPTIONS = {OpKind.RESIZE_NEAREST_NEIGHBOR: "ResizeNearestNeighborOptions",
            OpKind.RESIZE_BILINEAR: "ResizeBilinearOptions"}


def export_resize(w, op, ins, outs) -> None:
    size = np.asarray(w.graph.tensors[op.outputs[0]].shape[1:3], dtype=np.int32)
    w.emit(op.kind.value, [ins[0], w.new_const(f"{op.name}/size", size)], outs, _OPTIONS[op.kind],
           (("AlignCorners", bool(op.attrs.align_corners)), ("HalfPixelCenters", bool(op.attrs.half_pixel_centers))))


# ---- Keras -------------------------------------------------------------------------------------


def keras_upsampling(kind: OpKind):
    """UpSampling2D: 'nearest' repeats rows and columns (RESIZE_NEAREST_NEIGHBOR, no flags);
    'bilinear' is TensorFlow's resize with half-pixel centers (RESIZE_BILINEAR)."""
    def convert(b, layer, cfg, ins, out_shape) -> str:
        interp = cfg.get("interpolation", "nearest")
        if cfg.get("data_format", "channels_last") not in (None, "channels_last"):
            raise keras_fail(layer, "only data_format='channels_last' is supported")
        if interp == "nearest":
            return b.op(OpKind.RESIZE_NEAREST_NEIGHBOR, layer.name, ins, out_shape, ResizeAttrs())
        if interp == "bilinear":
            return b.op(OpKind.RESIZE_BILINEAR, layer.name, ins, out_shape, ResizeAttrs(False, True))
        raise keras_fail(layer, f"interpolation '{interp}' is not supported (nearest, bilinear)")
    return convert


# ---- specs -------------------------------------------------------------------------------------

_NO_BOUNDS = NotApplicable("no accumulator to overflow: the bilinear weights sum to 2^20 and the kernels "
                           "bound their sums in the lowering")
_FIELDS = ("AlignCorners", "HalfPixelCenters")

register(
    OpSpec(OpKind.RESIZE_NEAREST_NEIGHBOR, "NHWC resize to a constant H, W: each output copies its nearest input",
           tflite=(TfliteOp("RESIZE_NEAREST_NEIGHBOR", tflite_resize(OpKind.RESIZE_NEAREST_NEIGHBOR),
                            ("ResizeNearestNeighborOptions", _FIELDS)),),
           keras=(KerasLayer("UpSampling2D", keras_upsampling(OpKind.RESIZE_NEAREST_NEIGHBOR), QAT_SHARED),),
           checks=(check_resize_shapes, check_resize_flags), float_ref=float_resize_nearest, bounds=_NO_BOUNDS,
           export=export_resize, kernels=Lowering(("int8", "int16")), attrs=ResizeAttrs),
    OpSpec(OpKind.RESIZE_BILINEAR, "NHWC resize to a constant H, W: bilinear blend of the four nearest inputs",
           tflite=(TfliteOp("RESIZE_BILINEAR", tflite_resize(OpKind.RESIZE_BILINEAR),
                            ("ResizeBilinearOptions", _FIELDS)),),
           keras=NotApplicable("Keras UpSampling2D(interpolation='bilinear') is converted under "
                               "RESIZE_NEAREST_NEIGHBOR's UpSampling2D entry"),
           checks=(check_resize_shapes, check_resize_flags, check_bilinear_flags), float_ref=float_resize_bilinear,
           bounds=_NO_BOUNDS, export=export_resize, kernels=Lowering(("int8",)), attrs=ResizeAttrs),
)
