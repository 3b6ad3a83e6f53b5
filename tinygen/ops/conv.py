"""Convolutions: CONV_2D, DEPTHWISE_CONV_2D, TRANSPOSE_CONV (and the weighted-op rules dense.py shares)."""
from __future__ import annotations

import numpy as np

from tinygen import ir
from tinygen.fmath import matmul
from tinygen.ir import OpKind
from tinygen.ops.checks import MAX_ELEMENTS, QUANTIZED, CheckContext, checked_product
from tinygen.ops.common import (TFLITE_ACT, TFLITE_VALID, act, acc_limit, input_range, keras_expand, keras_fail, keras_padding,
                     tflite_padding_code, windows)
from tinygen.ops.spec import KerasLayer, Lowering, NotApplicable, OpSpec, TfliteOp, register
from tinygen.ops.tflite_context import SAME, VALID, OpContext

# ---- checks ------------------------------------------------------------------------------------


def _out_channels(c: CheckContext) -> int:
    f = c.ins[1]
    return f.shape[3] if c.op.kind == OpKind.DEPTHWISE_CONV_2D else f.shape[0]


def check_input_filter_4d(c: CheckContext) -> None:
    """input and filter are 4-D (NHWC input, OHWI or 1HWC filter)"""
    c.rank(c.ins[0], 4, "input")
    c.rank(c.ins[1], 4, "filter")


def check_filter_constant(c: CheckContext) -> None:
    """the filter is a constant tensor"""
    c.const(c.ins[1], "filter")


def check_output_4d(c: CheckContext) -> None:
    """the output is 4-D (NHWC)"""
    c.rank(c.out, 4, "output")


def check_conv_params(c: CheckContext) -> None:
    """strides and dilations are integers >= 1 and padding amounts integers in [0, 65536]"""
    c.positive(("stride_h", "stride_w", "dilation_h", "dilation_w"))
    c.padding(c.a.padding)


def check_conv_channels(c: CheckContext) -> None:
    """the filter's input channels equal the input's channels"""
    x, f = c.ins[0], c.ins[1]
    if f.shape[3] != x.shape[3]:
        raise c.bad(f"filter {list(f.shape)} does not match {x.shape[3]} input channels")


def check_depthwise_channels(c: CheckContext) -> None:
    """the depthwise filter is 1 x H x W x (input channels * depth_multiplier)"""
    x, f, a = c.ins[0], c.ins[1], c.a
    if f.shape[0] != 1:
        raise c.bad(f"depthwise filter {list(f.shape)} must have a leading 1")
    m = a.depth_multiplier
    if not isinstance(m, int) or m < 1 or x.shape[3] * m != f.shape[3]:
        raise c.bad(f"depth_multiplier {m} x {x.shape[3]} input channels != {f.shape[3]} filter channels")


def _conv_out_hw(c: CheckContext) -> tuple:
    x, f, a = c.ins[0], c.ins[1], c.a
    p = a.padding
    return (c.window_out(x.shape[1], f.shape[1], a.stride_h, a.dilation_h, p.top, p.bottom),
            c.window_out(x.shape[2], f.shape[2], a.stride_w, a.dilation_w, p.left, p.right))


def check_window_fits(c: CheckContext) -> None:
    """the window (dilation included) fits the padded input"""
    _conv_out_hw(c)


def check_conv_output_shape(c: CheckContext) -> None:
    """the output is (batch, windows down, windows across, output channels)"""
    oh, ow = _conv_out_hw(c)
    c.out_is((c.ins[0].shape[0], oh, ow, _out_channels(c)))


def check_accumulation_fits(c: CheckContext) -> None:
    """the accumulation length (filter taps x input channels) fits int32"""
    f = c.ins[1]
    depth = 1 if c.op.kind == OpKind.DEPTHWISE_CONV_2D else f.shape[3]
    if checked_product((f.shape[1], f.shape[2], depth)) is None:
        raise c.bad(f"filter {list(f.shape)}: accumulation length overflows int32")


