"""The node walk of the ONNX frontend: fold constants, dispatch each node to its converter, collect refusals."""
from __future__ import annotations

import numpy as np

from tinygen.errors import UnsupportedError
from tinygen.frontend.onnx import (convert_deconv, convert_gru, convert_lut, convert_misc, convert_nn, convert_resize,
                                   convert_time, fold)
from tinygen.frontend.onnx.builder import Builder, NodeError
from tinygen.frontend.onnx import recurrent
from tinygen.ir import OpKind

# Nodes that compute the identity at inference time.
_IDENTITY = {"Identity", "Dropout"}
# Known operators refused with a reason beyond "not supported".
_REFUSED: dict = {}


def converters() -> dict:
    table = {}
    table.update(convert_nn.CONVERTERS)
    table.update(convert_misc.CONVERTERS)
    table.update(convert_lut.CONVERTERS)  # element-wise functions as one LUT op (Elu: alpha 1 stays ELU)
    table.update(convert_time.CONVERTERS)  # MatMul on a layout that keeps the last axis (time-major outputs)
    table.update(convert_deconv.CONVERTERS)
    table.update(convert_resize.CONVERTERS)
    table.update(recurrent.CONVERTERS)  # LSTM
    table.update(convert_gru.CONVERTERS)  # GRU, RNN
    return table


def convert_nodes(b: Builder, nodes) -> None:
    table = converters()
    refused, unknown = [], set()  # unknown: outputs of refused nodes (and of the nodes that read them)
    for node in nodes:
        b.node = node
        if node.domain not in ("", "ai.onnx"):
            refused.append(f"{b.where()}: operator domain '{node.domain}' is not supported")
            unknown.update(_placeholders(b, node))
            continue
        if unknown.intersection(node.input):
            unknown.update(_placeholders(b, node))
            continue
        try:
            if node.op_type in _IDENTITY:
                b.set(0, b.get(node.input[0]))
                continue
            if fold.try_fold(b, node):
                continue
            convert = table.get(node.op_type)
            if convert is None:
                why = _REFUSED.get(node.op_type)
                raise b.fail(f"operator {node.op_type} is not supported" + (f": {why}" if why else ""))
            convert(b)
        except NodeError as e:
            refused.append(str(e))
            unknown.update(_placeholders(b, node))
        except (ValueError, IndexError, KeyError, TypeError) as e:  # a node whose attributes or shapes do not fit
            refused.append(f"{b.where()}: cannot convert ({type(e).__name__}: {e})")
            unknown.update(_placeholders(b, node))
    if len(refused) == 1:
        raise UnsupportedError(refused[0])
    if refused:
        raise UnsupportedError(f"{len(refused)} nodes are not supported: " + "; ".join(refused))


def _placeholders(b: Builder, node) -> None:
    """A refused node's outputs stand in as empty values so the walk goes on and names every refusal."""
    from tinygen.frontend.onnx.builder import Val

    for out in node.output:
        b.vals.setdefault(out, Val((1,), const=np.zeros(1, np.float32)))
    return set(node.output)


def finish(b: Builder) -> None:
    """FULLY_CONNECTED without bias followed by an ADD of a (units,) constant: the constant becomes the bias
    (PyTorch's MatMul + Add form of nn.Linear on 3-D inputs, and hand-written MatMul + Add)."""
    g = b.g
    for fc in [o for o in g.ops if o.kind == OpKind.FULLY_CONNECTED and (len(o.inputs) < 3 or o.inputs[2] is None)]:
        y = fc.outputs[0]
        users = [o for o in g.ops if y in o.inputs]
        if len(users) != 1 or users[0].kind != OpKind.ADD or y in g.outputs:
            continue
        add = users[0]
        other = add.inputs[1] if add.inputs[0] == y else add.inputs[0]
        t = g.tensors[other]
        units = g.tensors[fc.inputs[1]].shape[0]
        if not t.is_const or t.size != units or t.shape[-1:] != (units,) or add.attrs.activation.value != "NONE":
            continue
        fc.inputs = [fc.inputs[0], fc.inputs[1], b.const(f"{fc.name}/bias", t.data.reshape(units))]
        fc.outputs = [add.outputs[0]]
        g.ops.remove(add)
    recurrent.prune_unused(b)  # an LSTM's Y / Y_h views nothing reads
    g.remove_unused_tensors()
