"""The .tflite frontend: `load_tflite` turns an int8/int16 TFLite flatbuffer into a tinygen Graph.

Stages: parse (tflite_parse) -> fold shape-only and constant subgraphs, and float islands between a
DEQUANTIZE and QUANTIZEs of its parameters (tflite_fold, tflite_fold_quant, tflite_fold_island) -> convert ops (tflite_ops)
-> name ops and tensors -> drop unused tensors -> ir.verify.
"""
from __future__ import annotations

import re
from pathlib import Path
from typing import Union

from tinygen import ir
from tinygen.errors import ModelFormatError, UnsupportedError
from tinygen.frontend.tflite_dilate import fold_dilated_convs
from tinygen.frontend.tflite_fold import fold_constants
from tinygen.frontend.tflite_ops import convert_op
from tinygen.frontend.tflite_parse import FieldTracker, RawModel, parse
from tinygen.frontend.tflite_resource import resolve_resources

IR_DTYPES = {"float32", "int8", "int16", "int32", "int64", "uint8", "bool"}  # bool: 1 byte, 0 or 1
# last name components that are TF op names rather than layer names (".../conv2d/Relu")
_TF_OP_SUFFIX = re.compile(
    r"^(BiasAdd|Relu6?|Conv2D|convolution|depthwise|MatMul\d*|Softmax|Sigmoid|Tanh|Reshape|Squeeze|"
    r"ExpandDims|Mean|AvgPool\w*|MaxPool\w*|Pad|PadV2|LeakyRelu|add|sub|mul|Add|Sub|Mul|concat|"
    r"Identity|FakeQuantWithMinMaxVars\w*|BatchNorm\w*|FusedBatchNorm\w*|hard_swish)(_?\d+)?$")
# signature-level names that say nothing about the layer: the op kind names it instead
_CALL_NAME = re.compile(r"^(StatefulPartitionedCall|PartitionedCall|Identity)(_\d+)?(_int8|_int16)?$")


def load_tflite(source: Union[str, Path, bytes, bytearray], name: str | None = None) -> ir.Graph:
    """Read subgraph 0 of a .tflite model (path or bytes) into a verified tinygen Graph."""
    if isinstance(source, (bytes, bytearray, memoryview)):
        buf, where, stem = bytes(source), "<bytes>", "model"
    else:
        path = Path(source)
        try:
            buf = path.read_bytes()
        except OSError as exc:
            raise ModelFormatError(f"{path}: cannot read the model file ({exc.strerror or exc})") from exc
        where, stem = str(path), path.stem
    model = parse(buf, where)
    with FieldTracker(where) as ft:
        ft.field = "constant folding"
        fold_constants(model)
        ft.field = "dilated convolution folding"
        fold_dilated_convs(model)
    resolve_resources(model)
    graph = _build(model)
    from tinygen.passes.layout import simplify_transposes

    simplify_transposes(graph)  # exact: constant transposes folded, cancelling pairs dropped
    graph.name = name or stem
    ir.verify(graph, "tflite")
    return graph


def _build(model: RawModel) -> ir.Graph:
    tnames = _unique_tensor_names(model)
    layers = _layer_names(model)
    ops = []
    for op, layer in zip(model.ops, layers):
        converted = convert_op(op, model.tensors, model.source, layer)
        for k, (kind, attrs, inputs, outputs) in enumerate(converted):
            name = layer if len(converted) == 1 else f"{layer}/{k}"
            ops.append(ir.Op(kind, name, [None if i is None else tnames[i] for i in inputs],
                             [tnames[i] for i in outputs], attrs))
    tensors = {tnames[t.index]: ir.Tensor(tnames[t.index], t.shape, t.dtype, t.quant, t.data, variable=t.variable)
               for t in model.tensors}
    graph = ir.Graph(tensors, ops, [tnames[i] for i in model.inputs], [tnames[i] for i in model.outputs],
                     source=model.source)
    graph.remove_unused_tensors()
    _check_order(model, graph)
    for t in graph.tensors.values():
        if t.dtype not in IR_DTYPES:
            raise UnsupportedError(f"{model.source}: tensor '{t.name}' has dtype {t.dtype}, "
                                   f"which tinygen does not support")
    return graph


def _check_order(model: RawModel, graph: ir.Graph) -> None:
    """Every op input must be a model input, a constant, or produced by an earlier op."""
    ready = set(graph.inputs) | {n for n, t in graph.tensors.items() if t.is_const or t.variable}
    for op in graph.ops:
        for t in op.inputs:
            if t is not None and t not in ready:
                raise ModelFormatError(f"{model.source}: layer '{op.name}' ({op.kind.value}) reads tensor "
                                       f"'{t}', which is neither a model input, a constant nor produced "
                                       f"by an earlier operator")
        ready.update(op.outputs)
    for t in graph.outputs:
        if t not in ready:
            raise ModelFormatError(f"{model.source}: model output '{t}' is never produced")


def _unique_tensor_names(model: RawModel) -> list:
    seen: set = set()
    names = []
    for t in model.tensors:
        name, k = t.name, 1
        while name in seen:
            name = f"{t.name}_{k}"
            k += 1
        seen.add(name)
        names.append(name)
    return names


def _short_name(full: str) -> str:
    """A layer name from a TF tensor name: first alias, no signature prefix, no trailing TF op."""
    name = full.split(";")[0]
    name = re.sub(r":\d+$", "", name)
    name = re.sub(r"^serving_default_", "", name)
    parts = name.split("/")
    if len(parts) > 1 and _TF_OP_SUFFIX.match(parts[-1]):
        parts = parts[:-1]
    return "/".join(parts)


def _layer_names(model: RawModel) -> list:
    """Readable unique op names, derived from each op's output tensor name."""
    bases = []
    for op in model.ops:
        base = _short_name(model.tensors[op.outputs[0]].name) if op.outputs else ""
        if not base or _CALL_NAME.match(base):
            base = op.opname.lower()
        bases.append(base)
    # drop a model scope shared by every scoped name ("sequential/conv2d" -> "conv2d")
    scoped = [b.split("/") for b in bases if "/" in b]
    if scoped and all(s[0] == scoped[0][0] for s in scoped):
        bases = [b.split("/", 1)[1] if "/" in b else b for b in bases]
    counts: dict = {}
    for b in bases:
        counts[b] = counts.get(b, 0) + 1
    return [f"op{op.index}_{b}" if counts[b] > 1 else b for op, b in zip(model.ops, bases)]
