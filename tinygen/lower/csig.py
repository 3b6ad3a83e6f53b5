"""The C kernel signatures, read from the runtime headers, and the check of each lowered call against them.

The headers in runtime_c/ are the one statement of each kernel's arguments. `signature(fn)` parses the
prototype of `fn`; `check_call(lop)` compares a LoweredOp's argument list with it (count, pointer or
scalar, element type of the pointers), so a lowering rule that drifts from its C kernel stops at build
time with a message naming the layer, the kernel and the parameter. Codegen labels every argument of
the generated call with the parameter's name from the same table.
"""
from __future__ import annotations

import functools
import re
from dataclasses import dataclass

from tinygen.errors import TinygenError
from tinygen.paths import runtime_index

_PROTO = re.compile(r"(?:^|[;}\n])\s*(?:static\s+inline\s+)?(?:const\s+)?[A-Za-z_][\w\s]*?[\s*]"
                    r"(tg_\w+)\s*\(([^;{}()]*)\)\s*;", re.S)
_COMMENTS = re.compile(r"/\*.*?\*/|//[^\n]*", re.S)
_SCALARS = ("int8_t", "uint8_t", "int16_t", "uint16_t", "int32_t", "uint32_t", "int64_t", "float", "double", "int")


@dataclass(frozen=True)
class Param:
    name: str
    ctype: str  # as written, e.g. "const int8_t *"

    @property
    def pointer(self) -> bool:
        return "*" in self.ctype

    @property
    def element(self) -> str:
        """The pointed-to (or scalar) base type without qualifiers, e.g. "int8_t"; "void" for void *."""
        return self.ctype.replace("const", "").replace("*", "").strip()


def _parse_params(text: str) -> tuple:
    text = " ".join(text.split())
    if text in ("", "void"):
        return ()
    params = []
    for part in text.split(","):
        if part.strip() == "...":  # variadic: further arguments are pointers (CONCATENATION's inputs)
            params.append(Param("...", "const void *"))
            continue
        m = re.match(r"^(.*?[\s*])(\w+)$", part.strip())
        if not m:  # variadic or unnamed: not a kernel entry point the generated code calls
            return None
        ctype = re.sub(r"\s*\*\s*", " *", m.group(1).strip()).strip()
        params.append(Param(m.group(2), ctype))
    return tuple(params)


@functools.lru_cache(maxsize=None)
def signatures() -> dict:
    """{function name: tuple of Param} for every prototype in the runtime headers."""
    table: dict = {}
    for name, path in sorted(runtime_index().items()):
        if not name.endswith(".h"):
            continue
        text = _COMMENTS.sub(" ", path.read_text())
        text = re.sub(r"^\s*#[^\n]*", " ", text, flags=re.M)
        for m in _PROTO.finditer(text):
            params = _parse_params(m.group(2))
            if params is not None:
                table.setdefault(m.group(1), params)
    return table


def signature(fn: str) -> tuple:
    sig = signatures().get(fn)
    if sig is None:
        raise TinygenError(f"kernel {fn}: no prototype in the runtime headers")
    return sig


def check_call(lop) -> tuple:
    """Check `lop.args` against its kernel's prototype; returns the Params (one per argument)."""
    from tinygen.lower.base import ConstArg, Literal, ScratchArg, TensorArg

    params = signature(lop.c_function)
    where = f"layer '{lop.op.name}' ({lop.op.kind.value}), kernel {lop.c_function}"
    if params and params[-1].name == "...":
        fixed = params[:-1]
        params = fixed + tuple(Param(f"in{k}", params[-1].ctype) for k in range(len(lop.args) - len(fixed)))
    if len(params) != len(lop.args):
        raise TinygenError(f"{where}: the lowering gives {len(lop.args)} arguments, the kernel takes {len(params)}")
    for k, (arg, p) in enumerate(zip(lop.args, params)):
        pointer_arg = isinstance(arg, (TensorArg, ConstArg, ScratchArg)) or (
            isinstance(arg, Literal) and arg.value == "NULL")
        if pointer_arg != p.pointer:
            got = "a pointer" if pointer_arg else "a number"
            raise TinygenError(f"{where}: argument {k} ({p.name}, {p.ctype}) is given {got}")
        if isinstance(arg, ConstArg) and p.element != "void":
            from tinygen.codegen.model import CTYPES

            data = lop.const_arrays[arg.index].data
            ctype = CTYPES[str(data.dtype)]
            if ctype != p.element:
                raise TinygenError(f"{where}: argument {k} ({p.name}, {p.ctype}) is given a {ctype} array")
        if not p.pointer and p.element not in _SCALARS:
            raise TinygenError(f"{where}: parameter {p.name} has a type ({p.ctype}) the generated call cannot pass")
    return params


def args_by_name(lop) -> dict:
    """{parameter name: argument} of a lowered call, checked against its prototype first."""
    return dict((p.name, a) for p, a in zip(check_call(lop), lop.args))
