"""Lowering of RESIZE_NEAREST_NEIGHBOR (int8, int16) and RESIZE_BILINEAR (int8) to runtime_c/resize/.

Every index and weight is computed here, once: the nearest-neighbour source row and column of each
output position (TFLM's float32 arithmetic, tinygen/ops/resize.py), and for bilinear TFLM's integer
path: 10-bit fixed-point scales, per output row / column the two source indices and the 10-bit
distance from the lower one. The kernels only gather and blend.
"""
from __future__ import annotations

import numpy as np

from tinygen.errors import UnsupportedError
from tinygen.ir import Graph, Op, OpKind
from tinygen.lower.base import ConstArg, ConstArray, Kernel, Literal, LoweredOp, TensorArg, register
from tinygen.ops.resize import nearest_index

ONE_10 = 1 << 10  # bilinear positions and weights are in units of 1/1024 (TFLM's integer path)


def _fail(op: Op, why: str) -> UnsupportedError:
    return UnsupportedError(f"layer '{op.name}' ({op.kind.value}): {why}")


def _io(op: Op, graph: Graph) -> tuple:
    x, y = graph.tensors[op.inputs[0]], graph.tensors[op.outputs[0]]
    if len(x.shape) != 4 or len(y.shape) != 4 or x.shape[0] != y.shape[0] or x.shape[3] != y.shape[3]:
        raise _fail(op, f"input {list(x.shape)} and output {list(y.shape)} must be NHWC with the same N and C")
    return x, y


def _dtype_pair(op: Op, graph: Graph) -> tuple:
    return graph.tensors[op.inputs[0]].dtype, graph.tensors[op.outputs[0]].dtype


class ResizeNearest(Kernel):
    """RESIZE_NEAREST_NEIGHBOR, int8 or int16: a row / column gather through two constant index tables."""

    kinds = (OpKind.RESIZE_NEAREST_NEIGHBOR,)

    def supports(self, op: Op, graph: Graph) -> bool:
        return _dtype_pair(op, graph) in (("int8", "int8"), ("int16", "int16"))

    def lower(self, op: Op, graph: Graph) -> LoweredOp:
        x, y = _io(op, graph)
        a = op.attrs
        (n, h, w, c), (_, oh, ow, _) = x.shape, y.shape
        ys = nearest_index(h, oh, a.align_corners, a.half_pixel_centers)
        xs = nearest_index(w, ow, a.align_corners, a.half_pixel_centers)
        suffix = "s8" if x.dtype == "int8" else "s16"
        fn = f"tg_resize_nearest_{suffix}"
        arrays = [ConstArray("rows", ys.astype(np.int32)), ConstArray("cols", xs.astype(np.int32))]
        args = [Literal(v) for v in (n, h, w, c, oh, ow)] + [ConstArg(0), ConstArg(1)]
        args += [TensorArg(x.name), TensorArg(y.name, const=False)]

        def reference(inputs: list) -> list:
            v = np.asarray(inputs[0]).reshape(x.shape)
            return [v[:, ys][:, :, xs].astype(x.dtype)]

        return LoweredOp(op, fn, (fn + ".c",), args, arrays, reference)


