"""Layout ops that rearrange or select elements without arithmetic: TRANSPOSE, DEPTH_TO_SPACE,
SPACE_TO_DEPTH, PACK, GATHER, GATHER_ND (slices and splits: ops/layout.py).

The forms follow what TFLM takes: TRANSPOSE of rank 1 to 5 (int8, int16); DEPTH_TO_SPACE,
SPACE_TO_DEPTH, GATHER and GATHER_ND on int8 only (TFLM has no int16 kernel for them), with int32
indices; PACK of int8 or int16 tensors. Values are copied, never requantized (as TFLM does).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from tinygen import ir
from tinygen.ir import OpKind
from tinygen.ops.checks import CheckContext
from tinygen.ops.layout import NO_BOUNDS, check_same_dtype
from tinygen.ops.spec import QAT_SHARED, KerasLayer, Lowering, NotApplicable, OpSpec, TfliteOp, register
from tinygen.ops.tflite_context import OpContext

MAX_TRANSPOSE_RANK = 5  # TFLM's TRANSPOSE takes ranks 1 to 5
MAX_GATHER_ND_DEPTH = 5  # TFLM's GATHER_ND takes index tuples of at most 5 values


@dataclass(frozen=True)
class TransposeAttrs:
    perm: tuple  # output dimension d is input dimension perm[d]


@dataclass(frozen=True)
class BlockAttrs:
    """DEPTH_TO_SPACE / SPACE_TO_DEPTH on NHWC tensors: the block edge."""
    block_size: int


@dataclass(frozen=True)
class PackAttrs:
    axis: int  # non-negative: the new output dimension the inputs are stacked along


@dataclass(frozen=True)
class GatherAttrs:
    """GATHER: inputs (params, indices); output = params[:axis] + indices[batch_dims:] + params[axis+1:]."""
    axis: int  # non-negative
    batch_dims: int = 0  # non-negative


# ---- TRANSPOSE ----------------------------------------------------------------------------------


def check_perm(c: CheckContext) -> None:
    """perm is a permutation of the input's 1 to 5 dimensions"""
    r = len(c.ins[0].shape)
    if not 1 <= r <= MAX_TRANSPOSE_RANK:
        raise c.unsupported(f"input rank {r} is not supported (TFLM takes 1 to {MAX_TRANSPOSE_RANK})")
    if sorted(c.a.perm) != list(range(r)):
        raise c.bad(f"perm {list(c.a.perm)} is not a permutation of {r} dimensions")


def check_transpose_output(c: CheckContext) -> None:
    """the output has the input's dimensions in perm order"""
    c.out_is(tuple(c.ins[0].shape[p] for p in c.a.perm))


def float_transpose(op, ins, out_shape, graph):
    return np.transpose(ins[0], op.attrs.perm)


def export_transpose(w, op, ins, outs) -> None:
    perm = w.new_const(f"{op.name}/perm", np.asarray(op.attrs.perm, np.int32))
    w.emit("TRANSPOSE", [ins[0], perm], outs, "TransposeOptions")


def tflite_transpose(c: OpContext):
    x = c.input(0)
    perm = tuple(int(p) for p in c.int_const(1, "perm").reshape(-1))
    if sorted(perm) != list(range(len(x.shape))):
        raise c.bad(f"perm {list(perm)} is not a permutation of the {len(x.shape)} input dimensions")
    return OpKind.TRANSPOSE, TransposeAttrs(perm), [c.op.inputs[0]]


def keras_permute(b, layer, cfg, ins, out_shape) -> str:
    perm = (0,) + tuple(int(d) for d in cfg["dims"])
    return b.op(OpKind.TRANSPOSE, layer.name, ins, out_shape, TransposeAttrs(perm))


# ---- DEPTH_TO_SPACE / SPACE_TO_DEPTH ------------------------------------------------------------


def _block_shape(c: CheckContext, to_space: bool) -> tuple:
    c.rank(c.ins[0], 4, "input")
    n, h, w, ch = c.ins[0].shape
    bs = c.a.block_size
    if not isinstance(bs, int) or bs < 1:
        raise c.bad(f"block_size {bs!r} must be an integer >= 1")
    if to_space:
        if ch % (bs * bs):
            raise c.bad(f"{ch} channels do not divide into {bs}x{bs} blocks")
        return n, h * bs, w * bs, ch // (bs * bs)
    if h % bs or w % bs:
        raise c.bad(f"height {h} and width {w} must be multiples of block_size {bs}")
    return n, h // bs, w // bs, ch * bs * bs


def check_depth_to_space(c: CheckContext) -> None:
    """a rank 4 NHWC input whose channels divide into block_size x block_size blocks; the output is
    (N, H * block, W * block, C / block^2)"""
    c.out_is(_block_shape(c, True))


def check_space_to_depth(c: CheckContext) -> None:
    """a rank 4 NHWC input whose height and width are multiples of block_size; the output is
    (N, H / block, W / block, C * block^2)"""
    c.out_is(_block_shape(c, False))


