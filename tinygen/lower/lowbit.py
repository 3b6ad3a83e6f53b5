"""CONV_2D, DEPTHWISE_CONV_2D and FULLY_CONNECTED whose int8 weights carry a low-bit `encoding`.

Lowering packs the weights one row per output channel (runtime_c/lowbit/tg_lowbit.h gives the formats),
keeps each channel's multiplier to 19 bits with its shift in 3 bytes (in place of int8's 8; exactly TFLM's
32-bit multiplier, whose low 12 bits the quantizer's filter scales make zero, tinygen/quant/snap.py), and
builds a reference that first *unpacks* those bytes in NumPy and then runs
the ordinary int8 reference on the result. So the reference checks the packing as well as the
arithmetic, and the C kernel (which reads the packed bytes) must agree with it bit for bit.
"""
from __future__ import annotations

import numpy as np

from tinygen.errors import UnsupportedError
from tinygen.ir import Graph, Op, OpKind, Tensor
from tinygen.quant import qmath
from tinygen.quant import weights as wq
from tinygen.lower import conv, lowbit_usad, lowbit_x
from tinygen.lower.base import ConstArg, ConstArray, Kernel, Literal, LoweredOp, ScratchArg, TensorArg, _REGISTRY

FORMAT = {"int4": 0, "kmeans4": 1, "kmeans3": 1, "kmeans2": 1, "ternary": 2, "binary": 3}


# ---- packing ------------------------------------------------------------------------------------


def _bits_to_bytes(bits: np.ndarray) -> np.ndarray:
    """(rows, nbits) of 0/1 -> (rows, ceil(nbits / 8)) bytes, bit j at byte j // 8, bit j % 8."""
    return np.packbits(bits.astype(np.uint8), axis=1, bitorder="little")


def _bytes_to_bits(data: np.ndarray, nbits: int) -> np.ndarray:
    return np.unpackbits(data, axis=1, bitorder="little", count=nbits)


def pack_rows(rows: np.ndarray, scheme: str) -> tuple:
    """int8 rows (out_channels, n) -> (packed uint8 (out_channels, row_bytes), codebook or None)."""
    rows = np.asarray(rows, np.int8)
    c, n = rows.shape
    if scheme == "int4":
        field = (rows.astype(np.int16) & 0xF).astype(np.uint8)
        bits = np.unpackbits(field[:, :, None], axis=2, bitorder="little")[:, :, :4].reshape(c, n * 4)
        return _bits_to_bytes(bits), None
    if scheme == "ternary":
        return np.concatenate([_bits_to_bytes(rows != 0), _bits_to_bytes(rows < 0)], axis=1), None
    if scheme == "binary":
        return _bits_to_bytes(rows > 0), None
    b = wq.palette_bits(scheme)
    book = wq.codebook_of(rows, scheme)
    distinct = np.unique(rows)
    idx = np.searchsorted(distinct, rows).astype(np.uint8)
    bits = np.unpackbits(idx[:, :, None], axis=2, bitorder="little")[:, :, :b].reshape(c, n * b)
    return _bits_to_bytes(bits), book


def unpack_rows(packed: np.ndarray, n: int, scheme: str, codebook=None) -> np.ndarray:
    """Inverse of pack_rows, written from the byte formats (not from pack_rows' arrays)."""
    packed = np.asarray(packed, np.uint8)
    c = packed.shape[0]
    if scheme == "int4":
        nib = _bytes_to_bits(packed, n * 4).reshape(c, n, 4)
        v = (nib * (1 << np.arange(4))).sum(axis=2)
        return np.where(v >= 8, v - 16, v).astype(np.int8)
    if scheme == "ternary":
        half = packed.shape[1] // 2
        nz = _bytes_to_bits(packed[:, :half], n)
        neg = _bytes_to_bits(packed[:, half:], n)
        return (nz.astype(np.int8) * np.where(neg == 1, -1, 1)).astype(np.int8)
    if scheme == "binary":
        return np.where(_bytes_to_bits(packed, n) == 1, 1, -1).astype(np.int8)
    b = wq.palette_bits(scheme)
    idx = (_bytes_to_bits(packed, n * b).reshape(c, n, b) * (1 << np.arange(b))).sum(axis=2)
    return np.asarray(codebook, np.int8)[idx]


