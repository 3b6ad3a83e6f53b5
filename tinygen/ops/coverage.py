"""docs/coverage.md from the op specs: `python -m tinygen.ops.coverage > docs/coverage.md`.

One row per builtin operator that the pinned TFLM registers (read from its installed runtime), with
tinygen's support by activation type (int8, and 16x8: int16 activations with int8 weights) and, where the
answer is no, why. Custom operators TFLM registers (its signal library, SSD post-processing) get a second
table. Support comes from the specs: a builtin is supported for a type when a spec maps it and that spec's
`Lowering` names the type; builtins that only ever run on constants are evaluated at compile time.
"""
from __future__ import annotations

import re
from functools import lru_cache
from pathlib import Path

from tinygen.ops.spec import applies, spec_for, tflite_builtins

# Builtins the TFLite frontend evaluates at compile time when every input is a constant (shape
# arithmetic the converter leaves in the graph); with an activation input they are refused.
FOLDED = ("SHAPE", "RANK", "CAST")

# Why a builtin is not supported, where there is more to say than "not yet".
REASONS = {
    "IF": "control flow: tinygen compiles one static dataflow graph, without subgraph calls",
    "WHILE": "control flow: tinygen compiles one static dataflow graph, without subgraph calls",
    "CAST": "on activations: converts to types outside tinygen's integer activation types",
    "EMBEDDING_LOOKUP": "not supported yet (float / hybrid tables in TFLM)",
    "DYNAMIC_UPDATE_SLICE": "not supported yet (data-dependent write offsets)",
    "EXP": "TFLM runs it on float32 only",
    "NEG": "TFLM runs it on float32 only",
    "SQRT": "TFLM runs it on float32 only",
    "LOG": "TFLM runs it on float32 only",
}
# Builtins TFLM runs on int8 but not on int16: their missing 16x8 kernel is TFLM's, not tinygen's.
TFLM_NO_INT16 = dict.fromkeys(("ELU", "DIV", "HARD_SWISH", "LOG_SOFTMAX", "L2_NORMALIZATION", "EQUAL", "NOT_EQUAL",
                               "LESS", "LESS_EQUAL", "GREATER_EQUAL"), "TFLM runs it on int8 only")
TFLM_NO_INT16.update(dict.fromkeys(("GATHER", "GATHER_ND", "DEPTH_TO_SPACE", "SPACE_TO_DEPTH", "ARG_MAX", "ARG_MIN",
                                     "CUMSUM", "REDUCE_MAX", "REDUCE_MIN", "RESIZE_BILINEAR", "SVDF"),
                                    "TFLM runs it on int8 only"))
TFLM_NO_INT16["GREATER"] = "TFLM accepts int16 GREATER but its outputs are not x > y; refused"
NOT_YET = "not supported yet"
# Builtins the TFLite frontend removes, their meaning kept by the graph (frontend/tflite_resource.py).
RESOLVED = {
    "VAR_HANDLE": "names a resource variable: the frontend makes it one variable tensor (persistent state)",
    "CALL_ONCE": "its init subgraph of constant assignments becomes the variables' initial (reset) values",
}
# Builtins whose kernel tests use another oracle than TFLM, and why.
OTHER_ORACLE = {
    "SPACE_TO_BATCH_ND": "checked against desktop TFLite's reference kernels: TFLM pads with uninitialized "
                         "memory (tflite-micro issue 1646) and has no int16 kernel",
    "BATCH_TO_SPACE_ND": "int8 checked against TFLM, 16x8 against desktop TFLite's reference kernels (no TFLM "
                         "int16 kernel)",
    "MIRROR_PAD": "int8 checked against TFLM, 16x8 against desktop TFLite's reference kernels (no TFLM int16 "
                  "kernel)",
}
_VARIANTS = re.compile(r"_(FLOAT|INT16|INT32)$|^L2NORM_REF$")


@lru_cache(maxsize=1)
def tflm_registered() -> tuple:
    """(builtins, custom ops) the installed tflite-micro runtime registers, each sorted."""
    from tflite.BuiltinOperator import BuiltinOperator
    from tflite_micro.python.tflite_micro import runtime

    (lib,) = Path(runtime.__file__).parent.glob("_runtime*.so")
    names = {m.decode() for m in re.findall(rb"Register_([A-Z][A-Z0-9_]*?)Ev", lib.read_bytes())}
    builtin_names = {k for k in vars(BuiltinOperator) if not k.startswith("_")}
    builtins = sorted(n for n in names if n in builtin_names)
    custom = sorted(n for n in names if n not in builtin_names and not _VARIANTS.search(n))
    return tuple(builtins), tuple(custom)