def bilinear_taps(in_size: int, out_size: int, align_corners: bool, half_pixel_centers: bool) -> np.ndarray:
    """(out_size, 3) int32: lower index, upper index and the 10-bit distance of the sample position
    from the lower index, per output position (TFLM ResizeBilinearInteger; C integer division truncates)."""
    def cdiv(a, b):  # C division of non-negative b: truncation toward zero
        q = abs(a) // b
        return q if a >= 0 else -q

    if align_corners and out_size > 1:
        scale = cdiv(ONE_10 * (in_size - 1) + (out_size - 1) // 2, out_size - 1)
    else:
        scale = cdiv(ONE_10 * in_size + out_size // 2, out_size)
    taps = []
    for i in range(out_size):
        pos = i * scale + scale // 2 - (1 << 9) if half_pixel_centers else i * scale
        lo = max(cdiv(pos, ONE_10), 0)
        hi = min(cdiv(pos + ONE_10 - 1, ONE_10), in_size - 1)
        taps.append((lo, hi, pos - ONE_10 * lo))
    return np.asarray(taps, dtype=np.int64).reshape(out_size, 3)


def bilinear_reference(v: np.ndarray, rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
    """The blend of TFLM's integer path: sum of the four taps times their weight products (2^20 in
    total), rounded half away from zero by 2^20."""
    v = v.astype(np.int64)
    y0, y1, dy = (rows[:, k][None, :, None, None] for k in range(3))
    x0, x1, dx = (cols[:, k][None, None, :, None] for k in range(3))
    n = np.arange(v.shape[0])[:, None, None, None]
    c = np.arange(v.shape[3])[None, None, None, :]
    acc = (v[n, y0, x0, c] * (ONE_10 - dy) * (ONE_10 - dx) + v[n, y1, x0, c] * dy * (ONE_10 - dx)
           + v[n, y0, x1, c] * (ONE_10 - dy) * dx + v[n, y1, x1, c] * dy * dx)
    half = np.where(acc > 0, 1 << 19, -(1 << 19))
    num = acc + half
    return np.sign(num) * (np.abs(num) >> 20)


class ResizeBilinearS8(Kernel):
    """RESIZE_BILINEAR int8 (TFLM runs bilinear for int8 and float only): the taps of every output row
    and column are constant tables; the blend is exact in int32: a distance d lies in [-512, 1024) (checked
    here), so the absolute weights of one axis, |1024 - d| + |d|, are at most 2048 and |sum| <= 128 * 2048^2
    < 2^31."""

    kinds = (OpKind.RESIZE_BILINEAR,)

    def supports(self, op: Op, graph: Graph) -> bool:
        return _dtype_pair(op, graph) == ("int8", "int8")

    def lower(self, op: Op, graph: Graph) -> LoweredOp:
        x, y = _io(op, graph)
        a = op.attrs
        if a.align_corners and a.half_pixel_centers:
            raise _fail(op, "align_corners and half_pixel_centers are both true (TFLM rejects the pair)")
        (n, h, w, c), (_, oh, ow, _) = x.shape, y.shape
        rows = bilinear_taps(h, oh, a.align_corners, a.half_pixel_centers)
        cols = bilinear_taps(w, ow, a.align_corners, a.half_pixel_centers)
        for what, taps, size in (("row", rows, h), ("column", cols, w)):
            # TFLM computes positions in int32: beyond it the arithmetic (and TFLM's result) is undefined
            if int((ONE_10 * taps[:, 0] + taps[:, 2]).max()) + 2 * ONE_10 >= 1 << 31:
                raise _fail(op, f"{what}s {size} -> {taps.shape[0]}: TFLM's 10-bit positions overflow int32")
            inside = taps[:, :2].min() >= 0 and taps[:, :2].max() < size
            if not inside or taps[:, 2].min() < -ONE_10 // 2 or taps[:, 2].max() >= ONE_10:
                raise _fail(op, f"TFLM's 10-bit {what} scale for {size} -> {taps.shape[0]} reads outside the "
                                f"input; this resize is not supported")
        arrays = [ConstArray("rows", rows.astype(np.int32).reshape(-1)),
                  ConstArray("cols", cols.astype(np.int32).reshape(-1))]
        args = [Literal(v) for v in (n, h, w, c, oh, ow)] + [ConstArg(0), ConstArg(1)]
        args += [TensorArg(x.name), TensorArg(y.name, const=False)]

        def reference(inputs: list) -> list:
            v = np.asarray(inputs[0]).reshape(x.shape)
            return [bilinear_reference(v, rows, cols).astype(np.int8)]

        return LoweredOp(op, "tg_resize_bilinear_s8", ("tg_resize_bilinear_s8.c",), args, arrays, reference)


register(ResizeNearest())
register(ResizeBilinearS8())