# ---- 19-bit multipliers in 3 bytes ------------------------------------------------------------


def round_multipliers(mult, shift) -> tuple:
    """TFLM's 32-bit multipliers (mult in [2^30, 2^31) or 0) and shifts, rounded to 19 bits: (mult, shift)
    int64 arrays, each multiplier a multiple of 2^12 in [2^30, 2^31) or 0. Exact when mult already is a
    multiple of 2^12, which the quantizer's filter scales make it (tinygen/quant/snap.py)."""
    out_m, out_s = [], []
    for m, sh in zip(np.asarray(mult, np.int64).ravel(), np.asarray(shift, np.int64).ravel()):
        q, sh = qmath.round_away(int(m) / 4096.0), int(sh)
        if q == 1 << 19:
            q, sh = 1 << 18, sh + 1
        if q == 0 or sh > 30:
            q, sh = 0, 0
        out_m.append(q << 12)
        out_s.append(max(sh, -31))
    return np.array(out_m, np.int64), np.array(out_s, np.int64)


def encode_multipliers(mult, shift) -> tuple:
    """(int16 low bits, int8 codes): tg_lowbit.h's 3-byte form of round_multipliers' output."""
    mult, shift = np.asarray(mult, np.int64).ravel(), np.asarray(shift, np.int64).ravel()
    live = mult != 0
    if np.any(mult[live] % 4096) or np.any((mult[live] < 1 << 30) | (mult[live] >= 1 << 31)) or \
            np.any((shift[live] < -31) | (shift[live] > 30)):
        raise ValueError("multipliers must be multiples of 2^12 in [2^30, 2^31) with shifts in [-31, 30]")
    rest = np.where(live, (mult >> 12) - (1 << 18), 0)
    lo = (rest & 0xFFFF).astype(np.uint16).view(np.int16)
    code = np.where(live, ((rest >> 16) << 6) | (shift + 31), 63).astype(np.uint8).view(np.int8)
    return lo, code


def _requant(op: Op, x: Tensor, w: Tensor, y: Tensor, channels: int) -> tuple:
    """(Requant with one entry per channel, int16 low bits, int8 codes) from TFLM's own multipliers (the int8
    kernels' conv_requant / fc_requant), rounded to 19 bits: exact for snapped filter scales."""
    if op.kind == OpKind.FULLY_CONNECTED:
        rq = conv.fc_requant(op, x, w, y, channels)
    else:
        rq = conv.conv_requant(op, x, w, y, channels, 3 if op.kind == OpKind.DEPTHWISE_CONV_2D else 0)
    mult, shift = round_multipliers(np.broadcast_to(np.asarray(rq.mult, np.int64), (channels,)),
                                    np.broadcast_to(np.asarray(rq.shift, np.int64), (channels,)))
    lo, code = encode_multipliers(mult, shift)
    rq = conv.Requant(mult.astype(np.int32), shift.astype(np.int32), True, rq.input_offset, rq.output_offset,
                      rq.act_min, rq.act_max)
    return rq, lo, code


# ---- lowering ---------------------------------------------------------------------------------


def _supported(op: Op, graph: Graph) -> bool:
    if len(op.inputs) < 2 or op.inputs[1] is None:
        return False
    w = graph.tensors[op.inputs[1]]
    x = graph.tensors[op.inputs[0]]
    return w.encoding in FORMAT and x.dtype == "int8" and graph.tensors[op.outputs[0]].dtype == "int8"


def _rows(op: Op, w: np.ndarray) -> np.ndarray:
    """Weights as one row per output channel, in the order the C kernel walks them."""
    if op.kind == OpKind.DEPTHWISE_CONV_2D:  # 1HW(C*M) -> (C*M, H*W)
        return w.reshape(-1, w.shape[-1]).T.copy()
    return w.reshape(w.shape[0], -1)  # OHWI -> (O, H*W*I); FC (O, I)