def check_bias(c: CheckContext) -> None:
    """the bias, if any, is a constant with one value per output channel and zero point 0"""
    bias = c.ins[2] if len(c.ins) > 2 else None
    if bias is None:
        return
    n = _out_channels(c)
    c.const(bias, "bias")
    if bias.size != n:
        raise c.bad(f"bias '{bias.name}' {list(bias.shape)} has {bias.size} values for {n} output channels")
    if bias.quant is not None and any(z != 0 for z in bias.quant.zero_point):
        raise c.bad(f"bias '{bias.name}' has a non-zero zero point {bias.quant.zero_point[:4]}")
    if bias.quant is not None and bias.quant.per_axis and len(bias.quant.scale) != n:
        raise c.bad(f"bias '{bias.name}' has {len(bias.quant.scale)} scales for {n} channels")


def check_weights_quant(c: CheckContext) -> None:
    """quantized filters are per output channel (on the output-channel axis) and symmetric (zero point 0)"""
    from tinygen.ops.spec import spec_for

    x, f = c.ins[0], c.ins[1]
    if f.quant is None or f.dtype not in QUANTIZED:
        return
    q = f.quant
    want = spec_for(c.op.kind).weights_axis
    if q.per_axis and q.axis != want:
        raise c.bad(f"filter '{f.name}' is quantized on axis {q.axis}, expected the output channel axis {want}")
    if c.op.kind != OpKind.FULLY_CONNECTED and any(z != 0 for z in q.zero_point):
        raise c.bad(f"filter '{f.name}' has a non-zero zero point; int8 filters are symmetric")
    if x.quant is None and x.dtype in QUANTIZED:
        raise c.bad(f"input '{x.name}' has no quantization parameters")


def check_transpose_params(c: CheckContext) -> None:
    """strides are integers >= 1 and padding amounts integers in [0, 65536]"""
    c.positive(("stride_h", "stride_w"))
    c.padding(c.a.padding)


def check_transpose_shapes(c: CheckContext) -> None:
    """the filter is (output channels, H, W, input channels), input and output share the batch"""
    x, f, out = c.ins[0], c.ins[1], c.out
    if f.shape[3] != x.shape[3] or f.shape[0] != out.shape[3] or x.shape[0] != out.shape[0]:
        raise c.bad(f"filter {list(f.shape)} does not fit input {list(x.shape)} and output {list(out.shape)}")


def check_transpose_extent(c: CheckContext) -> None:
    """the upsampled extent (input - 1) * stride + filter + padding fits int32"""
    x, f, a = c.ins[0], c.ins[1], c.a
    for axis, (p, s, k) in enumerate(((a.padding.top, a.stride_h, f.shape[1]),
                                      (a.padding.left, a.stride_w, f.shape[2])), start=1):
        if (x.shape[axis] - 1) * s + k + p > MAX_ELEMENTS:
            raise c.bad(f"padding {p} / stride {s} / filter {k} on axis {axis} are out of range")


_CONV_CHECKS = (check_input_filter_4d, check_filter_constant, check_output_4d, check_conv_params)
_CONV_TAIL = (check_window_fits, check_conv_output_shape, check_accumulation_fits, check_bias, check_weights_quant)

# ---- float reference ---------------------------------------------------------------------------


def bias_of(ins):
    return ins[2] if len(ins) > 2 else None


def float_conv(op, ins, out_shape, graph):
    x, w, b = ins[0], ins[1], bias_of(ins)
    o, kh, kw, c = w.shape
    win = windows(x, kh, kw, op.attrs)
    n, oh, ow = win.shape[:3]
    cols = np.ascontiguousarray(win).reshape(n * oh * ow, c * kh * kw)
    wm = np.transpose(w, (3, 1, 2, 0)).reshape(c * kh * kw, o)
    y = matmul(cols, wm).reshape(n, oh, ow, o)
    return act(op.attrs.activation, y + b if b is not None else y)


def float_depthwise(op, ins, out_shape, graph):
    x, w, b = ins[0], ins[1], bias_of(ins)
    _, kh, kw, cm = w.shape
    m = op.attrs.depth_multiplier
    c = cm // m
    win = windows(x, kh, kw, op.attrs)
    with np.errstate(invalid="ignore"):  # einsum may go through BLAS: see tinygen/fmath.py
        y = np.einsum("nhwcij,ijcm->nhwcm", win, w.reshape(kh, kw, c, m), optimize=True)
    y = y.reshape(y.shape[:3] + (cm,))
    return act(op.attrs.activation, y + b if b is not None else y)


# ---- accumulator bounds ------------------------------------------------------------------------


