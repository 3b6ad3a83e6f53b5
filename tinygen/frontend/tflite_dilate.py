"""Fold TF's spelling of a dilated convolution back into one dilated conv (on the parsed model).

TF's converter writes Keras Conv2D / DepthwiseConv2D / Conv1D with dilation_rate d as

    SPACE_TO_BATCH_ND(block d, paddings) -> [EXPAND_DIMS] -> conv (VALID, stride 1, dilation 1)
        -> [RESHAPE] -> BATCH_TO_SPACE_ND(block d, crops)

The conv on the batched tensor reads, for the output element (y, x), the padded input at
(y + crop_top) + tap * d: the dilated conv of the original input with leading padding
paddings_before - crops_before. The chain folds into the conv with dilation factors d and padding SAME
or VALID when those amounts (and the trailing amounts the output size implies) are exactly what SAME or
VALID gives, on every spatial axis; any other chain stays as it is. Folding is exact: the padded
elements hold the zero point, which the conv reads as 0, as it does for its own padding; values are
copied unchanged, so the fold requires every copy's input and output quantization to agree.

The converter writes the chain when the Keras model's batch is dynamic, and then leaves that dynamic batch
in the batched tensors' static shapes (1 instead of N * d * d), so the fold rewrites the shapes of the
tensors that stay (a Conv1D's EXPAND_DIMS output and conv output). With a static batch it writes the
dilated conv itself.
"""
from __future__ import annotations

from typing import Optional

from tinygen import ir
from tinygen.frontend.tflite_parse import RawModel, RawOp

_CONVS = ("CONV_2D", "DEPTHWISE_CONV_2D")
_SAME, _VALID = 0, 1  # TFLite Padding codes


def fold_dilated_convs(model: RawModel) -> None:
    """Rewrite every foldable SPACE_TO_BATCH_ND -> conv -> BATCH_TO_SPACE_ND chain in place."""
    for s2b in [op for op in model.ops if op.opname == "SPACE_TO_BATCH_ND"]:
        chain = _chain(model, s2b)
        if chain is not None and _fold(model, chain):
            model.ops = [op for op in model.ops if op is not chain[0] and op is not chain[-1]]


def _sole_consumer(model: RawModel, tensor: int) -> Optional[RawOp]:
    if tensor in model.outputs:
        return None
    users = [op for op in model.ops if tensor in op.inputs]
    return users[0] if len(users) == 1 and users[0].inputs[0] == tensor else None


def _chain(model: RawModel, s2b: RawOp) -> Optional[list]:
    """[S2B, (EXPAND_DIMS,) conv, (RESHAPE,) B2S] when each op is the only reader of the one before."""
    chain = [s2b]
    for want in ("reshape?", "conv", "reshape?", "BATCH_TO_SPACE_ND"):
        if len(chain[-1].outputs) != 1:
            return None
        nxt = _sole_consumer(model, chain[-1].outputs[0])
        if nxt is None:
            return None
        if want == "reshape?":
            if nxt.opname in ("EXPAND_DIMS", "RESHAPE", "SQUEEZE"):
                chain.append(nxt)
            continue
        if nxt.opname not in ((want,) if want != "conv" else _CONVS):
            return None
        chain.append(nxt)
    return chain if len(chain) in (3, 5) else None


def _const(model: RawModel, op: RawOp, k: int):
    if k >= len(op.inputs) or op.inputs[k] < 0:
        return None
    t = model.tensors[op.inputs[k]]
    return None if t.data is None or t.data.dtype.kind not in "iu" else t.data.astype(int)


def _axes(model: RawModel, chain: list) -> Optional[list]:
    """For each conv spatial axis (H, W): the S2B spatial axis it runs along, or None (size 1, block 1)."""
    rank = len(model.tensors[chain[0].inputs[0]].shape)
    if rank == 4 and len(chain) == 3:
        return [0, 1]
    if rank == 3 and len(chain) == 5:
        expanded = model.tensors[chain[1].outputs[0]].shape
        x = model.tensors[chain[0].inputs[0]].shape
        if len(expanded) != 4 or expanded[3] != x[2]:
            return None
        if expanded[1] == 1 and expanded[2] != 1:
            return [None, 0]
        if expanded[2] == 1 and expanded[1] != 1:
            return [0, None]
    return None