def _restore(op: Op, rows: np.ndarray, shape: tuple) -> np.ndarray:
    if op.kind == OpKind.DEPTHWISE_CONV_2D:
        return rows.T.reshape(shape)
    return rows.reshape(shape)


RQ_BLOCK_BYTES = 116  # sizeof(tg_lb_block_rq): 29 int32


def conv_scratch(w_shape: tuple, out_size: int) -> int:
    """tg_conv2d_lb_get_buffer_size: one block of 4 decoded rows (8 bytes per value, rounded up to 4 values)
    and one row / window; or, for gathered windows (short filter rows, in_c % 4 != 0) when it fits in the
    output's byte count, every block's rows and requantization records and the window."""
    out_c, fh, fw, in_c = w_shape
    n4 = (fh * fw * in_c + 3) & ~3
    blocks = (out_c + 3) >> 2
    gathered = fw * in_c < 16 or in_c % 4 != 0
    if gathered and blocks > 1 and blocks * (8 * n4 + RQ_BLOCK_BYTES) <= out_size:
        return blocks * (8 * n4 + RQ_BLOCK_BYTES) + n4
    return 9 * n4


def dw_scratch(w_shape: tuple, attrs, y_shape: tuple) -> int:
    """tg_depthwise_conv2d_lb_get_buffer_size: 4 rows as int16 (8 bytes per tap) and the row being decoded,
    rounded up to 4; 3x3 filters add the 3 padded input rows of 4 channels (a word per column)."""
    fh, fw = w_shape[1], w_shape[2]
    decoded = (9 * fh * fw + 3) & ~3
    if (fh, fw) != (3, 3):
        return decoded
    return decoded + 12 * ((y_shape[2] - 1) * attrs.stride_w + 2 * attrs.dilation_w + 1)


