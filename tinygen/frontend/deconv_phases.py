"""A transposed convolution (groups 1, dilation 1) as ops tinygen quantizes (int8 and 16x8), shared by the
ONNX ConvTranspose and Keras Conv1DTranspose / Conv2DTranspose converters: stride-1 CONV_2Ds compute the
output phases, RESHAPEs and a CONCATENATION interleave them (the caller crops the pads).

With stride s and kernel K, the unpadded transposed-conv output at row q*s + r takes input rows q - m with
kernel row r + m*s (m = 0 .. M-1, M = ceil(K / s)): for each phase r, a plain correlation of the input
(padded by M-1 on both sides) with the phase's taps reversed. One conv per row phase r_h has the column
phases as s_w groups of output channels (r_w*O + o), so that a RESHAPE interleaves the columns; the rows are
stacked by a CONCATENATION on a new axis and merged by a RESHAPE. Rows past the full output (output
padding) get the bias only.

The builder `b` given to `phases` has `const(name, value) -> tensor` and `op(kind, inputs, out_shape,
attrs, suffix) -> tensor` (the op named after the layer plus `suffix`).
"""
from __future__ import annotations

import numpy as np

from tinygen import ir
from tinygen.ir import OpKind


def b_shape(b, x: str) -> tuple:
    """(H, W) of an NHWC tensor of the builder's graph."""
    return tuple(b.g.tensors[x].shape[1:3])


def phase_weights(w: np.ndarray, s: tuple, m: tuple) -> np.ndarray:
    """(C, O, kh, kw) weights (ONNX's layout) -> OHWI conv weights (s_h*s_w*O, M_h, M_w, C) of the phase conv."""
    c, o, kh, kw = w.shape
    out = np.zeros((s[0], s[1], o, m[0], m[1], c), np.float32)
    for rh in range(s[0]):
        for rw in range(s[1]):
            for th in range(m[0]):
                for tw in range(m[1]):
                    ih, iw = rh + (m[0] - 1 - th) * s[0], rw + (m[1] - 1 - tw) * s[1]
                    if ih < kh and iw < kw:
                        out[rh, rw, :, th, tw, :] = w[:, :, ih, iw].T
    return out.reshape(s[0] * s[1] * o, m[0], m[1], c)


def phases(b, name: str, x: str, wc: np.ndarray, bias, s: tuple, m: tuple, q: tuple, o: int) -> str:
    """The unpadded output (1, Qh*s_h, Qw*s_w, O): per row phase one CONV_2D whose s_w*O channels are the column
    phases (a RESHAPE interleaves them), the row phases stacked by a CONCATENATION and merged by a RESHAPE.
    q is at least (H + M_h - 1, W + M_w - 1); a larger q pads the input further after (bias-only rows)."""
    h, w = q[0] - m[0] + 1, q[1] - m[1] + 1  # the input size plus any extra padding after
    x_h, x_w = b_shape(b, x)
    pad = ir.Padding(m[0] - 1, m[0] - 1 + h - x_h, m[1] - 1, m[1] - 1 + w - x_w)
    rows = []
    for rh in range(s[0]):
        k = slice(rh * s[1] * o, (rh + 1) * s[1] * o)
        suffix = f"/phase{rh}" if s[0] > 1 else "/phases"
        wname = b.const(f"{name}{suffix}/weights", wc[k])
        bname = b.const(f"{name}{suffix}/bias", np.tile(bias, s[1])) if bias is not None else None
        y = b.op(OpKind.CONV_2D, [x, wname, bname], (1, q[0], q[1], s[1] * o), ir.Conv2DAttrs(1, 1, padding=pad),
                 suffix)
        rows.append(b.op(OpKind.RESHAPE, [y], (1, q[0], 1, q[1] * s[1] * o), ir.ReshapeAttrs(), f"{suffix}/columns"))
    y = rows[0] if len(rows) == 1 else b.op(OpKind.CONCATENATION, rows, (1, q[0], s[0], q[1] * s[1] * o),
                                            ir.ConcatAttrs(2), "/rows")
    return b.op(OpKind.RESHAPE, [y], (1, q[0] * s[0], q[1] * s[1], o), ir.ReshapeAttrs(), "/interleave")