def _plan(model: RawModel, chain: list) -> Optional[tuple]:
    """(padding code, dilation (h, w), conv input shape, conv output shape) of the folded conv, or None."""
    s2b, conv, b2s = chain[0], chain[len(chain) // 2], chain[-1]
    o = conv.options
    if (o.get("Padding") != _VALID or o.get("StrideH") != 1 or o.get("StrideW") != 1
            or o.get("DilationHFactor", 1) != 1 or o.get("DilationWFactor", 1) != 1):
        return None
    block, pads = _const(model, s2b, 1), _const(model, s2b, 2)
    block2, crops = _const(model, b2s, 1), _const(model, b2s, 2)
    axes = _axes(model, chain)
    if axes is None or any(v is None for v in (block, pads, block2, crops)):
        return None
    n_sp = len(axes) - axes.count(None)
    if block.shape != (n_sp,) or block2.tolist() != block.tolist() or pads.shape != (n_sp, 2) \
            or crops.shape != (n_sp, 2) or (block < 1).any() or (pads < 0).any() or (crops < 0).any():
        return None
    x, y = model.tensors[s2b.inputs[0]], model.tensors[b2s.outputs[0]]
    filt = model.tensors[conv.inputs[1]].shape
    if len(filt) != 4 or len(y.shape) != len(x.shape) or y.shape[0] != x.shape[0]:
        return None
    codes, dil, in_hw, out_hw = set(), [], [], []
    for k, axis in enumerate(axes):
        taps = filt[1 + k]
        if axis is None:
            codes.add("either" if taps == 1 else None)  # a size-1 axis: both codes agree for one tap
            dil.append(1), in_hw.append(1), out_hw.append(1)
            continue
        d, size, out = int(block[axis]), x.shape[1 + axis], y.shape[1 + axis]
        before = int(pads[axis][0]) - int(crops[axis][0])
        after = out - 1 + (taps - 1) * d + 1 - size - before
        same = ir.same_padding(size, taps, 1, d)
        if (before, after, out) == same:
            codes.add(_SAME if before or after else "either")
        elif before == after == 0 and out == ir.valid_out(size, taps, 1, d):
            codes.add(_VALID)
        else:
            return None
        dil.append(d), in_hw.append(size), out_hw.append(out)
    codes.discard("either")
    if None in codes or len(codes) > 1:
        return None
    code = codes.pop() if codes else _VALID
    out_c = model.tensors[conv.outputs[0]].shape[3]
    return code, dil, (x.shape[0], *in_hw, x.shape[-1]), (x.shape[0], *out_hw, out_c)


def _same_quant(model: RawModel, op: RawOp) -> bool:
    return model.tensors[op.inputs[0]].quant == model.tensors[op.outputs[0]].quant


def _fold(model: RawModel, chain: list) -> bool:
    copies = [op for op in chain if op.opname not in _CONVS]
    if not all(_same_quant(model, op) for op in copies):
        return False
    plan = _plan(model, chain)
    if plan is None:
        return False
    code, (dh, dw), in_shape, out_shape = plan
    s2b, conv, b2s = chain[0], chain[len(chain) // 2], chain[-1]
    first, last = (chain[1], chain[3]) if len(chain) == 5 else (conv, conv)
    first.inputs = [s2b.inputs[0]] + list(first.inputs[1:])
    last.outputs = [b2s.outputs[0]]
    if len(chain) == 5:
        model.tensors[first.outputs[0]].shape = in_shape
        model.tensors[conv.outputs[0]].shape = out_shape
    conv.options = dict(conv.options, Padding=code, DilationHFactor=dh, DilationWFactor=dw)
    return True