def _types(dtypes: tuple) -> tuple:
    """(int8, 16x8) support from a Lowering's dtype labels."""
    int8 = any(d.startswith(("int8", "any", "uint8", "bool (")) or "-> int8" in d for d in dtypes)
    int16 = any("int16" in d or d.startswith(("any", "bool (")) for d in dtypes)
    return int8, int16


def support(name: str) -> tuple:
    """(int8 cell, 16x8 cell, note) for one builtin."""
    kind = tflite_builtins().get(name)
    spec = spec_for(kind) if kind is not None else None
    if spec is None:
        if name in RESOLVED:
            return "yes", "yes", RESOLVED[name]
        if name in FOLDED:
            note = "evaluated at compile time when its inputs are constant; " + REASONS.get(name, "refused otherwise")
            return "folded", "folded", note
        return "no", "no", REASONS.get(name, NOT_YET)
    if not applies(spec.kernels):
        return "folded", "folded", spec.kernels.reason
    int8, int16 = _types(spec.kernels.dtypes)
    missing = [t for t, ok in (("int8", int8), ("16x8", int16)) if not ok]
    note = f"as {kind.value}" if kind.value != name else ""
    if missing == ["16x8"] and name in TFLM_NO_INT16:
        note = (note + "; " if note else "") + TFLM_NO_INT16[name]
    elif missing:
        note = (note + "; " if note else "") + f"no {' / '.join(missing)} kernel yet"
    if name in OTHER_ORACLE:
        note = (note + "; " if note else "") + OTHER_ORACLE[name]
    return ("yes" if int8 else "no"), ("yes" if int16 else "no"), note


_CUSTOM_CODES = {"DETECTION_POSTPROCESS": "TFLite_Detection_PostProcess"}  # TFLM name -> .tflite custom_code


def _custom_support(name: str) -> str:
    code = _CUSTOM_CODES.get(name)
    kind = tflite_builtins().get(f"CUSTOM({code})") if code else None
    if kind is None:
        return NOT_YET
    return f"yes: custom op `{code}`, as {kind.value} ({', '.join(spec_for(kind).kernels.dtypes)})"


def render() -> str:
    builtins, custom = tflm_registered()
    rows = [support(n) for n in builtins]
    n8 = sum(r[0] == "yes" for r in rows)
    n16 = sum(r[1] == "yes" for r in rows)
    lines = [
        "# Operator coverage against TFLM",
        "",
        "Generated by `python -m tinygen.ops.coverage > docs/coverage.md` from the op specs "
        "(`tinygen/ops`) and the operator registry of the pinned tflite-micro runtime. Do not edit.",
        "",
        f"TFLM registers {len(builtins)} builtin operators; tinygen compiles {n8} of them with int8 activations "
        f"and {n16} with 16x8 (int16 activations, int8 weights). \"folded\": evaluated at compile time. Every "
        "\"yes\" is checked byte for byte against TFLM's reference interpreter by the op's kernel tests "
        "(where TFLM cannot run it, against desktop TFLite's reference kernels, as the note says); "
        "per-op details (checks, kernels) are in [operators.md](operators.md). A model that uses an operator "
        "marked no is refused with a one-line error naming the layer and the operator.",
        "",
        "| TFLM builtin | int8 | 16x8 | note |",
        "|---|---|---|---|",
    ]
    lines += [f"| {n} | {a} | {b} | {note} |" for n, (a, b, note) in zip(builtins, rows)]
    lines += ["", "## Custom operators TFLM registers", "",
              "| TFLM custom op | tinygen |", "|---|---|"]
    lines += [f"| {n} | {_custom_support(n)} |" for n in custom]
    unknown = sorted(n for n in set(tflite_builtins()) - set(builtins) if not n.startswith("CUSTOM("))
    if unknown:
        lines += ["", "Builtins tinygen converts that this TFLM does not register: "
                  + ", ".join(f"`{n}`" for n in unknown) + "."]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    print(render(), end="")
