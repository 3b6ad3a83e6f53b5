"""Lowering rules for the Helium (MVE) int8 kernels (runtime_c/mve/tg_*_mve.c) of Cortex-M55 boards.

The generated C of the other paths does not depend on the board (their kernels pick DSP or portable code
at compile time); these kernels take their own constants (filters as stored, int8, one byte per weight,
and 16-word requantization records per 4 channels, tg_mve.h), so they are chosen at lowering time, only
while `for_board` is active for a board with MVE (the compiler's generate stage). Their C files carry a
plain-C path with the same arithmetic, so a host build of an MVE-lowered model gives the same bytes.
Each `supports()` falls through to the DSP / portable kernels for what it does not cover.
"""
from __future__ import annotations

import contextlib
import contextvars
from dataclasses import replace

import numpy as np

from tinygen.errors import UnsupportedError
from tinygen.ir import Graph, Op, OpKind
from tinygen.lower import conv, fast
from tinygen.lower.base import ConstArg, ConstArray, Kernel, Literal, LoweredOp, TensorArg
from tinygen.lower.csig import args_by_name, signature

_ACTIVE = contextvars.ContextVar("tinygen_mve_lowering", default=False)
_DISABLED = contextvars.ContextVar("tinygen_mve_disabled", default=False)


@contextlib.contextmanager
def _set(var, value: bool):
    token = var.set(value)
    try:
        yield
    finally:
        var.reset(token)


def for_board(board):
    """Lower with the MVE kernels while inside, when `board` (a tinygen.target Board, or None) has MVE."""
    return _set(_ACTIVE, bool(getattr(board, "mve", False)) and not _DISABLED.get())


def disabled():
    """Lower without the MVE kernels while inside, whatever the board (the DSP path of a Cortex-M55, which
    benchmarks/mve.py compares against)."""
    return _set(_DISABLED, True)


