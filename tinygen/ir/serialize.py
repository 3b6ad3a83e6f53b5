"""Save and load a quantized IR graph (JSON structure + .npz constants), so OUT can be verified later."""
from __future__ import annotations

import dataclasses
import io
import json
from pathlib import Path

import numpy as np

from tinygen import ir
from tinygen.errors import TinygenError



def _attrs_classes() -> dict:
    """Attrs dataclasses by name: those of tinygen/ir and those op family modules declare in their specs."""
    from tinygen.ops.spec import all_specs

    found = {n: c for n, c in vars(ir).items() if n.endswith("Attrs") and dataclasses.is_dataclass(c)}
    found.update({s.attrs.__name__: s.attrs for s in all_specs() if s.attrs is not None})
    return found


def _attrs_to_json(a) -> dict:
    out = {"__class__": type(a).__name__}
    for f in dataclasses.fields(a):
        v = getattr(a, f.name)
        if isinstance(v, ir.Padding):
            v = dataclasses.asdict(v)
        elif isinstance(v, ir.Activation):
            v = v.value
        elif isinstance(v, tuple):
            v = json.loads(json.dumps(v))
        out[f.name] = v
    return out


def _attrs_from_json(d: dict):
    cls = _attrs_classes()[d["__class__"]]
    kwargs = {}
    for f in dataclasses.fields(cls):
        if f.name not in d:
            continue
        v = d[f.name]
        if f.name == "padding":
            v = ir.Padding(**v)
        elif f.name == "activation":
            v = ir.Activation(v)
        elif isinstance(v, list):
            v = tuple(tuple(x) if isinstance(x, list) else x for x in v)
        kwargs[f.name] = v
    return cls(**kwargs)


def dump(graph: ir.Graph) -> tuple:
    """Return (json_text, npz_bytes)."""
    tensors = []
    arrays = {}
    for i, (name, t) in enumerate(graph.tensors.items()):
        q = None
        if t.quant is not None:
            q = dict(scale=list(t.quant.scale), zero_point=list(t.quant.zero_point), axis=t.quant.axis)
        key = None
        if t.data is not None:
            key = f"t{i}"
            arrays[key] = np.asarray(t.data)
        tensors.append(dict(name=name, shape=list(t.shape), dtype=t.dtype, quant=q, data=key, encoding=t.encoding,
                            variable=t.variable))
    ops = [dict(kind=op.kind.value, name=op.name, inputs=list(op.inputs), outputs=list(op.outputs),
                attrs=_attrs_to_json(op.attrs)) for op in graph.ops]
    doc = dict(name=graph.name, source=str(graph.source), inputs=graph.inputs, outputs=graph.outputs,
               tensors=tensors, ops=ops)
    buf = io.BytesIO()
    np.savez(buf, **arrays)
    return json.dumps(doc, indent=1, sort_keys=True), buf.getvalue()


def save(graph: ir.Graph, folder: Path) -> None:
    text, blob = dump(graph)
    (folder / "graph.json").write_text(text + "\n")
    (folder / "graph.npz").write_bytes(blob)


def load(folder: Path) -> ir.Graph:
    try:
        doc = json.loads((folder / "graph.json").read_text())
        with np.load(folder / "graph.npz", allow_pickle=False) as z:
            arrays = {k: z[k] for k in z.files}
    except (OSError, ValueError) as exc:
        raise TinygenError(f"{folder}: cannot read the saved graph ({exc})") from None
    tensors = {}
    for t in doc["tensors"]:
        q = t["quant"]
        quant = ir.QuantParams(tuple(q["scale"]), tuple(q["zero_point"]), q["axis"]) if q else None
        data = arrays[t["data"]] if t["data"] else None
        tensors[t["name"]] = ir.Tensor(t["name"], tuple(t["shape"]), t["dtype"], quant, data, t.get("encoding"),
                                       variable=bool(t.get("variable", False)))
    ops = [ir.Op(ir.OpKind(o["kind"]), o["name"], list(o["inputs"]), list(o["outputs"]),
                 _attrs_from_json(o["attrs"])) for o in doc["ops"]]
    return ir.Graph(tensors, ops, list(doc["inputs"]), list(doc["outputs"]), doc["name"], doc["source"])
