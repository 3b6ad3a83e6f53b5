"""Block rearrangements: SPACE_TO_BATCH_ND and BATCH_TO_SPACE_ND.

Both work on NHC (rank 3, one spatial axis) or NHWC (rank 4, two) tensors, as TFLM's kernels do.
SPACE_TO_BATCH_ND pads the spatial axes (with the output zero point) and moves each block offset
(sh, sw) into the batch: output batch (sh * block_w + sw) * N + n, element (i, j) = padded input
(n, i * block_h + sh, j * block_w + sw). BATCH_TO_SPACE_ND is the inverse, followed by cropping.
TF's converter writes a dilated convolution as SPACE_TO_BATCH_ND -> conv -> BATCH_TO_SPACE_ND; the
TFLite frontend folds that pattern back into one dilated conv (frontend/tflite_dilate.py).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from tinygen.ir import OpKind
from tinygen.ops.checks import MAX_PAD, CheckContext
from tinygen.ops.spec import Lowering, NotApplicable, OpSpec, TfliteOp, register
from tinygen.ops.tflite_context import OpContext


@dataclass(frozen=True)
class SpaceBatchAttrs:
    """SPACE_TO_BATCH_ND / BATCH_TO_SPACE_ND: the block size per spatial axis and one (before, after)
    pair per spatial axis: paddings added (SPACE_TO_BATCH_ND) or crops removed (BATCH_TO_SPACE_ND)."""
    block: tuple
    pads: tuple


# ---- shapes and values (shared with the lowering) -----------------------------------------------


def space_to_batch_shape(in_shape: tuple, block: tuple, pads: tuple) -> tuple:
    """Output shape, or ValueError naming what does not fit."""
    n, spatial, c = in_shape[0], in_shape[1:-1], in_shape[-1]
    out = []
    for d, (size, b, (lo, hi)) in enumerate(zip(spatial, block, pads)):
        padded = size + lo + hi
        if padded % b:
            raise ValueError(f"padded spatial size {padded} of axis {d + 1} is not a multiple of block {b}")
        out.append(padded // b)
    return (n * int(np.prod(block, dtype=np.int64)), *out, c)


def batch_to_space_shape(in_shape: tuple, block: tuple, crops: tuple) -> tuple:
    """Output shape, or ValueError naming what does not fit."""
    blocks = int(np.prod(block, dtype=np.int64))
    if in_shape[0] % blocks:
        raise ValueError(f"input batch {in_shape[0]} is not a multiple of the block count {blocks}")
    out = []
    for d, (size, b, (lo, hi)) in enumerate(zip(in_shape[1:-1], block, crops)):
        kept = size * b - lo - hi
        if kept <= 0:
            raise ValueError(f"crops ({lo}, {hi}) remove all {size * b} elements of axis {d + 1}")
        out.append(kept)
    return (in_shape[0] // blocks, *out, in_shape[-1])


def _as4(shape: tuple, block: tuple, pads: tuple) -> tuple:
    """NHC as NH1C with block 1 and no padding on the added axis."""
    if len(shape) == 4:
        return shape, tuple(block), tuple(pads)
    return (shape[0], shape[1], 1, shape[2]), (block[0], 1), (tuple(pads[0]), (0, 0))


def space_to_batch(x: np.ndarray, block: tuple, pads: tuple, pad_value) -> np.ndarray:
    shape4, (bh, bw), ((pt, pb), (pl, pr)) = _as4(x.shape, block, pads)
    p = np.pad(x.reshape(shape4), ((0, 0), (pt, pb), (pl, pr), (0, 0)), constant_values=pad_value)
    n, hp, wp, c = p.shape
    y = p.reshape(n, hp // bh, bh, wp // bw, bw, c).transpose(2, 4, 0, 1, 3, 5)
    return y.reshape(space_to_batch_shape(x.shape, block, pads))


def batch_to_space(x: np.ndarray, block: tuple, crops: tuple) -> np.ndarray:
    shape4, (bh, bw), ((ct, cb), (cl, cr)) = _as4(x.shape, block, crops)
    nb, h, w, c = shape4
    y = x.reshape(bh, bw, nb // (bh * bw), h, w, c).transpose(2, 3, 0, 4, 1, 5)
    y = y.reshape(nb // (bh * bw), h * bh, w * bw, c)[:, ct:h * bh - cb, cl:w * bw - cr, :]
    return y.reshape(batch_to_space_shape(x.shape, block, crops))


# ---- checks --------------------------------------------------------------------------------------


def check_rank(c: CheckContext) -> None:
    """input and output are NHC (rank 3) or NHWC (rank 4) of the same rank"""
    r = len(c.ins[0].shape)
    if r not in (3, 4) or len(c.out.shape) != r:
        raise c.unsupported(f"input {list(c.ins[0].shape)} and output {list(c.out.shape)} must both have "
                            f"rank 3 or both rank 4")


def check_block_and_pads(c: CheckContext) -> None:
    """one block size >= 1 and one (before, after) pair of integers in [0, 65536] per spatial axis"""
    n = len(c.ins[0].shape) - 2
    block, pads = c.a.block, c.a.pads
    if len(block) != n or any(not isinstance(b, int) or not 1 <= b <= MAX_PAD for b in block):
        raise c.bad(f"block {list(block)} must be {n} integers in [1, {MAX_PAD}]")
    if len(pads) != n or any(len(p) != 2 or any(not isinstance(v, int) or not 0 <= v <= MAX_PAD for v in p)
                             for p in pads):
        raise c.bad(f"paddings / crops {[list(p) for p in pads]} must be {n} pairs of integers in [0, {MAX_PAD}]")


def check_output_shape(c: CheckContext) -> None:
    """the output shape is what the block, paddings / crops make of the input shape"""
    fn = space_to_batch_shape if c.op.kind == OpKind.SPACE_TO_BATCH_ND else batch_to_space_shape
    try:
        shape = fn(tuple(c.ins[0].shape), c.a.block, c.a.pads)
    except ValueError as exc:
        raise c.bad(str(exc)) from None
    c.out_is(shape)


def check_same_quant(c: CheckContext) -> None:
    """input and output have the same type and quantization (the op copies values)"""
    x, y = c.ins[0], c.out
    if x.dtype != y.dtype or x.quant != y.quant:
        raise c.unsupported(f"input '{x.name}' ({x.dtype}, {x.quant}) and output '{y.name}' ({y.dtype}, "
                            f"{y.quant}) differ")


_CHECKS = (check_rank, check_block_and_pads, check_output_shape, check_same_quant)


# ---- TFLite converters, float reference, export -------------------------------------------------


def _tflite(kind: OpKind, what: str, shape_fn):
    def convert(c: OpContext):
        x, y = c.input(0), c.output()
        if len(x.shape) not in (3, 4):
            raise c.unsupported(f"input {list(x.shape)} must be NHC (rank 3) or NHWC (rank 4)")
        n = len(x.shape) - 2
        block = c.int_const(1, "block_shape").astype(np.int64).reshape(-1)
        pads = c.int_const(2, what).astype(np.int64)
        if block.shape != (n,) or pads.shape != (n, 2) or np.any(block < 1) or np.any(pads < 0):
            raise c.bad(f"block_shape {block.tolist()} and {what} {pads.tolist()} must be {n} values >= 1 "
                        f"and {n} non-negative pairs")
        block_t, pads_t = tuple(int(b) for b in block), tuple((int(a), int(b)) for a, b in pads)
        try:
            shape = shape_fn(tuple(x.shape), block_t, pads_t)
        except ValueError as exc:
            raise c.bad(str(exc)) from None
        if tuple(y.shape) != shape:
            raise c.unsupported(f"output '{y.name}' is {list(y.shape)} in the file but the op makes "
                                f"{list(shape)} (a batch size the converter left dynamic; convert with a "
                                f"fixed batch size)")
        return kind, SpaceBatchAttrs(block_t, pads_t), [c.op.inputs[0]]
    return convert


def float_space_to_batch(op, ins, out_shape, graph):
    return space_to_batch(ins[0], op.attrs.block, op.attrs.pads, 0.0)


def float_batch_to_space(op, ins, out_shape, graph):
    return batch_to_space(ins[0], op.attrs.block, op.attrs.pads)


def _export(name: str, what: str):
    def export(w, op, ins, outs) -> None:
        block = w.new_const(f"{op.name}/block_shape", np.asarray(op.attrs.block, np.int32))
        pads = w.new_const(f"{op.name}/{what}", np.asarray(op.attrs.pads, np.int32).reshape(-1, 2))
        w.emit(name, [ins[0], block, pads], outs)
    return export


_NO_KERAS = NotApplicable("no Keras layer maps to it; Keras dilated convolutions become one dilated conv")
_NO_BOUNDS = NotApplicable("no arithmetic: values are copied")

register(
    OpSpec(OpKind.SPACE_TO_BATCH_ND, "pad the spatial axes and move each block offset into the batch",
           tflite=(TfliteOp("SPACE_TO_BATCH_ND", _tflite(OpKind.SPACE_TO_BATCH_ND, "paddings",
                                                         space_to_batch_shape)),),
           keras=_NO_KERAS, checks=_CHECKS, float_ref=float_space_to_batch, bounds=_NO_BOUNDS,
           export=_export("SPACE_TO_BATCH_ND", "paddings"), kernels=Lowering(("int8", "int16")),
           float_batchable=lambda op: False, attrs=SpaceBatchAttrs),
    OpSpec(OpKind.BATCH_TO_SPACE_ND, "move batch blocks back into the spatial axes, then crop",
           tflite=(TfliteOp("BATCH_TO_SPACE_ND", _tflite(OpKind.BATCH_TO_SPACE_ND, "crops",
                                                         batch_to_space_shape)),),
           keras=_NO_KERAS, checks=_CHECKS, float_ref=float_batch_to_space, bounds=_NO_BOUNDS,
           export=_export("BATCH_TO_SPACE_ND", "crops"), kernels=Lowering(("int8", "int16")),
           float_batchable=lambda op: False, attrs=SpaceBatchAttrs),
)
