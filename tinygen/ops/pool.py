"""Window and reduction ops: AVERAGE_POOL_2D, MAX_POOL_2D, MEAN."""
from __future__ import annotations

import numpy as np

from tinygen import ir
from tinygen.errors import UnsupportedError
from tinygen.ir import OpKind
from tinygen.ops.checks import CheckContext, checked_product
from tinygen.ops.common import INT32_MAX, TFLITE_ACT, act, input_range, keras_expand, keras_padding, tflite_padding_code, windows
from tinygen.ops.spec import QAT_RANGED, QAT_SHARED, KerasLayer, Lowering, NotApplicable, OpSpec, TfliteOp, register
from tinygen.ops.tflite_context import OpContext

# ---- checks ------------------------------------------------------------------------------------


def check_pool_4d(c: CheckContext) -> None:
    """input and output are 4-D (NHWC)"""
    c.rank(c.ins[0], 4, "input")
    c.rank(c.out, 4, "output")


def check_pool_params(c: CheckContext) -> None:
    """window sizes and strides are integers >= 1 and padding amounts integers in [0, 65536]"""
    c.positive(("filter_h", "filter_w", "stride_h", "stride_w"))
    c.padding(c.a.padding)


def _pool_out_hw(c: CheckContext) -> tuple:
    x, a = c.ins[0], c.a
    p = a.padding
    return (c.window_out(x.shape[1], a.filter_h, a.stride_h, 1, p.top, p.bottom),
            c.window_out(x.shape[2], a.filter_w, a.stride_w, 1, p.left, p.right))


def check_pool_window_fits(c: CheckContext) -> None:
    """the window fits the padded input"""
    _pool_out_hw(c)


def check_pool_output_shape(c: CheckContext) -> None:
    """the output is (batch, windows down, windows across, channels)"""
    x = c.ins[0]
    oh, ow = _pool_out_hw(c)
    c.out_is((x.shape[0], oh, ow, x.shape[3]))


def check_pool_window_size(c: CheckContext) -> None:
    """the window's cell count fits int32"""
    a = c.a
    if checked_product((a.filter_h, a.filter_w)) is None:
        raise c.bad(f"pool window {a.filter_h}x{a.filter_w} overflows int32")


def _mean_shape(c: CheckContext) -> tuple:
    x, a = c.ins[0], c.a
    if a.keep_dims:
        return tuple(1 if d in a.axes else n for d, n in enumerate(x.shape))
    return tuple(n for d, n in enumerate(x.shape) if d not in a.axes)


def check_mean_axes(c: CheckContext) -> None:
    """the reduced axes are a non-empty set of the input's dimensions"""
    r, axes = len(c.ins[0].shape), c.a.axes
    if not axes or any(not isinstance(v, int) or not 0 <= v < r for v in axes):
        raise c.bad(f"axes {axes} out of range for rank {r}")


def check_mean_output(c: CheckContext) -> None:
    """the output holds the input with the reduced axes removed (or kept as 1 with keep_dims)"""
    shape = _mean_shape(c)
    if checked_product(shape) != c.out.size:
        raise c.bad(f"output '{c.out.name}' {list(c.out.shape)} does not hold the mean {list(shape)}")


_POOL_CHECKS = (check_pool_4d, check_pool_params, check_pool_window_fits, check_pool_output_shape,
                check_pool_window_size)

# ---- float reference ---------------------------------------------------------------------------


def float_pool(op, ins, out_shape, graph):
    a, x = op.attrs, ins[0]
    if op.kind == OpKind.MAX_POOL_2D:
        y = windows(x, a.filter_h, a.filter_w, a, -np.inf).max(axis=(4, 5))
    else:  # padded cells are excluded from the count, as in TFLite
        s = windows(x, a.filter_h, a.filter_w, a).sum(axis=(4, 5))
        cnt = windows(np.ones(x.shape[:3] + (1,), np.float32), a.filter_h, a.filter_w, a).sum(axis=(4, 5))
        y = s / cnt
    return act(a.activation, y)


