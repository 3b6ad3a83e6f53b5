"""Keras Conv2DTranspose and Conv1DTranspose (any strides, padding same / valid, output_padding; dilation 1)
as the phase convolutions of frontend/deconv_phases.py (shared with the ONNX ConvTranspose), then a
STRIDED_SLICE for TF's crop. TF's converter writes TRANSPOSE_CONV, which tinygen runs only for 16x8
.tflite files; the phase form quantizes as plain CONV_2Ds (int8 and 16x8) and TFLM runs its export.

Output size and crop follow TF's conv_transpose: length L = in * s + max(k - s, 0) (valid) or in * s
(same) without output_padding, else (in - 1) * s + k - 2 * pad + output_padding (pad = k // 2 for same,
0 for valid); the crop before is 0 for valid and max((in - 1) * s + k - L, 0) // 2 for same.
"""
from __future__ import annotations

import numpy as np

from tinygen import ir
from tinygen.frontend.deconv_phases import phase_weights, phases
from tinygen.ir import OpKind
from tinygen.ops.common import keras_fail


class _Emit:
    """The builder interface deconv_phases expects, over the Keras builder (ops named after the layer)."""

    def __init__(self, b, name: str):
        self.b, self.name = b, name

    @property
    def g(self):
        return self.b.g

    def const(self, name: str, value) -> str:
        return self.b.const(name, value)

    def op(self, kind, inputs, out_shape, attrs=None, suffix: str = "") -> str:
        return self.b.op(kind, self.name + suffix, inputs, out_shape, attrs)


def _length(n: int, k: int, s: int, padding: str, extra) -> tuple:
    """(output length, crop before) of one spatial dimension (module docstring)."""
    if extra is None:
        out = n * s + max(k - s, 0) if padding == "valid" else n * s
    else:
        out = (n - 1) * s + k - 2 * (k // 2 if padding == "same" else 0) + int(extra)
    before = 0 if padding == "valid" else max((n - 1) * s + k - out, 0) // 2
    return out, before


def _pair(v, n: int) -> tuple:
    if v is None:
        return (None,) * n
    return tuple(v) if isinstance(v, (list, tuple)) else (v,) * n


def _deconv(b, layer, cfg, x: str, w: np.ndarray, n_spatial: int) -> str:
    """x (1, H, W, C), w (C, O, kh, kw) -> the transposed conv (1, OH, OW, O) with bias, no activation."""
    if any(int(d) != 1 for d in _pair(cfg.get("dilation_rate", 1), n_spatial)):
        raise keras_fail(layer, f"dilation_rate={cfg['dilation_rate']} is not supported (only 1)")
    if int(cfg.get("groups", 1) or 1) != 1:
        raise keras_fail(layer, f"groups={cfg['groups']} is not supported (only 1)")
    padding = cfg.get("padding", "valid")
    strides = _pair(cfg.get("strides", 1), n_spatial)
    extra = _pair(cfg.get("output_padding"), n_spatial)
    if n_spatial == 1:
        strides, extra = (1,) + strides, (None if extra[0] is None else 0,) + extra
    c, o, kh, kw = w.shape
    _, h, wd, _ = b.shape(x)
    s = tuple(int(v) for v in strides)
    (oh, top), (ow, left) = (_length(h, kh, s[0], padding, extra[0]), _length(wd, kw, s[1], padding, extra[1]))
    m = (-(-kh // s[0]), -(-kw // s[1]))
    # output_padding may reach past the phases' H + M - 1 rows: more rows (bias only) from a longer input pad
    q = (max(h + m[0] - 1, -(-(top + oh) // s[0])), max(wd + m[1] - 1, -(-(left + ow) // s[1])))
    # no bias: zeros, as TF's converter writes them (16x8 convs without a bias differ from TFLM by one step)
    bias = np.asarray(layer.bias.numpy(), np.float32) if cfg.get("use_bias", True) else np.zeros(o, np.float32)
    y = phases(_Emit(b, layer.name), layer.name, x, phase_weights(w, s, m), bias, s, m, q, o)
    full = (q[0] * s[0], q[1] * s[1])
    if (top, left, oh, ow) != (0, 0) + full:
        y = b.op(OpKind.STRIDED_SLICE, f"{layer.name}/crop", [y], (1, oh, ow, o),
                 ir.StridedSliceAttrs((0, top, left, 0), (1, top + oh, left + ow, o), (1, 1, 1, 1)))
    return y


def conv2d_transpose(b, layer, cfg, ins, out_shape) -> str:
    w = np.asarray(layer.kernel.numpy(), np.float32).transpose(3, 2, 0, 1)  # (kh, kw, O, C) -> (C, O, kh, kw)
    y = _deconv(b, layer, cfg, ins[0], w, 2)
    if tuple(b.shape(y)) != tuple(out_shape):
        raise keras_fail(layer, f"output shape {list(b.shape(y))} differs from Keras's {list(out_shape)}")
    return b.activation(layer, cfg.get("activation"), y)


def conv1d_transpose(b, layer, cfg, ins, out_shape) -> str:
    """(1, W, C) -> RESHAPE (1, 1, W, C) -> the 2-D form -> RESHAPE (1, L, O)."""
    x = ins[0]
    _, wd, c = b.shape(x)
    x4 = b.op(OpKind.RESHAPE, f"{layer.name}/expand", [x], (1, 1, wd, c), ir.ReshapeAttrs())
    w = np.asarray(layer.kernel.numpy(), np.float32).transpose(2, 1, 0)[:, :, None, :]  # (k, O, C) -> (C, O, 1, k)
    y = _deconv(b, layer, cfg, x4, w, 1)
    _, _, ow, o = b.shape(y)
    if (1, ow, o) != tuple(out_shape):
        raise keras_fail(layer, f"output shape {[1, ow, o]} differs from Keras's {list(out_shape)}")
    y = b.op(OpKind.RESHAPE, f"{layer.name}/squeeze", [y], (1, ow, o), ir.ReshapeAttrs())
    return b.activation(layer, cfg.get("activation"), y)


HANDLERS = {"Conv2DTranspose": conv2d_transpose, "Conv1DTranspose": conv1d_transpose}
