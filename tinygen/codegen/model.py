"""C generation: turn lowered ops and an arena plan into model.c / model.h via Jinja templates.

The file stem is the model's name (compiler.generate: OUT/model/<name>.c, <name>.h, and the same in
the packages of codegen/project.py), so that several models can share one program and one folder.

Everything printed is computed here; the templates only loop and print. Output is deterministic:
the same inputs give byte-identical files.
"""
from __future__ import annotations

import functools
import re
import shutil
from dataclasses import dataclass
from pathlib import Path

import jinja2
import numpy as np

from tinygen.ir import Graph
from tinygen.lower.base import ConstArg, Literal, ScratchArg, TensorArg
from tinygen.lower.csig import check_call
from tinygen.paths import runtime_file, runtime_index, templates_dir
from tinygen.memory.plan import ALIGN, Plan
from tinygen.memory import views

CTYPES = {"int8": "int8_t", "uint8": "uint8_t", "int16": "int16_t", "uint16": "uint16_t",
          "int32": "int32_t", "int64": "int64_t", "float32": "float", "bool": "uint8_t"}


@dataclass
class CArray:
    name: str
    ctype: str
    count: int
    body: str  # the initializer lines
    comment: str


@dataclass
class CLayer:
    index: int
    name: str
    op: str
    call: str  # the full C call expression, or "" for an alias
    comment: str


def c_identifier(text: str) -> str:
    s = re.sub(r"[^0-9A-Za-z_]", "_", text)
    return s if not s[:1].isdigit() else "_" + s


def _format_values(data: np.ndarray, ctype: str, per_line: int = 16) -> str:
    flat = data.ravel()
    if ctype == "float":
        items = [repr(float(np.float32(v))) + "f" for v in flat]
        items = [("(float)" + i[:-1]) if ("inf" in i or "nan" in i) else i for i in items]
    elif ctype == "int32_t":
        items = [f"{int(v)}" if int(v) != -(1 << 31) else "INT32_MIN" for v in flat]
    elif ctype == "int64_t":
        items = [f"INT64_C({int(v)})" if int(v) != -(1 << 63) else "INT64_MIN" for v in flat]
    else:
        items = [str(int(v)) for v in flat]
    lines = []
    for i in range(0, len(items), per_line):
        lines.append("    " + ", ".join(items[i:i + per_line]) + ",")
    return "\n".join(lines) if lines else "    0,"


def _comment(text: str) -> str:
    """Make user-provided text (layer names) safe inside a C block comment."""
    return text.replace("*/", "* /").replace("/*", "/ *").replace("\n", " ")


def _literal(value) -> str:
    if isinstance(value, str):
        return value
    v = int(value)
    if v == -(1 << 31):
        return "INT32_MIN"
    return str(v)


class _Ctx:
    def __init__(self, graph: Graph, plan: Plan, prefix: str):
        self.graph, self.plan, self.prefix = graph, plan, prefix

    def tensor_ptr(self, name: str, const: bool) -> str:
        t = self.graph.tensors[name]
        ctype = CTYPES[t.dtype]
        qual = "const " if const else ""
        kind, where = self.plan.storage[name]
        if kind == "input":
            return f"({qual}{ctype} *)inputs[{where}]"
        if kind == "input_view":  # a slice of a model input, read in place (memory/views.py)
            return f"({qual}{ctype} *)((const uint8_t *)inputs[{where[0]}] + {where[1]})"
        if kind == "output":
            return f"({qual}{ctype} *)outputs[{where}]"
        if kind == "state":
            return f"({qual}{ctype} *)({self.prefix}_state + {where})"
        return f"({qual}{ctype} *)({self.prefix}_arena + {where})"


def _sources_for(lowered: list) -> list:
    """The runtime files the model needs: each call's .c, its .h, and headers they include."""
    index = runtime_index()
    wanted: list = []

    def add(fname: str) -> None:
        if fname in wanted or fname not in index:
            return
        wanted.append(fname)
        for inc in re.findall(r'#include\s+"([^"]+)"', index[fname].read_text()):
            add(inc)
        if fname.endswith(".c"):
            add(fname[:-2] + ".h")

    add("tg_common.h")
    for lop in lowered:
        for src in lop.c_sources:
            runtime_file(src)  # a kernel file the runtime does not have is an error, not a silent skip
            add(src)
    return sorted(wanted)


@functools.lru_cache(maxsize=None)
def _environment() -> jinja2.Environment:
    """One Jinja environment per process, so templates compile once."""
    return jinja2.Environment(loader=jinja2.FileSystemLoader(str(templates_dir())),
                              undefined=jinja2.StrictUndefined, keep_trailing_newline=True,
                              trim_blocks=True, lstrip_blocks=True)