def float_mean(op, ins, out_shape, graph):
    return ins[0].mean(axis=op.attrs.axes, keepdims=op.attrs.keep_dims)


# ---- accumulator bounds ------------------------------------------------------------------------


def bounds_summing(graph, op, ranges):
    """Pools and MEAN sum raw values in int32 (int8 and int16 alike): count * max(|lo|, |hi|)."""
    x = graph.tensors[op.inputs[0]]
    if x.dtype == "float32":
        return None
    lo, hi = input_range(graph, x.name, ranges)
    if op.kind == OpKind.MEAN:
        count = int(np.prod([x.shape[a] for a in op.attrs.axes], dtype=np.int64))
    else:
        count = int(op.attrs.filter_h) * int(op.attrs.filter_w)
    return dict(max_abs_acc=count * max(abs(lo), abs(hi)), worst_channel=0, acc_len=count, input_range=[lo, hi],
                limit=INT32_MAX)  # tg_pool_s8/s16, tg_mean_s8/s16 sum in int32


# ---- TFLite export -----------------------------------------------------------------------------


def export_pool(w, op, ins, outs) -> None:
    """Pool2DOptions; explicit padding must be SAME or VALID (a PAD before a pool would change its result)."""
    a = op.attrs
    x = w.graph.tensors[op.inputs[0]]
    code = tflite_padding_code(x.shape, (a.filter_h, a.filter_w), (a.stride_h, a.stride_w), (1, 1), a.padding)
    if code is None:
        raise UnsupportedError(f"layer '{op.name}' ({op.kind.value}): padding {a.padding} is neither SAME nor "
                               f"VALID; a pool cannot take an explicit PAD without changing its result")
    w.emit(op.kind.value, ins, outs, "Pool2DOptions",
           (("Padding", code), ("StrideW", a.stride_w), ("StrideH", a.stride_h),
            ("FilterWidth", a.filter_w), ("FilterHeight", a.filter_h),
            ("FusedActivationFunction", TFLITE_ACT[a.activation])))


def export_mean(w, op, ins, outs) -> None:
    axes = w.new_const(f"{op.name}/axes", np.asarray(op.attrs.axes, dtype=np.int32))
    w.emit("MEAN", [ins[0], axes], outs, "ReducerOptions", (("KeepDims", bool(op.attrs.keep_dims)),))


# ---- Keras converters --------------------------------------------------------------------------


def keras_pool(kind: OpKind, rank1: bool):
    def convert(b, layer, cfg, ins, out_shape) -> str:
        x = ins[0]
        pool, strides = list(cfg["pool_size"]), list(cfg["strides"] or cfg["pool_size"])
        if rank1:
            x = keras_expand(b, layer, x)
            pool, strides = [1] + pool, [1] + strides
        _, h, wd, c = b.shape(x)
        padding = keras_padding(layer, cfg, (h, wd), pool, strides, (1, 1))
        oh = (h + padding.top + padding.bottom - pool[0]) // strides[0] + 1
        ow = (wd + padding.left + padding.right - pool[1]) // strides[1] + 1
        attrs = ir.Pool2DAttrs(pool[0], pool[1], strides[0], strides[1], padding)
        y = b.op(kind, layer.name, [x], (1, oh, ow, c), attrs, out_name=f"{layer.name}/pool" if rank1 else None)
        if rank1:
            y = b.op(OpKind.RESHAPE, f"{layer.name}/squeeze", [y], out_shape, ir.ReshapeAttrs())
        return y
    return convert


def keras_global_avg(b, layer, cfg, ins, out_shape) -> str:
    """MEAN is what TF's converter emits for global average pooling, so graphs and numerics line up
    with the converter's int8 models, and keep_dims needs no extra RESHAPE."""
    rank = len(b.shape(ins[0]))
    axes = tuple(range(1, rank - 1))
    return b.op(OpKind.MEAN, layer.name, ins, out_shape, ir.MeanAttrs(axes, bool(cfg.get("keepdims", False))))


