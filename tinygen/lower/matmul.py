"""Lowering of BATCH_MATMUL (int8, int16) to runtime_c/matmul/ (tg_batch_matmul_s8.c, tg_batch_matmul_s16.c).

Precomputed here: the batch broadcasting as a table of (lhs, rhs) element offsets per output matrix, the
multiplier of lhs_scale * rhs_scale / out_scale (in double: the pinned TFLM forms the product in double), and for a constant
right operand its matrices stored transposed ([c][k], so the kernel reads both operands along k without a
scratch copy). An activation operand that is not k-contiguous (adj_x, or no adj_y) is transposed by the
kernel into scratch, one matrix at a time.
"""
from __future__ import annotations

import numpy as np

from tinygen.errors import UnsupportedError
from tinygen.ir import Graph, Op, OpKind
from tinygen.lower.base import ConstArg, ConstArray, Kernel, Literal, LoweredOp, ScratchArg, TensorArg, register
from tinygen.lower.int16 import mbqm_int64
from tinygen.ops.matmul import matmul_shape
from tinygen.quant import qmath


def _fail(op: Op, why: str) -> UnsupportedError:
    return UnsupportedError(f"layer '{op.name}' (BATCH_MATMUL): {why}")


def batch_offsets(lhs: tuple, rhs: tuple, batch: tuple, lhs_mat: int, rhs_mat: int) -> np.ndarray:
    """(batches, 2) int32: per output matrix (row-major over `batch`) the element offsets of its lhs and rhs
    matrices; a batch dimension of size 1 is broadcast (offset unchanged along it)."""
    n = len(batch)
    lb = (1,) * (n - len(lhs) + 2) + tuple(lhs[:-2])
    rb = (1,) * (n - len(rhs) + 2) + tuple(rhs[:-2])
    rows = []
    for idx in np.ndindex(*batch) if batch else [()]:
        offs = []
        for dims, mat in ((lb, lhs_mat), (rb, rhs_mat)):
            flat = 0
            for i, d in zip(idx, dims):
                flat = flat * d + (i if d != 1 else 0)
            offs.append(flat * mat)
        rows.append(offs)
    out = np.asarray(rows, dtype=np.int64).reshape(-1, 2)
    if out.size and int(out.max()) >= 1 << 31:
        raise UnsupportedError(f"operands of {int(out.max())} elements exceed int32 offsets")
    return out.astype(np.int32)


def _matrices(v: np.ndarray, rows: int, cols: int, transposed: bool) -> np.ndarray:
    """The (m, rows, cols) view of operand matrices stored [rows][cols], or [cols][rows] when transposed."""
    v = np.asarray(v, dtype=np.int64)
    return np.swapaxes(v.reshape(-1, cols, rows), 1, 2) if transposed else v.reshape(-1, rows, cols)


def pack_rhs_s8(m: np.ndarray, zp: int) -> np.ndarray:
    """One (k, c) int8 matrix packed as tg_batch_matmul_s8_pack.h describes (int32 words): column sums of
    v = m - zp, then per quad of columns the SXTB16-ordered int16 pairs of 4 values of k, then the tail pairs."""
    depth, cols = m.shape
    v = np.asarray(m, dtype=np.int64) - zp
    v = np.concatenate([v, np.repeat(v[:, -1:], (-cols) % 4, axis=1)], axis=1)
    k4 = depth // 4
    g = np.arange(k4) * 4

    def pair(lo, hi):
        return (lo & 0xFFFF) | ((hi & 0xFFFF) << 16)

    words = [v.sum(axis=0)]
    for q in range(0, v.shape[1], 4):
        c = [v[:, q + j] for j in range(4)]
        body = np.stack([w for j in range(4) for w in (pair(c[j][g], c[j][g + 2]), pair(c[j][g + 1], c[j][g + 3]))],
                        axis=1)
        tail = np.stack([pair(c[0][4 * k4:], c[1][4 * k4:]), pair(c[2][4 * k4:], c[3][4 * k4:])], axis=1)
        words += [body.reshape(-1), tail.reshape(-1)]
    flat = np.concatenate([np.asarray(w, dtype=np.int64).reshape(-1) for w in words])
    return ((flat + (1 << 31)) % (1 << 32) - (1 << 31)).astype(np.int32)


