"""ONNX ConvTranspose as ops tinygen quantizes (int8 and 16x8): stride-1 CONV_2Ds compute the output phases,
RESHAPEs and a CONCATENATION interleave them (frontend/deconv_phases.py), a STRIDED_SLICE crops the pads.

With stride s and kernel K, the unpadded transposed-conv output at row q*s + r takes input rows q - m with
kernel row r + m*s (m = 0 .. M-1, M = ceil(K / s)): for each phase r, a plain correlation of the input
(padded by M-1 on both sides) with the phase's taps reversed. One conv per row phase r_h has the column
phases as s_w groups of output channels (r_w*O + o), so that a RESHAPE interleaves the columns; the rows are
stacked by a CONCATENATION on a new axis and merged by a RESHAPE. output_padding rows get the bias only, as in
ONNX.
"""
from __future__ import annotations

import numpy as np

from tinygen import ir
from tinygen.frontend.deconv_phases import phase_weights, phases
from tinygen.frontend.onnx.builder import Builder
from tinygen.frontend.onnx.convert_nn import _finish_spatial, _per_dim, spatial_input
from tinygen.frontend.onnx.fold import attrs
from tinygen.ir import OpKind


def _geometry(b: Builder, a: dict, rank: int, in_hw, k_hw, s_hw) -> tuple:
    """(pads before, output size) per spatial dimension, from pads / auto_pad / output_padding / output_shape."""
    n = rank - 2
    extra = _per_dim(a.get("output_padding"), rank, 0)
    extra = (0, extra[1]) if rank == 3 else extra  # _per_dim gives a 1-D op's H the size 1
    full = tuple((i - 1) * s + k for i, k, s in zip(in_hw, k_hw, s_hw))
    auto = a.get("auto_pad", "NOTSET")
    if "output_shape" in a:
        want = _per_dim(a["output_shape"][-n:], rank, 1)
        totals = [f + e - o for f, e, o in zip(full, extra, want)]
        auto = auto if auto != "NOTSET" else "SAME_UPPER"
    elif auto in ("SAME_UPPER", "SAME_LOWER"):
        want = tuple(i * s for i, s in zip(in_hw, s_hw))
        totals = [f + e - o for f, e, o in zip(full, extra, want)]
    else:
        pads = [int(p) for p in a.get("pads", [0] * 2 * n)]
        pads = ([0, pads[0], 0, pads[1]] if rank == 3 else pads)
        before, after = (pads[0], pads[1]), (pads[2], pads[3])
        return before, tuple(f + e - lo - hi for f, e, lo, hi in zip(full, extra, before, after))
    if any(t < 0 for t in totals):
        raise b.fail(f"output shape {list(want)} is larger than the transposed conv produces")
    before = tuple(t // 2 if auto == "SAME_UPPER" else t - t // 2 for t in totals)
    return before, tuple(want)


def conv_transpose(b: Builder) -> None:
    a = attrs(b.node)
    x, rank = spatial_input(b)
    w = b.const_input(1, "weights").astype(np.float32)
    bias = b.const_input(2, "bias")
    if rank == 3:
        w = w[:, :, None, :]
    c, o, kh, kw = w.shape
    _, h, wd, cin = b.g.tensors[x].shape
    if int(a.get("group", 1)) != 1 or c != cin:
        raise b.fail(f"group={a.get('group', 1)} is not supported (only 1)")
    if any(d != 1 for d in a.get("dilations", [1])):
        raise b.fail(f"dilations {list(a['dilations'])} are not supported")
    s = _per_dim(a.get("strides"), rank, 1)
    m = (-(-kh // s[0]), -(-kw // s[1]))
    (top, left), (oh, ow) = _geometry(b, a, rank, (h, wd), (kh, kw), s)
    q = (h + m[0] - 1, wd + m[1] - 1)
    if top < 0 or left < 0 or top + oh > q[0] * s[0] or left + ow > q[1] * s[1]:
        raise b.fail("these pads / output_padding reach outside the transposed conv's output")
    y = phases(b, b.name, x, phase_weights(w, s, m), bias, s, m, q, o)
    full = (1, q[0] * s[0], q[1] * s[1], o)
    if (top, left, oh, ow) != (0, 0, full[1], full[2]):
        y = b.op(OpKind.STRIDED_SLICE, [y], (1, oh, ow, o),
                 ir.StridedSliceAttrs((0, top, left, 0), (1, top + oh, left + ow, o), (1, 1, 1, 1)))
    _finish_spatial(b, y, rank)


CONVERTERS = {"ConvTranspose": conv_transpose}