class LowBitKernel(Kernel):
    kinds = (OpKind.CONV_2D, OpKind.DEPTHWISE_CONV_2D, OpKind.FULLY_CONNECTED)

    def supports(self, op: Op, graph: Graph) -> bool:
        return _supported(op, graph)

    def lower(self, op: Op, graph: Graph) -> LoweredOp:
        x, w, b, y = conv._tensors(op, graph)
        scheme = w.encoding
        if any(z != 0 for z in w.quant.zero_point):
            raise UnsupportedError(f"layer '{op.name}': {scheme} filter '{w.name}' must be symmetric (zero point 0)")
        if not wq.allowed(w.data, scheme):
            raise UnsupportedError(f"layer '{op.name}': filter '{w.name}' holds values that {scheme} cannot store")
        rows = _rows(op, w.data)
        channels, n = rows.shape
        packed, book = pack_rows(rows, scheme)
        rq, m16, sh = _requant(op, x, w, y, channels)
        consts = [ConstArray("mult", m16), ConstArray("shift", sh), ConstArray("w", packed.ravel())]
        if book is not None:
            consts.append(ConstArray("codebook", book))
        bias = conv._bias_arg(b, consts)
        bias_data = None if b is None else consts[-1].data
        cb = ConstArg(3) if book is not None else Literal("NULL")
        if op.kind == OpKind.DEPTHWISE_CONV_2D:
            scratch = dw_scratch(w.shape, op.attrs, y.shape)
        elif op.kind == OpKind.CONV_2D:
            scratch = conv_scratch(w.shape, y.size)
        elif scheme in ("int4", "kmeans4", "kmeans3", "kmeans2"):  # fc: one decoded row
            scratch = n
        else:
            scratch = 0
        head = [ScratchArg() if scratch else Literal("NULL"), Literal(FORMAT[scheme]), Literal(wq.palette_bits(scheme) or 0), cb, ConstArg(2),
                Literal(packed.shape[1])]
        quant = [Literal(rq.input_offset), Literal(rq.output_offset), Literal(rq.act_min), Literal(rq.act_max),
                 ConstArg(0), ConstArg(1)]
        a = op.attrs
        if op.kind == OpKind.FULLY_CONNECTED:
            batches = x.size // n
            if len(w.shape) != 2 or x.size % n or y.size != batches * channels:
                raise conv._fail(op, f"input {x.shape} and output {y.shape} do not fit weights {w.shape}")
            args = [*head, *quant, Literal(batches), Literal(n), TensorArg(x.name), Literal(channels), bias,
                    TensorArg(y.name, const=False)]
            tail, geo = args[len(head) + len(quant):], []
            fn, macs = "tg_fully_connected_lb", batches * channels * n
        else:
            conv._check_4d(op, x, y)
            nb, in_h, in_w, in_c = x.shape
            _, out_h, out_w, out_c = y.shape
            geo = [Literal(a.stride_h), Literal(a.stride_w), Literal(a.dilation_h), Literal(a.dilation_w),
                   Literal(a.padding.top), Literal(a.padding.left)]
            fh, fw = w.shape[1], w.shape[2]
            if op.kind == OpKind.CONV_2D:
                if w.shape[3] != in_c or w.shape[0] != out_c:
                    raise conv._fail(op, f"{scheme} weights need an ungrouped filter; got {w.shape} for input {x.shape}")
                args = [*head, *geo, *quant, Literal(nb), Literal(in_h), Literal(in_w), Literal(in_c),
                        TensorArg(x.name), Literal(fh), Literal(fw), bias, Literal(out_h), Literal(out_w),
                        Literal(out_c), TensorArg(y.name, const=False)]
                tail = args[len(head) + len(geo) + len(quant):]
                fn, macs = "tg_conv2d_lb", nb * out_h * out_w * out_c * n
            else:
                if out_c != in_c * a.depth_multiplier or w.shape[3] != out_c:
                    raise conv._fail(op, f"filter {w.shape} does not fit input {x.shape} and output {y.shape}")
                args = [*head, *geo, Literal(a.depth_multiplier), *quant, Literal(nb), Literal(in_h), Literal(in_w),
                        Literal(in_c), TensorArg(x.name), Literal(fh), Literal(fw), bias, Literal(out_h),
                        Literal(out_w), TensorArg(y.name, const=False)]
                tail = args[len(head) + len(geo) + 1 + len(quant):]
                fn, macs = "tg_depthwise_conv2d_lb", nb * out_h * out_w * out_c * n
        def make_reference(dec_rows: np.ndarray, bias_vals, rq_: conv.Requant):
            """The int8 reference on weights dec_rows (one row per output channel), bias and requantization."""
            filt = _restore(op, dec_rows, w.shape)
            if op.kind == OpKind.FULLY_CONNECTED:
                return lambda inputs: [conv.fc_reference(inputs[0], filt, bias_vals, 0, rq_).reshape(y.shape)]
            if op.kind == OpKind.CONV_2D:
                return lambda inputs: [conv.conv2d_reference(inputs[0], filt, bias_vals, a, rq_, y.shape)]
            return lambda inputs: [conv.depthwise_reference(inputs[0], filt, bias_vals, a, rq_, y.shape)]

        decoded_rows = unpack_rows(packed, n, scheme, book)
        lop = LoweredOp(op, fn, (f"{fn}.c",), args, consts, make_reference(decoded_rows, bias_data, rq), macs=macs,
                        scratch_bytes=scratch, notes={"weights": scheme, "per_channel": True})
        usad = lowbit_usad.lower(lop, decoded_rows, bias_data, rq, head, geo, tail)
        return usad or lowbit_x.decode_once(lop, decoded_rows, bias_data, rq, head, geo, tail, x.shape[-1],
                                            make_reference)


def _register_first(kernel: Kernel) -> None:
    """Ahead of every int8 kernel of the same kinds: an encoded filter must never reach those."""
    for kind in kernel.kinds:
        _REGISTRY.setdefault(kind, []).insert(0, kernel)


_register_first(LowBitKernel())