def bounds_weighted(graph, op, ranges):
    """acc = bias + sum_k w_k (x_k - zp), bounded per output channel over x in [lo, hi].

    TRANSPOSE_CONV: each output sums a subset of the (tap, input channel) products of its OHWI filter
    row, so the conv bound over that row holds for it too."""
    if graph.tensors[op.inputs[1]].data is None or graph.tensors[op.inputs[0]].dtype == "float32":
        return None
    x, w = graph.tensors[op.inputs[0]], graph.tensors[op.inputs[1]]
    lo, hi = input_range(graph, x.name, ranges)
    zp = x.zero_point if x.quant is not None else 0
    wd = np.asarray(w.data, dtype=np.int64)
    if op.kind == OpKind.DEPTHWISE_CONV_2D:
        per_channel = wd.reshape(-1, wd.shape[-1]).T  # (C*M, kh*kw)
    else:
        per_channel = wd.reshape(wd.shape[0], -1)  # conv OHWI -> (O, kh*kw*I); dense (out, in)
    # max over x of |w (x - zp)| is |w| * max(|lo - zp|, |hi - zp|). Row sums of |w| are exact in int64
    # (|w| < 2^31, fewer than 2^31 terms); the products and the bias are summed as Python integers, so a
    # corrupt range or a bias near 2^63 cannot wrap the bound.
    reach = max(abs(int(lo) - int(zp)), abs(int(hi) - int(zp)))
    sums = [int(v) for v in np.abs(per_channel).sum(axis=1, dtype=np.int64)]
    bound = [v * reach for v in sums]
    bias_name = op.inputs[2] if len(op.inputs) > 2 else None
    if bias_name is not None and graph.tensors[bias_name].data is not None:
        bias = [abs(int(v)) for v in np.asarray(graph.tensors[bias_name].data).reshape(-1)]
        bound = [v + (bias[c] if len(bias) == len(bound) else max(bias, default=0)) for c, v in enumerate(bound)]
    worst = max(bound, default=0)
    return dict(max_abs_acc=worst, worst_channel=bound.index(worst) if bound else 0,
                acc_len=int(per_channel.shape[1]), input_range=[lo, hi], limit=acc_limit(graph, x.name))


# ---- TFLite export -----------------------------------------------------------------------------


def with_export_bias(w, op, ins) -> list:
    """TFLM's kernels expect the bias tensor to exist: an all-zero one when the op has none."""
    return ins if len(ins) >= 3 and ins[2] != -1 else ins[:2] + [w.zero_bias(op)]


def export_conv(w, op, ins, outs) -> None:
    """CONV_2D / DEPTHWISE_CONV_2D; padding that is neither SAME nor VALID becomes a PAD before a VALID conv."""
    a, ins = op.attrs, with_export_bias(w, op, ins)
    x, f = w.graph.tensors[op.inputs[0]], w.graph.tensors[op.inputs[1]]
    code = tflite_padding_code(x.shape, f.shape[1:3], (a.stride_h, a.stride_w), (a.dilation_h, a.dilation_w),
                               a.padding)
    if code is None:
        ins[0] = w.explicit_pad(op, x, a.padding)
        code = TFLITE_VALID
    common = (("Padding", code), ("StrideW", a.stride_w), ("StrideH", a.stride_h))
    tail = (("FusedActivationFunction", TFLITE_ACT[a.activation]), ("DilationWFactor", a.dilation_w),
            ("DilationHFactor", a.dilation_h))
    if op.kind == OpKind.CONV_2D:
        w.emit("CONV_2D", ins, outs, "Conv2DOptions", common + tail)
    else:
        w.emit("DEPTHWISE_CONV_2D", ins, outs, "DepthwiseConv2DOptions",
               common + (("DepthMultiplier", a.depth_multiplier),) + tail)


# ---- Keras converters --------------------------------------------------------------------------