def float_depth_to_space(op, ins, out_shape, graph):
    x, bs = ins[0], op.attrs.block_size
    n, h, w, ch = x.shape
    return x.reshape(n, h, w, bs, bs, ch // (bs * bs)).transpose(0, 1, 3, 2, 4, 5).reshape(out_shape)


def float_space_to_depth(op, ins, out_shape, graph):
    x, bs = ins[0], op.attrs.block_size
    n, h, w, ch = x.shape
    return x.reshape(n, h // bs, bs, w // bs, bs, ch).transpose(0, 1, 3, 2, 4, 5).reshape(out_shape)


def _export_block(name: str):
    def export(w, op, ins, outs) -> None:
        w.emit(name, ins, outs, f"{name.title().replace('_', '')}Options", (("BlockSize", op.attrs.block_size),))
    return export


def _tflite_block(kind):
    def convert(c: OpContext):
        c.input(0, rank=4)
        return kind, BlockAttrs(int(c.op.options["BlockSize"])), [c.op.inputs[0]]
    return convert


# ---- PACK ---------------------------------------------------------------------------------------


def check_pack(c: CheckContext) -> None:
    """every input has the first input's shape; the axis is a dimension of the output (input rank + 1)"""
    shape = c.ins[0].shape
    for t in c.ins:
        if t.shape != shape or t.dtype != c.out.dtype:
            raise c.bad(f"input '{t.name}' {t.dtype}{list(t.shape)} differs from {c.out.dtype}{list(shape)}")
    if not 0 <= c.a.axis <= len(shape):
        raise c.bad(f"axis {c.a.axis} is out of range for rank {len(shape) + 1}")


def check_pack_output(c: CheckContext) -> None:
    """the output stacks the inputs along the axis"""
    shape = list(c.ins[0].shape)
    c.out_is(tuple(shape[:c.a.axis] + [len(c.ins)] + shape[c.a.axis:]))


def float_pack(op, ins, out_shape, graph):
    return np.stack(ins, axis=op.attrs.axis)


def export_pack(w, op, ins, outs) -> None:
    w.emit("PACK", ins, outs, "PackOptions", (("ValuesCount", len(ins)), ("Axis", op.attrs.axis)))


def tflite_pack(c: OpContext):
    rank = len(c.input(0).shape) + 1
    axis = int(c.op.options["Axis"])
    if not -rank <= axis < rank:
        raise c.bad(f"axis {axis} is out of range for rank {rank}")
    if int(c.op.options["ValuesCount"]) not in (0, len(c.op.inputs)):
        raise c.bad(f"values_count {c.op.options['ValuesCount']} for {len(c.op.inputs)} inputs")
    return OpKind.PACK, PackAttrs(axis % rank), list(c.op.inputs)


# ---- GATHER / GATHER_ND -------------------------------------------------------------------------


def check_int32_indices(c: CheckContext) -> None:
    """the indices (input 1) are an int32 tensor (TFLM takes no other type)"""
    if c.ins[1].dtype != "int32":
        raise c.unsupported(f"indices '{c.ins[1].name}' are {c.ins[1].dtype}; TFLM takes int32 indices only")


def check_gather(c: CheckContext) -> None:
    """axis and batch_dims are dimensions of params with batch_dims <= axis; the first batch_dims
    dimensions of params and indices agree; the output is params[:axis] + indices[batch_dims:] +
    params[axis + 1:]"""
    p, i, a = c.ins[0].shape, c.ins[1].shape, c.a
    if not 0 <= a.axis < len(p) or not 0 <= a.batch_dims <= min(a.axis, len(i)):
        raise c.bad(f"axis {a.axis} / batch_dims {a.batch_dims} do not fit params {list(p)} and indices {list(i)}")
    if tuple(p[:a.batch_dims]) != tuple(i[:a.batch_dims]):
        raise c.bad(f"batch dimensions of params {list(p)} and indices {list(i)} differ")
    c.out_is(tuple(p[:a.axis]) + tuple(i[a.batch_dims:]) + tuple(p[a.axis + 1:]))


def float_gather(op, ins, out_shape, graph):
    params, idx = np.asarray(ins[0]), np.asarray(ins[1]).astype(np.int64)
    return gather_numpy(params, idx, op.attrs.axis, op.attrs.batch_dims).reshape(out_shape)


def gather_numpy(params, idx, axis: int, batch_dims: int):
    """GATHER with batch dimensions, in NumPy (indices assumed in range)."""
    if batch_dims == 0:
        return np.take(params, idx, axis=axis)
    return np.stack([gather_numpy(params[b], idx[b], axis - 1, batch_dims - 1) for b in range(params.shape[0])])


def export_gather(w, op, ins, outs) -> None:
    w.emit("GATHER", ins, outs, "GatherOptions", (("Axis", op.attrs.axis), ("BatchDims", op.attrs.batch_dims)))


def tflite_gather(c: OpContext):
    p, i = c.input(0), c.input(1)
    axis, batch_dims = int(c.op.options["Axis"]), int(c.op.options["BatchDims"])
    if not p.shape or not -len(p.shape) <= axis < len(p.shape):
        raise c.bad(f"axis {axis} is out of range for params of rank {len(p.shape)}")
    if batch_dims < 0:
        batch_dims += len(i.shape)
    return OpKind.GATHER, GatherAttrs(axis % len(p.shape), batch_dims), list(c.op.inputs[:2])


def check_gather_nd(c: CheckContext) -> None:
    """indices have rank >= 1 and their last dimension K is at most the rank of params (and at most 5,
    TFLM's limit); the output is indices[:-1] + params[K:]"""
    p, i = c.ins[0].shape, c.ins[1].shape
    if len(i) < 1 or not 1 <= i[-1] <= len(p):
        raise c.bad(f"indices {list(i)} do not index params {list(p)}")
    if i[-1] > MAX_GATHER_ND_DEPTH:
        raise c.unsupported(f"index tuples of {i[-1]} values (TFLM takes at most {MAX_GATHER_ND_DEPTH})")
    c.out_is(tuple(i[:-1]) + tuple(p[i[-1]:]))


def float_gather_nd(op, ins, out_shape, graph):
    params, idx = np.asarray(ins[0]), np.asarray(ins[1]).astype(np.int64)
    return params[tuple(np.moveaxis(idx, -1, 0))].reshape(out_shape)


def export_gather_nd(w, op, ins, outs) -> None:
    w.emit("GATHER_ND", ins, outs, "GatherNdOptions")


def tflite_gather_nd(c: OpContext):
    c.input(0)
    c.input(1)
    return OpKind.GATHER_ND, ir.NoAttrs(), list(c.op.inputs[:2])


# ---- specs --------------------------------------------------------------------------------------

_TFLITE_ONLY = NotApplicable("no Keras layer maps to it; it comes from .tflite files")
_INT8 = Lowering(("int8 (TFLM has no 16x8 kernel for it)",))

register(
    OpSpec(OpKind.TRANSPOSE, "permute the dimensions (rank 1 to 5)",
           tflite=(TfliteOp("TRANSPOSE", tflite_transpose),), keras=(KerasLayer("Permute", keras_permute, QAT_SHARED),),
           checks=(check_perm, check_transpose_output, check_same_dtype), float_ref=float_transpose,
           bounds=NO_BOUNDS, export=export_transpose, kernels=Lowering(("int8", "int16")),
           float_batchable=lambda op: op.attrs.perm[0] == 0, attrs=TransposeAttrs),
    OpSpec(OpKind.DEPTH_TO_SPACE, "move channel blocks into block x block spatial tiles (NHWC)",
           tflite=(TfliteOp("DEPTH_TO_SPACE", _tflite_block(OpKind.DEPTH_TO_SPACE), ("DepthToSpaceOptions", ("BlockSize",))),),
           keras=_TFLITE_ONLY, checks=(check_depth_to_space, check_same_dtype), float_ref=float_depth_to_space,
           bounds=NO_BOUNDS, export=_export_block("DEPTH_TO_SPACE"), kernels=_INT8, attrs=BlockAttrs),
    OpSpec(OpKind.SPACE_TO_DEPTH, "move block x block spatial tiles into channels (NHWC)",
           tflite=(TfliteOp("SPACE_TO_DEPTH", _tflite_block(OpKind.SPACE_TO_DEPTH), ("SpaceToDepthOptions", ("BlockSize",))),),
           keras=_TFLITE_ONLY, checks=(check_space_to_depth, check_same_dtype), float_ref=float_space_to_depth,
           bounds=NO_BOUNDS, export=_export_block("SPACE_TO_DEPTH"), kernels=_INT8, attrs=BlockAttrs),
    OpSpec(OpKind.PACK, "stack same-shape inputs along a new dimension",
           tflite=(TfliteOp("PACK", tflite_pack, ("PackOptions", ("ValuesCount", "Axis"))),), keras=_TFLITE_ONLY,
           checks=(check_pack, check_pack_output), float_ref=float_pack, bounds=NO_BOUNDS, export=export_pack,
           kernels=Lowering(("int8", "int16")), inputs=(1, 1 << 16), activation_input=False,
           float_batchable=lambda op: op.attrs.axis != 0, attrs=PackAttrs),
    OpSpec(OpKind.GATHER, "select slices of params along an axis by int32 indices (constant or computed)",
           tflite=(TfliteOp("GATHER", tflite_gather, ("GatherOptions", ("Axis", "BatchDims"))),), keras=_TFLITE_ONLY,
           checks=(check_int32_indices, check_gather, check_same_dtype), float_ref=float_gather, bounds=NO_BOUNDS,
           export=export_gather, kernels=_INT8, inputs=(2, 2), activation_input=False,
           float_batchable=lambda op: False, attrs=GatherAttrs),
    OpSpec(OpKind.GATHER_ND, "select slices of params by int32 index tuples (constant or computed)",
           tflite=(TfliteOp("GATHER_ND", tflite_gather_nd),), keras=_TFLITE_ONLY,
           checks=(check_int32_indices, check_gather_nd, check_same_dtype), float_ref=float_gather_nd,
           bounds=NO_BOUNDS, export=export_gather_nd, kernels=_INT8, inputs=(2, 2), activation_input=False,
           float_batchable=lambda op: False),
)