class BatchMatMul(Kernel):
    """BATCH_MATMUL int8 x int8 -> int8 (SXTAB16 / SMLAD inner products) and int16 x int16 -> int16
    (int64 sums), any adj_x / adj_y, broadcast batch dimensions, constant or activation right operand."""

    kinds = (OpKind.BATCH_MATMUL,)

    def supports(self, op: Op, graph: Graph) -> bool:
        ts = [graph.tensors[t] for t in (op.inputs[0], op.inputs[1], op.outputs[0])]
        return len({t.dtype for t in ts}) == 1 and ts[0].dtype in ("int8", "int16")

    @staticmethod
    def _rhs_s8(w, a, depth: int, cols: int) -> tuple:
        """(layout, raw rhs argument, packed ConstArray or None, scratch bytes, rhs words per matrix) of the int8
        kernel: a constant is packed here (tg_batch_matmul_s8_pack.h), an activation by the kernel into scratch."""
        words = (cols + 3) // 4 * (4 + 8 * (depth // 4) + 2 * (depth % 4))
        if w.is_const:
            mats = _matrices(w.data, depth, cols, a.adj_y)
            packed = np.concatenate([pack_rhs_s8(m, w.zero_point) for m in mats])
            return 0, Literal("NULL"), ConstArray("rhs_packed", packed), 0, words
        return (1 if a.adj_y else 2), TensorArg(w.name), None, 4 * words, depth * cols

    def lower(self, op: Op, graph: Graph) -> LoweredOp:
        x, w, y = (graph.tensors[t] for t in (op.inputs[0], op.inputs[1], op.outputs[0]))
        a = op.attrs
        shape = matmul_shape(x.shape, w.shape, a.adj_x, a.adj_y)
        if isinstance(shape, str):
            raise _fail(op, shape)
        batch, rows, depth, cols = shape
        if any(t.quant is None or t.quant.per_axis for t in (x, w, y)):
            raise _fail(op, "every operand needs one (per-tensor) scale")
        table = batch_offsets(x.shape, w.shape, batch, rows * depth, depth * cols)
        mats = table // np.array([rows * depth, depth * cols])  # (lhs, rhs) matrix index per product
        mult, shift = qmath.quantize_multiplier(float(x.scale) * float(w.scale) / float(y.scale))
        s8 = x.dtype == "int8"
        if not s8 and (x.zero_point, w.zero_point, y.zero_point) != (0, 0, 0):
            raise _fail(op, "int16 operands need zero points 0 (TFLM requires it)")
        if not s8 and shift > 14:
            raise _fail(op, f"rescale {x.scale * w.scale / y.scale:g} >= 2^14: the int64 requantization shifts left")
        lhs_t, rhs_t = int(a.adj_x), int(not a.adj_y)
        fn = f"tg_batch_matmul_{'s8' if s8 else 's16'}"
        if s8:
            layout, rhs_arg, packed_arg, scratch, offs = self._rhs_s8(w, a, depth, cols)
            table[:, 1] = mats[:, 1] * offs
            scratch += lhs_t * rows * depth
        elif w.is_const:
            wm = _matrices(w.data, depth, cols, a.adj_y)  # (m, k, c), stored [c][k]
            packed_arg = ConstArray("rhs_t", np.ascontiguousarray(np.swapaxes(wm, 1, 2)).astype(w.dtype).reshape(-1))
            rhs_t, scratch = 0, 2 * lhs_t * rows * depth
        else:
            packed_arg, scratch = None, 2 * (lhs_t * rows * depth + rhs_t * cols * depth)
        consts = [ConstArray("batches", table.reshape(-1))] + ([packed_arg] if isinstance(packed_arg, ConstArray) else [])
        head = [ScratchArg() if scratch else Literal("NULL"), Literal(len(table)), ConstArg(0)]
        head += [Literal(v) for v in (rows, depth, cols, lhs_t)]
        if s8:
            args = head + [Literal(v) for v in (layout, x.zero_point, w.zero_point, y.zero_point, mult, shift)]
            args += [TensorArg(x.name), rhs_arg, ConstArg(1) if layout == 0 else Literal("NULL")]
        else:
            rhs = ConstArg(1) if w.is_const else TensorArg(w.name)
            args = head + [Literal(rhs_t), Literal(mult), Literal(shift), TensorArg(x.name), rhs]
        args.append(TensorArg(y.name, const=False))

        def reference(inputs: list) -> list:
            lm = _matrices(inputs[0], rows, depth, a.adj_x)
            rm = _matrices(w.data if w.is_const else inputs[1], depth, cols, a.adj_y)
            out = np.empty((len(table), rows, cols), dtype=np.int64)
            for b, (li, ri) in enumerate(mats):
                acc = (lm[li] - x.zero_point) @ (rm[ri] - w.zero_point)
                if s8:
                    out[b] = qmath.requantize(qmath.wrap_int32(acc), mult, shift, y.zero_point, -128, 127)
                else:
                    out[b] = np.clip(mbqm_int64(acc, mult, shift), -(1 << 15), (1 << 15) - 1)
            return [out.astype(y.dtype).reshape(y.shape)]

        return LoweredOp(op, fn, (fn + ".c",), args, consts, reference, macs=len(table) * rows * depth * cols,
                         scratch_bytes=scratch, notes={"rhs_const": bool(w.is_const)})


register(BatchMatMul())