def records(bias: np.ndarray, rq: conv.Requant, channels: int) -> np.ndarray:
    """tg_mve.h requantization records: per group of 4 channels, 4 biases, 4 multipliers, 4 left shifts,
    4 negated right shifts (channels rounded up to 4 with zero records)."""
    n = -(-channels // 4) * 4
    shift = fast.per_channel(rq.shift, channels).astype(np.int64)
    cols = np.zeros((4, n), np.int64)
    cols[:, :channels] = [bias, fast.per_channel(rq.mult, channels), np.maximum(shift, 0), np.minimum(shift, 0)]
    return cols.reshape(4, n // 4, 4).transpose(1, 0, 2).reshape(-1).astype(np.int32)


def left_shifts(rq: conv.Requant) -> int:
    """1 when some channel's shift is positive (the kernels' left-shift step runs), else 0."""
    return int(np.any(np.asarray(rq.shift) > 0))


def filter_rows(rows: np.ndarray) -> np.ndarray:
    """(O, K) int8 filter rows in tg_gemm_s8_mve.h order: rows rounded up to 4 and K to 16 with zeros,
    then per block of 4 rows, 16 values of each row in turn."""
    o, k = rows.shape
    kp = -(-k // 16) * 16
    out = np.zeros((-(-o // 4) * 4, kp), np.int8)
    out[:o, :k] = rows
    return np.ascontiguousarray(out.reshape(-1, 4, kp // 16, 16).transpose(0, 2, 1, 3)).reshape(-1)


class _Mve(Kernel):
    """supports() is 'MVE lowering is on, and lower() succeeds' (conv.py's checks first)."""

    def supports(self, op: Op, graph: Graph) -> bool:
        if not _ACTIVE.get() or not self.shape_ok(op, graph):
            return False
        try:
            self.lower(op, graph)
        except (UnsupportedError, ValueError, IndexError):
            return False
        return True

    def shape_ok(self, op: Op, graph: Graph) -> bool:
        return conv._supported(op, graph)


MAX_WINDOW = 1024  # TG_CONV_MVE_COL_MAX: the window gathered on the stack


def row_layout(fh: int, row_bytes: int) -> int:
    """Bytes between window rows in the gathered column and the filter rows: 16 (one VMLADAVA block per
    window row, each row one predicated copy) for rows of up to 16 bytes when that adds at most one block
    to the packed window's, else row_bytes (packed)."""
    packed_blocks = -(-fh * row_bytes // 16)
    return 16 if row_bytes <= 16 and fh <= packed_blocks + 1 else row_bytes


class MveConv2D(_Mve):
    """CONV_2D (groups 1): per output pixel, the window (read in place for 1x1 stride 1, else gathered on the
    stack, up to MAX_WINDOW bytes) x 4 filter rows at a time."""

    kinds = (OpKind.CONV_2D,)

    def shape_ok(self, op: Op, graph: Graph) -> bool:
        x, w = graph.tensor(op.inputs[0]), graph.tensor(op.inputs[1])
        return super().shape_ok(op, graph) and len(x.shape) == 4 and len(w.shape) == 4 and w.shape[3] == x.shape[3]

    def row_stride(self, fh: int, fw: int, in_c: int) -> int:
        """Bytes between window rows in the gathered column and the filter rows."""
        return fw * in_c if fh == fw == 1 else row_layout(fh, fw * in_c)

    def lower(self, op: Op, graph: Graph) -> LoweredOp:
        x, w, b, y = conv._tensors(op, graph)
        a = op.attrs
        n, in_h, in_w, in_c = x.shape
        _, out_h, out_w, out_c = y.shape
        o, fh, fw, fi = w.shape
        rq = conv.conv_requant(op, x, w, y, out_c, 0)
        rows = np.asarray(w.data, np.int8).reshape(o, fh * fw * fi)
        zp = -rq.input_offset
        bias_eff = fast.folded_bias(None if b is None else b.data, rows, rq.input_offset)
        pointwise = fh == fw == 1 and a.stride_h == a.stride_w == 1 and a.padding.top == a.padding.left == 0 \
            and (out_h, out_w) == (in_h, in_w)
        row_stride = self.row_stride(fh, fw, in_c)
        if not pointwise and fh * row_stride > MAX_WINDOW:
            raise conv._fail(op, f"window of {fh * fw * in_c} bytes is over the MVE kernel's {MAX_WINDOW}")
        spaced = np.zeros((o, fh, row_stride), np.int8)  # window rows row_stride apart, zeros between
        spaced[:, :, :fw * in_c] = rows.reshape(o, fh, fw * in_c)
        consts = [ConstArray("w", filter_rows(spaced.reshape(o, -1))), ConstArray("rq", records(bias_eff, rq, out_c))]
        args = [Literal(a.stride_h), Literal(a.stride_w), Literal(a.dilation_h), Literal(a.dilation_w),
                Literal(a.padding.top), Literal(a.padding.left), Literal(zp), Literal(rq.output_offset),
                Literal(rq.act_min), Literal(rq.act_max), Literal(n), Literal(in_h), Literal(in_w), Literal(in_c),
                TensorArg(x.name), Literal(fh), Literal(fw), ConstArg(0), ConstArg(1),
                Literal(out_h), Literal(out_w), Literal(out_c), Literal(left_shifts(rq)), Literal(row_stride),
                TensorArg(y.name, const=False)]

        def reference(inputs):
            win = fast.raw_windows(inputs[0], fh, fw, a, out_h, out_w, zp).reshape(n, out_h, out_w, -1)
            return [fast.gemm_reference(win, rows, bias_eff, rq)]

        return LoweredOp(op, "tg_conv2d_s8_mve", ("tg_conv2d_s8_mve.c", "tg_gemm_s8_mve.c"), args, consts,
                         reference, macs=n * out_h * out_w * out_c * fh * fw * fi,
                         scratch_bytes=0, pointwise=pointwise,
                         notes={"kernel": "mve", "path": "1x1 gemm" if pointwise else "window in place",
                                "per_channel": rq.per_channel})


class MveConv2DRgb(MveConv2D):
    """CONV_2D whose window is at most 3 rows of at most 16 bytes (fw * in_c, dilation_w 1), e.g. an image
    model's 3x3 first layer over 3 channels: each pixel's window rows loaded from the image straight into
    vector registers (tg_conv2d_s8_mve_rgb.h). MveConv2D's filter and records, window rows 16 bytes apart.
    1x1 filters stay with MveConv2D (its 1x1 paths read the input in place)."""

    def shape_ok(self, op: Op, graph: Graph) -> bool:
        if not super().shape_ok(op, graph):
            return False
        _, fh, fw, fi = graph.tensor(op.inputs[1]).shape
        return op.attrs.dilation_w == 1 and fh <= 3 and fw * fi <= 16 and not fh == fw == 1

    def row_stride(self, fh: int, fw: int, in_c: int) -> int:
        return 16

    def lower(self, op: Op, graph: Graph) -> LoweredOp:
        lop = super().lower(op, graph)
        by_name = args_by_name(lop)
        fn = "tg_conv2d_s8_mve_rgb"
        return replace(lop, c_function=fn, c_sources=(f"{fn}.c",), args=[by_name[p.name] for p in signature(fn)],
                       notes={**lop.notes, "path": "window rows in registers"})


class MveDepthwiseConv2D(_Mve):
    """DEPTHWISE_CONV_2D, multiplier 1, channels % 8 == 0: 8 channels per step, valid taps only."""

    kinds = (OpKind.DEPTHWISE_CONV_2D,)

    def shape_ok(self, op: Op, graph: Graph) -> bool:
        x, w = graph.tensor(op.inputs[0]), graph.tensor(op.inputs[1])
        return super().shape_ok(op, graph) and op.attrs.depth_multiplier == 1 and len(x.shape) == 4 \
            and len(w.shape) == 4 and x.shape[3] % 8 == 0 and w.shape[3] == x.shape[3]

    def lower(self, op: Op, graph: Graph) -> LoweredOp:
        x, w, b, y = conv._tensors(op, graph)
        a = op.attrs
        n, in_h, in_w, c = x.shape
        _, out_h, out_w, _ = y.shape
        _, fh, fw, _ = w.shape
        rq = conv.conv_requant(op, x, w, y, c, 3)
        taps = np.asarray(w.data, np.int8).reshape(fh * fw, c)
        bias = np.zeros(c, np.int64) if b is None else np.asarray(b.data, np.int64).reshape(-1)
        # within each group of 8 channels: the even channels' record, then the odd channels'
        order = np.arange(c).reshape(-1, 4, 2).transpose(0, 2, 1).reshape(-1)
        per = conv.Requant(fast.per_channel(rq.mult, c)[order], fast.per_channel(rq.shift, c)[order], True,
                           rq.input_offset, rq.output_offset, rq.act_min, rq.act_max)
        # after each group's two records, its 8 biases with the input offset folded in (the records' bias
        # words, same lane order), for windows wholly inside the image: 4 bytes more per channel
        folded = bias + rq.input_offset * taps.astype(np.int64).sum(axis=0)
        if np.abs(folded).max(initial=0) >= 2 ** 31:
            raise ValueError("folded biases outside int32")
        folded_bias = records(folded[order], per, c).reshape(-1, 16)[:, :4].reshape(-1, 8)
        recs = np.concatenate([records(bias[order], per, c).reshape(-1, 32), folded_bias], axis=1).reshape(-1)
        consts = [ConstArray("rq", recs), ConstArray("w", np.ascontiguousarray(
            taps.reshape(fh * fw, c // 8, 8).transpose(1, 0, 2)).reshape(-1))]  # per 8 channels, tap by tap
        args = [Literal(a.stride_h), Literal(a.stride_w), Literal(a.dilation_h), Literal(a.dilation_w),
                Literal(a.padding.top), Literal(a.padding.left), Literal(rq.input_offset),
                Literal(rq.output_offset), Literal(rq.act_min), Literal(rq.act_max), ConstArg(0),
                Literal(n), Literal(in_h), Literal(in_w), Literal(c), TensorArg(x.name),
                Literal(fh), Literal(fw), ConstArg(1), Literal(out_h), Literal(out_w), TensorArg(y.name, const=False)]

        def reference(inputs):
            win = conv.windows(inputs[0].astype(np.int64) + rq.input_offset, fh, fw, a, out_h, out_w)
            acc = np.einsum("nyxhwc,hwc->nyxc", win, taps.reshape(fh, fw, c).astype(np.int64)) + bias
            return [conv.finish(acc, None, rq)]

        return LoweredOp(op, "tg_depthwise_conv2d_s8_mve", ("tg_depthwise_conv2d_s8_mve.c",), args, consts,
                         reference, macs=n * out_h * out_w * c * fh * fw, scratch_bytes=0,
                         notes={"kernel": "mve", "per_channel": rq.per_channel})


class MveFullyConnected(_Mve):
    """FULLY_CONNECTED with filter offset 0: each batch row x 4 filter rows per step."""

    kinds = (OpKind.FULLY_CONNECTED,)

    def shape_ok(self, op: Op, graph: Graph) -> bool:
        w = graph.tensor(op.inputs[1])
        return super().shape_ok(op, graph) and len(w.shape) == 2 and w.quant is not None \
            and all(z == 0 for z in w.quant.zero_point)

    def lower(self, op: Op, graph: Graph) -> LoweredOp:
        x, y, out_depth, accum, batches, rq, rows, bias_eff = fast.fc_setup(op, graph)
        consts = [ConstArray("w", filter_rows(rows)), ConstArray("rq", records(bias_eff, rq, out_depth))]
        args = [Literal(rq.output_offset), Literal(rq.act_min), Literal(rq.act_max), Literal(batches),
                Literal(accum), TensorArg(x.name), Literal(out_depth), ConstArg(0), ConstArg(1),
                Literal(left_shifts(rq)), TensorArg(y.name, const=False)]

        def reference(inputs):
            return [fast.gemm_reference(inputs[0].reshape(-1, accum), rows, bias_eff, rq).reshape(y.shape)]

        return LoweredOp(op, "tg_fully_connected_s8_mve", ("tg_fully_connected_s8_mve.c", "tg_gemm_s8_mve.c"),
                         args, consts, reference, macs=batches * out_depth * accum, scratch_bytes=0,
                         notes={"kernel": "mve", "per_channel": rq.per_channel})


class MveAddSub(fast.FastAddSub):
    """int8 ADD / SUB of same-shape tensors: fast.py's exact input tables, 4 gathers per step."""

    def supports(self, op: Op, graph: Graph) -> bool:
        return _ACTIVE.get() and super().supports(op, graph)

    def lower(self, op: Op, graph: Graph) -> LoweredOp:
        lop = super().lower(op, graph)
        mult, _, _, post = (int(v) for v in lop.const_arrays[2].data)
        out = graph.tensors[op.outputs[0]]
        act = (lop.args[3], lop.args[4])
        # fast.py's output record (const 2) is not needed: constant inputs move down one index
        ptrs = [ConstArg(p.index - 1) if isinstance(p, ConstArg) else p for p in lop.args[5:]]
        args = [ConstArg(0), ConstArg(1), Literal(mult), Literal(post + 1), Literal(out.zero_point), *act, *ptrs]
        return LoweredOp(op, "tg_add_s8_mve", ("tg_add_s8_mve.c",), args, lop.const_arrays[:2] + lop.const_arrays[3:],
                         lop.reference, macs=0, notes={"kernel": "mve"})


for _k in (MveConv2D(), MveConv2DRgb(), MveDepthwiseConv2D(), MveFullyConnected(), MveAddSub()):
    fast.register_first(_k)