def _conv_out(h, wd, kh, kw, padding, strides, dil) -> tuple:
    return ((h + padding.top + padding.bottom - ((kh - 1) * dil[0] + 1)) // strides[0] + 1,
            (wd + padding.left + padding.right - ((kw - 1) * dil[1] + 1)) // strides[1] + 1)


def keras_grouped_conv2d(b, layer, cfg, ins, out_shape) -> str:
    """Conv2D(groups=G): TFLM's CONV_2D has no groups, so each group is a channel slice of the input
    (STRIDED_SLICE), its own CONV_2D on the group's filters, and the outputs are concatenated."""
    groups = int(cfg["groups"])
    w = np.asarray(layer.kernel.numpy())  # (kh, kw, I / G, O)
    bias = layer.bias.numpy() if cfg.get("use_bias", True) else None
    x = ins[0]
    n, h, wd, cin = b.shape(x)
    kh, kw, gin, o = w.shape
    if cin != gin * groups or o % groups:
        raise keras_fail(layer, f"groups={groups} does not divide {cin} input and {o} output channels")
    strides, dil = tuple(cfg["strides"]), tuple(cfg["dilation_rate"])
    padding = keras_padding(layer, cfg, (h, wd), (kh, kw), strides, dil)
    oh, ow = _conv_out(h, wd, kh, kw, padding, strides, dil)
    go, outs = o // groups, []
    for g in range(groups):
        part = b.op(OpKind.STRIDED_SLICE, f"{layer.name}/group{g}/slice", [x], (n, h, wd, gin),
                    ir.StridedSliceAttrs((0, 0, 0, g * gin), (n, h, wd, (g + 1) * gin), (1, 1, 1, 1)))
        wname = b.const(f"{layer.name}/group{g}/kernel", np.transpose(w[..., g * go:(g + 1) * go], (3, 0, 1, 2)))
        bname = b.const(f"{layer.name}/group{g}/bias", bias[g * go:(g + 1) * go]) if bias is not None else None
        outs.append(b.op(OpKind.CONV_2D, f"{layer.name}/group{g}", [part, wname, bname], (n, oh, ow, go),
                         ir.Conv2DAttrs(strides[0], strides[1], dil[0], dil[1], padding)))
    y = b.op(OpKind.CONCATENATION, layer.name, outs, (n, oh, ow, o), ir.ConcatAttrs(3))
    if tuple(b.shape(y)) != tuple(out_shape):
        raise keras_fail(layer, f"computed output shape {b.shape(y)} differs from Keras {out_shape}")
    return b.activation(layer, cfg.get("activation"), y)


def keras_conv2d(b, layer, cfg, ins, out_shape, rank1=False) -> str:
    if cfg.get("groups", 1) != 1 and not rank1:
        return keras_grouped_conv2d(b, layer, cfg, ins, out_shape)
    if cfg.get("groups", 1) != 1:
        raise keras_fail(layer, f"groups={cfg['groups']} is not supported")
    w = np.asarray(layer.kernel.numpy() if hasattr(layer.kernel, "numpy") else layer.kernel)
    x = ins[0]
    if rank1:  # Conv1D the TFLite way: (1, W, C) -> (1, 1, W, C), conv with a 1xK filter, back
        x = keras_expand(b, layer, x)
        w = w[None]  # (1, K, I, O)
        strides, dil = (1, cfg["strides"][0]), (1, cfg["dilation_rate"][0])
    else:
        strides, dil = tuple(cfg["strides"]), tuple(cfg["dilation_rate"])
    _, h, wd, _ = b.shape(x)
    kh, kw, _, o = w.shape
    if rank1 and cfg.get("padding") == "causal":
        padding = ir.Padding(0, 0, (kw - 1) * dil[1], 0)
    else:
        padding = keras_padding(layer, cfg, (h, wd), (kh, kw), strides, dil)
    wname = b.const(f"{layer.name}/kernel", np.transpose(w, (3, 0, 1, 2)))
    bname = b.const(f"{layer.name}/bias", layer.bias.numpy()) if cfg.get("use_bias", True) else None
    attrs = ir.Conv2DAttrs(strides[0], strides[1], dil[0], dil[1], padding)
    oh, ow = _conv_out(h, wd, kh, kw, padding, strides, dil)
    y = b.op(OpKind.CONV_2D, layer.name, [x, wname, bname], (1, oh, ow, o), attrs,
             out_name=f"{layer.name}/conv" if rank1 else None)
    if rank1:
        y = b.op(OpKind.RESHAPE, f"{layer.name}/squeeze", [y], (1, ow, o), ir.ReshapeAttrs())
    if tuple(b.shape(y)) != tuple(out_shape):
        raise keras_fail(layer, f"computed output shape {b.shape(y)} differs from Keras {out_shape}")
    return b.activation(layer, cfg.get("activation"), y)


def keras_conv1d(b, layer, cfg, ins, out_shape) -> str:
    return keras_conv2d(b, layer, cfg, ins, out_shape, rank1=True)


def keras_depthwise(b, layer, cfg, ins, out_shape, kernel=None, bias=None, fuse_act=True) -> str:
    x = ins[0]
    w = np.asarray(kernel if kernel is not None else layer.kernel.numpy())  # (kh, kw, C, M)
    kh, kw, c, m = w.shape
    strides, dil = tuple(cfg["strides"]), tuple(cfg["dilation_rate"])
    _, h, wd, _ = b.shape(x)
    padding = keras_padding(layer, cfg, (h, wd), (kh, kw), strides, dil)
    wname = b.const(f"{layer.name}/depthwise_kernel", w.reshape(1, kh, kw, c * m))
    if kernel is None:
        bias = layer.bias.numpy() if cfg.get("use_bias", True) else None
    bname = b.const(f"{layer.name}/bias", bias) if bias is not None else None
    attrs = ir.DepthwiseConv2DAttrs(strides[0], strides[1], m, dil[0], dil[1], padding)
    oh, ow = _conv_out(h, wd, kh, kw, padding, strides, dil)
    name = layer.name if fuse_act else f"{layer.name}/depthwise"
    y = b.op(OpKind.DEPTHWISE_CONV_2D, name, [x, wname, bname], (1, oh, ow, c * m), attrs)
    return b.activation(layer, cfg.get("activation"), y) if fuse_act else y


def keras_separable(b, layer, cfg, ins, out_shape) -> str:
    """SeparableConv2D: DEPTHWISE_CONV_2D then a 1x1 CONV_2D."""
    y = keras_depthwise(b, layer, cfg, ins, None, kernel=layer.depthwise_kernel.numpy(), fuse_act=False)
    pw = layer.pointwise_kernel.numpy()  # (1, 1, C*M, O)
    wname = b.const(f"{layer.name}/pointwise_kernel", np.transpose(pw, (3, 0, 1, 2)))
    bname = b.const(f"{layer.name}/bias", layer.bias.numpy()) if cfg.get("use_bias", True) else None
    y = b.op(OpKind.CONV_2D, layer.name, [y, wname, bname], tuple(out_shape), ir.Conv2DAttrs(1, 1))
    return b.activation(layer, cfg.get("activation"), y)


# ---- TFLite converters ------------------------------------------------------------------------


def tflite_conv(c: OpContext):
    x, w = c.input(0, rank=4), c.input(1, rank=4)
    sh, sw, dh, dw = c.positive("StrideH", "StrideW", "DilationHFactor", "DilationWFactor")
    if w.shape[3] == 0 or x.shape[3] % w.shape[3] != 0:
        raise c.bad(f"filter {list(w.shape)} does not match input channels {x.shape[3]}")
    if x.shape[3] != w.shape[3]:
        raise c.unsupported(f"grouped convolution (input channels {x.shape[3]}, filter {list(w.shape)})")
    pad = c.window(x.shape, w.shape[1], w.shape[2], sh, sw, dh, dw)
    attrs = ir.Conv2DAttrs(sh, sw, dh, dw, pad, c.activation())
    return OpKind.CONV_2D, attrs, c.inputs_with_bias()


def tflite_depthwise(c: OpContext):
    x, w = c.input(0, rank=4), c.input(1, rank=4)
    sh, sw, dh, dw = c.positive("StrideH", "StrideW", "DilationHFactor", "DilationWFactor")
    in_ch, out_ch = x.shape[3], w.shape[3]
    if w.shape[0] != 1 or in_ch == 0 or out_ch % in_ch != 0:
        raise c.bad(f"depthwise filter {list(w.shape)} does not fit input channels {in_ch}")
    multiplier = int(c.op.options["DepthMultiplier"])
    if multiplier <= 0 or in_ch * multiplier != out_ch:
        multiplier = out_ch // in_ch  # the option is 0 or stale: the shapes are the truth
    pad = c.window(x.shape, w.shape[1], w.shape[2], sh, sw, dh, dw)
    attrs = ir.DepthwiseConv2DAttrs(sh, sw, multiplier, dh, dw, pad, c.activation())
    return OpKind.DEPTHWISE_CONV_2D, attrs, c.inputs_with_bias()


def transpose_padding(code: int, size: int, filt: int, stride: int) -> int:
    """Leading padding of one spatial axis as TFLM derives it for TRANSPOSE_CONV: the windowed-output
    formulas applied with the output size in the role of the input size."""
    if code == SAME:
        n = (size + stride - 1) // stride
    else:
        n = (size + stride - filt) // stride
    return max((n - 1) * stride + filt - size, 0) // 2


def tflite_transpose_conv(c: OpContext):
    if len(c.op.inputs) not in (3, 4):
        raise c.bad(f"expects 3 or 4 inputs (output_shape, filter, input[, bias]), got {len(c.op.inputs)}")
    w, x, y = c.input(1, rank=4), c.input(2, rank=4), c.output(rank=4)
    sh, sw = c.positive("StrideH", "StrideW")
    if w.shape[3] != x.shape[3] or w.shape[0] != y.shape[3] or x.shape[0] != y.shape[0]:
        raise c.bad(f"filter {list(w.shape)} does not fit input {list(x.shape)} and output {list(y.shape)}")
    code = int(c.op.options["Padding"])
    if code not in (SAME, VALID):
        raise c.bad(f"padding {code} is neither SAME nor VALID")
    top = transpose_padding(code, y.shape[1], w.shape[1], sh)
    left = transpose_padding(code, y.shape[2], w.shape[2], sw)
    ins = c.op.inputs
    bias = ins[3] if len(ins) > 3 and ins[3] >= 0 else None
    attrs = ir.TransposeConvAttrs(sh, sw, ir.Padding(top, 0, left, 0), c.activation())
    return OpKind.TRANSPOSE_CONV, attrs, [ins[2], ins[1], bias]



# ---- specs -------------------------------------------------------------------------------------

register(
    OpSpec(OpKind.CONV_2D, "2-D convolution, OHWI filter, optional bias, fused ReLU/ReLU6",
           tflite=(TfliteOp("CONV_2D", tflite_conv,
                           ("Conv2DOptions", ("Padding", "StrideW", "StrideH", "FusedActivationFunction", "DilationWFactor", "DilationHFactor"))),),
           keras=(KerasLayer("Conv2D", keras_conv2d), KerasLayer("Conv1D", keras_conv1d),
                  KerasLayer("SeparableConv2D", keras_separable)),
           checks=_CONV_CHECKS + (check_conv_channels,) + _CONV_TAIL,
           float_ref=float_conv, bounds=bounds_weighted, export=export_conv,
           kernels=Lowering(("int8", "int8 with low-bit weights", "int16x8")), inputs=(2, 3), weights_axis=0,
           fuses_activation=True),
    OpSpec(OpKind.DEPTHWISE_CONV_2D, "depthwise 2-D convolution with a depth multiplier, 1HW(C*M) filter",
           tflite=(TfliteOp("DEPTHWISE_CONV_2D", tflite_depthwise,
                           ("DepthwiseConv2DOptions", ("Padding", "StrideW", "StrideH", "DepthMultiplier", "FusedActivationFunction", "DilationWFactor", "DilationHFactor"))),), keras=(KerasLayer("DepthwiseConv2D", keras_depthwise),),
           checks=_CONV_CHECKS + (check_depthwise_channels,) + _CONV_TAIL,
           float_ref=float_depthwise, bounds=bounds_weighted, export=export_conv,
           kernels=Lowering(("int8", "int8 with low-bit weights", "int16x8")), inputs=(2, 3), weights_axis=3,
           fuses_activation=True),
    OpSpec(OpKind.TRANSPOSE_CONV, "transposed 2-D convolution (the output tensor's shape is the output size)",
           tflite=(TfliteOp("TRANSPOSE_CONV", tflite_transpose_conv,
                           ("TransposeConvOptions", ("Padding", "StrideW", "StrideH", "FusedActivationFunction"))),),
           keras=NotApplicable("Keras Conv2DTranspose / Conv1DTranspose become phase CONV_2Ds "
                                 "(frontend/keras_deconv.py); TRANSPOSE_CONV comes from .tflite files"),
           checks=(check_input_filter_4d, check_filter_constant, check_output_4d, check_transpose_params,
                   check_transpose_shapes, check_transpose_extent, check_accumulation_fits, check_bias,
                   check_weights_quant),
           float_ref=NotApplicable("only int16x8 .tflite models use it; they need no float calibration"),
           bounds=bounds_weighted,
           export=NotApplicable("no TFLite writer for TransposeConvOptions and its output_shape operand yet"),
           kernels=Lowering(("int16x8",)), inputs=(2, 3), weights_axis=0),
)