def render(graph: Graph, lowered: list, plan: Plan, name: str = "model", stem: str = "model",
           labels=None) -> dict:
    """Return {filename: text} for <stem>.h, <stem>.c and the runtime sources they use.

    `labels` (a list of strings, one per value of output 0) become the const array <name>_labels."""
    prefix = c_identifier(name)
    upper = prefix.upper()
    ctx = _Ctx(graph, plan, prefix)
    arrays: list = []
    layers: list = []
    shared: dict = {}  # id of a const_arrays list -> its C names (the bands of a patched layer share one)
    for i, lop in enumerate(lowered):
        if lop.alias_of is not None or not lop.c_function or i in plan.views:
            layers.append(CLayer(i, lop.op.name, lop.op.kind.value, "",
                                 _comment(f"{lop.op.kind.value} '{lop.op.name}' (no copy)")))
            continue
        names = shared.setdefault(id(lop.const_arrays), [])
        for j, ca in enumerate(lop.const_arrays if not names else []):
            aname = f"{prefix}_l{i}_{c_identifier(ca.suffix)}"
            ctype = CTYPES[str(ca.data.dtype)]
            arrays.append(CArray(aname, ctype, int(ca.data.size), _format_values(ca.data, ctype),
                                 _comment(f"layer {i} '{lop.op.name}': {ca.suffix} {list(ca.data.shape)}")))
            names.append(aname)
        params = check_call(lop)  # schedule.optimize may have swapped in an in-place variant
        args = []
        for a in lop.args:
            if isinstance(a, TensorArg):
                args.append(ctx.tensor_ptr(a.tensor, a.const))
            elif isinstance(a, ConstArg):
                args.append(names[a.index])
            elif isinstance(a, ScratchArg):
                args.append(f"(int8_t *)({prefix}_arena + {plan.scratch[i]})")
            elif isinstance(a, Literal):
                args.append(_literal(a.value))
            else:
                raise TypeError(f"unknown C argument {a!r}")
        call = f"{lop.c_function}(" + ",".join(f"\n        /* {p.name} */ {a}" for p, a in zip(params, args)) + ")"
        layers.append(CLayer(i, lop.op.name, lop.op.kind.value, call, _comment(f"{lop.op.kind.value} '{lop.op.name}'")))

    sources = _sources_for([lop for i, lop in enumerate(lowered) if i not in plan.views])  # views: no call
    inside = views.offsets(graph, lowered)  # views start inside their input's buffer: element-aligned only
    headers = [s for s in sources if s.endswith(".h") and s != "tg_common.h"]
    ins = [graph.tensors[t] for t in graph.inputs]
    outs = [graph.tensors[t] for t in graph.outputs]
    env = _environment()
    values = dict(
        prefix=prefix, upper=upper, model_name=_comment(graph.name),
        arena_size=max(plan.arena_bytes, 16), arena_used=plan.arena_bytes,
        inputs=[_io_tensor(t, k) for k, t in enumerate(ins)], outputs=[_io_tensor(t, k) for k, t in enumerate(outs)],
        num_layers=len(lowered), layers=layers, arrays=arrays, headers=headers,
        arena_align=ALIGN,
        arena_checks=[dict(tag=c_identifier(f"t{k}"), offset=off, end=off + graph.tensors[t].nbytes, name=_comment(t),
                           align=np.dtype(graph.tensors[t].dtype).itemsize if t in inside else ALIGN)
                      for k, (t, (kind, off)) in enumerate(sorted(plan.storage.items())) if kind == "arena"]
        + [dict(tag=f"scratch_{i}", offset=off, end=off + lowered[i].scratch_bytes, name=f"scratch of layer {i}",
                align=ALIGN)
           for i, off in sorted(plan.scratch.items())],
    )
    values.update(_state_values(plan, prefix))
    values.update(_arena_io(graph, plan, values["inputs"], values["outputs"]))
    values.update(_float_api(values["inputs"], values["outputs"], prefix))
    values["labels"] = [_c_string(x) for x in labels] if labels else []
    values["stem"] = stem
    files = {
        f"{stem}.h": env.get_template("model.h.j2").render(**values),
        f"{stem}.c": env.get_template("model.c.j2").render(**values),
    }
    for s in sources:
        files[s] = runtime_file(s).read_text()
    return files


def _state_values(plan: Plan, prefix: str) -> dict:
    """What the templates print for the persistent state region; `state` is empty for a stateless model.

    Each variable's reset value is a fill of one byte value when all its bytes are equal (no array), else
    a const byte array copied in; the region's last word is nonzero once the state is initialised."""
    state = []
    for k, slot in enumerate(plan.state):
        init = slot.init
        uniform = len(set(init)) <= 1
        entry = dict(name=_comment(slot.tensor), offset=slot.offset, nbytes=slot.nbytes,
                     fill=(init[0] if init else 0) if uniform else None, array=None)
        if not uniform:
            entry["array"] = f"{prefix}_state_init{k}"
            entry["body"] = _format_values(np.frombuffer(init, np.uint8), "uint8_t")
        state.append(entry)
    return dict(state=state, state_size=plan.state_bytes,
                state_ready=plan.state_bytes - 16 if plan.state else 0)


def write(files: dict, out_dir: Path) -> None:
    out_dir.mkdir(parents=True, exist_ok=True)
    for fname, text in sorted(files.items()):
        (out_dir / fname).write_text(text)


