"""Resource variables of a .tflite model become variable tensors (before the operators are converted).

A TFLite resource variable is named by VAR_HANDLE (container, shared_name); READ_VARIABLE copies its
value out, ASSIGN_VARIABLE copies a value in, and CALL_ONCE runs an init subgraph on the first invoke
(its ASSIGN_VARIABLEs of constants give the variables their first value). TFLM gives a variable, when
it is first prepared, the bytes of the zero point (cast to int8) of the first ASSIGN_VARIABLE value
prepared (subgraph 0 first), and its size is that value's size.

Here each resource variable becomes one variable tensor (`RawTensor.variable`) with the shape, dtype and
quantization of the values assigned to it and, as its data (its reset value), what the init subgraph
assigns, else TFLM's zero-point fill. VAR_HANDLE and CALL_ONCE disappear; READ_VARIABLE and
ASSIGN_VARIABLE take the variable tensor where they took the handle.
"""
from __future__ import annotations

import numpy as np

from tinygen.errors import ModelFormatError, UnsupportedError
from tinygen.frontend.tflite_parse import RESOURCE, RawModel, RawTensor


def resolve_resources(model: RawModel) -> None:
    """Rewrite `model` (subgraph 0) in place; no-op for a model without resource variables."""
    if not any(op.opname in ("VAR_HANDLE", "CALL_ONCE") for op in model.ops):
        return
    handles = _handles(model, model.ops)  # handle tensor index -> key
    init = _init_values(model)
    first: dict = {}  # key -> the handle tensor index that becomes the variable tensor
    for t, key in sorted(handles.items()):
        first.setdefault(key, t)
    ops = []
    for op in model.ops:
        if op.opname in ("VAR_HANDLE", "CALL_ONCE"):
            continue
        for k, t in enumerate(op.inputs):
            if t >= 0 and model.tensors[t].dtype == RESOURCE:
                if t not in handles:
                    raise _fail(model, op, f"input {k} '{model.tensors[t].name}' is a resource no VAR_HANDLE names")
                op.inputs[k] = first[handles[t]]
        ops.append(op)
    model.ops = ops
    for key, t in first.items():
        model.tensors[t] = _variable(model, key, t, init.get(key))


def _fail(model: RawModel, op, msg: str) -> UnsupportedError:
    return UnsupportedError(f"{model.source}: operator {op.index} ({op.opname}): {msg}")


def _handles(model: RawModel, ops: list) -> dict:
    out = {}
    for op in ops:
        if op.opname == "VAR_HANDLE":
            if len(op.outputs) != 1:
                raise ModelFormatError(f"{model.source}: operator {op.index} (VAR_HANDLE): expected 1 output")
            out[op.outputs[0]] = (op.options.get("container", ""), op.options.get("shared_name", ""))
    return out


def _init_values(model: RawModel) -> dict:
    """{key: constant value} assigned by the init subgraphs that CALL_ONCE runs (before any read)."""
    values: dict = {}
    seen_access = False
    for op in model.ops:
        if op.opname in ("READ_VARIABLE", "ASSIGN_VARIABLE"):
            seen_access = True
        if op.opname != "CALL_ONCE":
            continue
        if seen_access:
            raise _fail(model, op, "CALL_ONCE after a variable is read or assigned is not supported "
                                   "(tinygen runs the init subgraph before the first invoke)")
        index = int(op.options.get("InitSubgraphIndex", 0))
        if not 1 <= index <= len(model.subgraphs):
            raise ModelFormatError(f"{model.source}: operator {op.index} (CALL_ONCE): init subgraph {index} "
                                   f"does not exist (the model has {len(model.subgraphs) + 1} subgraphs)")
        values.update(_run_init(model, model.subgraphs[index - 1], index))
    return values


def _run_init(model: RawModel, sg: RawModel, index: int) -> dict:
    """An init subgraph of VAR_HANDLE and ASSIGN_VARIABLE of constants, run at build time."""
    handles = _handles(model, sg.ops)
    values = {}
    for op in sg.ops:
        if op.opname == "VAR_HANDLE":
            continue
        where = f"{model.source}: init subgraph {index}, operator {op.index} ({op.opname})"
        if op.opname != "ASSIGN_VARIABLE":
            raise UnsupportedError(f"{where}: an init subgraph may only assign constants to variables")
        if len(op.inputs) != 2 or op.inputs[0] not in handles:
            raise ModelFormatError(f"{where}: expected a VAR_HANDLE's resource and a value")
        value = sg.tensors[op.inputs[1]]
        if value.data is None:
            raise UnsupportedError(f"{where}: the value '{value.name}' is computed, not a constant; "
                                   f"tinygen supports init subgraphs that assign constants")
        values[handles[op.inputs[0]]] = value
    return values


def _variable(model: RawModel, key: tuple, t: int, init) -> RawTensor:
    """The variable tensor for resource `key`, typed by the values subgraph 0 reads and assigns."""
    name = key[1] or model.tensors[t].name
    typed = []  # (role, tensor): ASSIGN values first (they size TFLM's buffer), then READ outputs
    for op in model.ops:
        if op.opname == "ASSIGN_VARIABLE" and op.inputs[0] == t and len(op.inputs) == 2:
            typed.append(("assigned", model.tensors[op.inputs[1]]))
    for op in model.ops:
        if op.opname == "READ_VARIABLE" and op.inputs and op.inputs[0] == t and op.outputs:
            typed.append(("read", model.tensors[op.outputs[0]]))
    if init is not None:
        typed.append(("initial", init))
    if not any(role != "read" for role, _ in typed):
        raise UnsupportedError(f"{model.source}: resource variable '{name}' is never assigned (TFLM cannot read it)")
    ref = typed[0][1]
    nbytes = int(np.prod(ref.shape, dtype=np.int64)) * np.dtype(ref.dtype).itemsize
    for role, other in typed[1:]:
        size = int(np.prod(other.shape, dtype=np.int64)) * np.dtype(other.dtype).itemsize
        if other.dtype != ref.dtype or size != nbytes:
            raise UnsupportedError(f"{model.source}: resource variable '{name}': {role} tensor '{other.name}' "
                                   f"is {other.dtype}{list(other.shape)}, but '{ref.name}' is "
                                   f"{ref.dtype}{list(ref.shape)}")
    if init is not None:
        data = np.asarray(init.data).reshape(ref.shape).astype(ref.dtype)
    else:  # TFLM's first allocation: every byte the zero point cast to int8 (0 when unquantized)
        fill = (int(ref.quant.zero_point[0]) & 0xFF) if ref.quant is not None else 0
        data = np.frombuffer(bytes([fill]) * nbytes, dtype=ref.dtype).reshape(ref.shape).copy()
    return RawTensor(t, name, tuple(ref.shape), ref.dtype, ref.quant, data, variable=True)