def keras_global_max(b, layer, cfg, ins, out_shape) -> str:
    x = ins[0]
    if len(b.shape(x)) == 3:
        x = keras_expand(b, layer, x)
    _, h, wd, c = b.shape(x)
    y = b.op(OpKind.MAX_POOL_2D, layer.name, [x], (1, 1, 1, c), ir.Pool2DAttrs(h, wd, 1, 1),
             out_name=f"{layer.name}/pool")
    return b.op(OpKind.RESHAPE, f"{layer.name}/squeeze", [y], out_shape, ir.ReshapeAttrs())


# ---- TFLite converters ------------------------------------------------------------------------


def tflite_pool(kind: OpKind):
    def convert(c: OpContext):
        x = c.input(0, rank=4)
        sh, sw, fh, fw = c.positive("StrideH", "StrideW", "FilterHeight", "FilterWidth")
        pad = c.window(x.shape, fh, fw, sh, sw, 1, 1)
        return kind, ir.Pool2DAttrs(fh, fw, sh, sw, pad, c.activation()), [c.op.inputs[0]]
    return convert


def tflite_mean(c: OpContext):
    rank = len(c.input(0).shape)
    axes = c.int_const(1, "axes").reshape(-1).astype(np.int64).tolist()
    if any(not -rank <= a < rank for a in axes):
        raise c.bad(f"axes {axes} out of range for rank {rank}")
    norm = tuple(sorted({a % rank for a in axes}))
    return OpKind.MEAN, ir.MeanAttrs(norm, bool(c.op.options["KeepDims"])), [c.op.inputs[0]]


# ---- specs -------------------------------------------------------------------------------------

_INT = Lowering(("int8", "int16"))
_POOL_OPTIONS = ("Pool2DOptions", ("Padding", "StrideW", "StrideH", "FilterWidth", "FilterHeight",
                                   "FusedActivationFunction"))

register(
    OpSpec(OpKind.AVERAGE_POOL_2D, "average over a sliding window (padded cells not counted)",
           tflite=(TfliteOp("AVERAGE_POOL_2D", tflite_pool(OpKind.AVERAGE_POOL_2D), _POOL_OPTIONS),),
           keras=(KerasLayer("AveragePooling2D", keras_pool(OpKind.AVERAGE_POOL_2D, False), QAT_SHARED),
                  KerasLayer("AveragePooling1D", keras_pool(OpKind.AVERAGE_POOL_2D, True), QAT_SHARED)),
           checks=_POOL_CHECKS, float_ref=float_pool, bounds=bounds_summing, export=export_pool, kernels=_INT),
    OpSpec(OpKind.MAX_POOL_2D, "maximum over a sliding window",
           tflite=(TfliteOp("MAX_POOL_2D", tflite_pool(OpKind.MAX_POOL_2D), _POOL_OPTIONS),),
           keras=(KerasLayer("MaxPooling2D", keras_pool(OpKind.MAX_POOL_2D, False), QAT_SHARED),
                  KerasLayer("MaxPooling1D", keras_pool(OpKind.MAX_POOL_2D, True), QAT_SHARED),
                  KerasLayer("GlobalMaxPooling2D", keras_global_max, QAT_SHARED),
                  KerasLayer("GlobalMaxPooling1D", keras_global_max, QAT_SHARED)),
           checks=_POOL_CHECKS, float_ref=float_pool,
           bounds=NotApplicable("a max compares values; nothing accumulates"),
           export=export_pool, kernels=_INT),
    OpSpec(OpKind.MEAN, "mean over a set of axes, optionally keeping them as size 1",
           tflite=(TfliteOp("MEAN", tflite_mean,
                           ("ReducerOptions", ("KeepDims",))),),
           keras=(KerasLayer("GlobalAveragePooling2D", keras_global_avg, QAT_RANGED),
                  KerasLayer("GlobalAveragePooling1D", keras_global_avg, QAT_RANGED)),
           checks=(check_mean_axes, check_mean_output), float_ref=float_mean, bounds=bounds_summing,
           export=export_mean, kernels=_INT, float_batchable=lambda op: 0 not in op.attrs.axes),
)