def copy_runtime(fnames: list, out_dir: Path) -> None:
    for f in fnames:
        shutil.copyfile(runtime_file(f), out_dir / f)


_QRANGE = {"int8_t": (-128, 127), "uint8_t": (0, 255), "int16_t": (-32768, 32767)}


def _float_literal(value: float) -> str:
    """A float32 value as a C float literal that reads back as the same float."""
    return repr(float(np.float32(value))) + "f"


def _io_tensor(t, index: int) -> dict:
    """What the header prints for one model input or output: sizes, and the affine parameters when it has them."""
    q = t.quant
    quantized = q is not None and not q.per_axis and CTYPES[t.dtype] in _QRANGE
    return dict(name=_comment(t.name), index=index, ctype=CTYPES[t.dtype], nbytes=t.nbytes, count=t.size,
                shape="x".join(map(str, t.shape)),
                scale=_float_literal(q.scale[0]) if quantized else None,
                zero_point=int(q.zero_point[0]) if quantized else None,
                qmin=_QRANGE[CTYPES[t.dtype]][0] if quantized else None,
                qmax=_QRANGE[CTYPES[t.dtype]][1] if quantized else None)


def _arena_io(graph: Graph, plan: Plan, ins: list, outs: list) -> dict:
    """With the I/O in the arena: each input's and output's arena offset (`arena_offset` in the dicts)."""
    if not plan.io_in_arena:
        return dict(io_in_arena=False)
    for names, dicts in ((graph.inputs, ins), (graph.outputs, outs)):
        for name, t in zip(names, dicts):
            kind, where = plan.storage[name]
            assert kind == "arena" and where % ALIGN == 0, (name, kind, where)
            t["arena_offset"] = where
    return dict(io_in_arena=True)


def _float_api(ins: list, outs: list, prefix: str = "model") -> dict:
    """<prefix>_invoke_float: where each quantized input and output sits in its static buffer.

    `ins` / `outs` are the _io_tensor dicts. Emitted when every input is quantized (int8 / uint8 / int16
    with one scale) or float; outputs that are neither (an ARG_MAX index, a bool) are converted to float
    as they are. When the inputs and outputs live in the arena (their dicts carry `arena_offset`), the
    quantized values are written and read there and no buffer of its own is needed."""
    if not all(t["scale"] is not None or t["ctype"] == "float" for t in ins):
        return dict(float_api=None)
    offset = 0
    entries = []
    in_arena = any("arena_offset" in t for t in ins + outs)
    for kind, tensors in (("input", ins), ("output", outs)):
        for t in tensors:
            arg = f"{kind}{t['index']}" if len(ins) + len(outs) > 2 else kind
            convert = "float" if t["ctype"] == "float" else ("affine" if t["scale"] is not None else "cast")
            entry = dict(t, kind=kind, arg=arg, convert=convert, offset=None)
            if convert != "float" and in_arena:
                entry["offset"] = t["arena_offset"]
            elif convert != "float":
                entry["offset"] = offset
                offset += -(-t["nbytes"] // 8) * 8
            entries.append(entry)
    params = [f"const float *{e['arg']}" for e in entries if e["kind"] == "input"]
    params += [f"float *{e['arg']}" for e in entries if e["kind"] == "output"]
    quantizes = any(e["kind"] == "input" and e["convert"] != "float" for e in entries)
    return dict(float_api=dict(entries=entries, params=", ".join(params), io_size=max(offset, 8),
                               buffer=offset > 0, quantizes=quantizes,
                               loops=any(e["convert"] != "float" for e in entries),
                               base=f"{prefix}_arena" if in_arena else f"{prefix}_float_io"))


def _c_string(text: str) -> str:
    """A C string literal (without quotes) for `text`: printable ASCII kept, anything else as octal escapes."""
    out = []
    for b in text.encode("utf-8"):
        c = chr(b)
        if c in '"\\?':  # '?': no trigraphs
            out.append("\\" + c)
        elif 0x20 <= b < 0x7F:
            out.append(c)
        else:
            out.append(f"\\{b:03o}")
    return "".join(out)


def read_labels(labels, output_count: int, output_name: str) -> list:
    """Class labels from a file (one per line) or a list of strings; their count must equal output 0's values."""
    from tinygen.errors import TinygenError

    if labels is None:
        return []
    if isinstance(labels, (list, tuple)):
        where, items = "labels", [str(x) for x in labels]
    else:
        where = str(labels)
        path = Path(labels)
        if not path.is_file():
            raise TinygenError(f"{where}: no such labels file")
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise TinygenError(f"{where}: not a readable UTF-8 labels file ({type(exc).__name__})") from None
        items = [line.rstrip("\r") for line in text.split("\n")]
        if items and items[-1] == "":
            items.pop()  # the final newline
    for k, item in enumerate(items):
        if not item.strip():
            raise TinygenError(f"{where}: line {k + 1} is empty (one label per line)")
    if len(items) != output_count:
        raise TinygenError(f"{where}: {len(items)} labels, but output '{output_name}' has {output_count} values "
                           "(one label per line, one per value)")
    return items
