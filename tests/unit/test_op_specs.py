"""Every OpKind has a complete spec in tinygen/ops, and docs/operators.md is generated from the specs."""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

from tinygen import ir
from tinygen.ir import validate
from tinygen.errors import ModelFormatError
from tinygen.ops import docs
from tinygen.ops.spec import KerasLayer, Lowering, NotApplicable, TfliteOp, all_specs, kernel_classes, spec_for, tflite_builtins

ROOT = Path(__file__).resolve().parents[2]
KINDS = list(ir.OpKind)


def _entry_ok(value, kind_ok) -> bool:
    if isinstance(value, NotApplicable):
        return isinstance(value.reason, str) and len(value.reason) > 10
    return kind_ok(value)


@pytest.mark.parametrize("kind", KINDS, ids=[k.value for k in KINDS])
def test_every_kind_has_every_entry(kind):
    spec = spec_for(kind)
    assert spec is not None, f"{kind.value}: no OpSpec in tinygen/ops"
    assert spec.kind is kind and spec.summary
    missing = []
    if not _entry_ok(spec.tflite, lambda v: isinstance(v, tuple) and v and all(isinstance(t, TfliteOp) and callable(t.convert) for t in v)):
        missing.append("tflite")
    keras_ok = _entry_ok(spec.keras, lambda v: isinstance(v, tuple) and v and all(isinstance(x, KerasLayer) for x in v))
    if not keras_ok and not spec.keras_activations:
        missing.append("keras")
    if not (isinstance(spec.checks, tuple) and spec.checks and all(callable(c) and (c.__doc__ or "").strip()
                                                                   for c in spec.checks)):
        missing.append("checks (each with a docstring)")
    for name in ("float_ref", "bounds", "export"):
        if not _entry_ok(getattr(spec, name), callable):
            missing.append(name)
    if not _entry_ok(spec.kernels, lambda v: isinstance(v, Lowering) and v.dtypes):
        missing.append("kernels")
    assert not missing, f"{kind.value}: spec entries missing or neither filled nor NotApplicable: {missing}"


@pytest.mark.parametrize("kind", KINDS, ids=[k.value for k in KINDS])
def test_kernels_entry_matches_the_kernel_registry(kind):
    spec = spec_for(kind)
    registered = kernel_classes(kind)
    if isinstance(spec.kernels, NotApplicable):
        assert not registered, f"{kind.value}: kernels say not applicable but {registered} are registered"
    else:
        assert registered, f"{kind.value}: no Kernel registered in tinygen/lower"


def test_tflite_names_are_unique_and_converted():
    names = [t.name for s in all_specs() if isinstance(s.tflite, tuple) for t in s.tflite]
    assert len(names) == len(set(names))
    assert all(callable(t.convert) for s in all_specs() if isinstance(s.tflite, tuple) for t in s.tflite)
    assert set(tflite_builtins()) == set(names)


def test_keras_names_are_unique():
    names = [layer.name for s in all_specs() if isinstance(s.keras, tuple) for layer in s.keras]
    assert len(names) == len(set(names))
    acts = [n for s in all_specs() for n, _ in s.keras_activations]
    assert len(acts) == len(set(acts))


def test_operators_md_is_generated_from_the_specs():
    committed = (ROOT / "docs" / "operators.md").read_text()
    assert committed == docs.render(), "regenerate: python -m tinygen.ops.docs > docs/operators.md"


def test_failed_check_names_file_layer_field_and_rule():
    t = {n: ir.Tensor(n, s, "float32") for n, s in (("x", (1, 6)), ("y", (1, 4)))}
    g = ir.Graph(t, [ir.Op(ir.OpKind.RESHAPE, "flat", ["x"], ["y"], ir.ReshapeAttrs())], ["x"], ["y"],
                 source="m.keras")
    with pytest.raises(ModelFormatError) as e:
        validate.check(g)
    msg = str(e.value)
    assert msg.startswith("m.keras: layer 'flat' (RESHAPE): reshape from [1, 6] to [1, 4]")
    assert msg.endswith("(rule: the output has as many elements as the input)") and "\n" not in msg


# ---- size limits: every module of the compiler -----------------------------------------------------

_LIMITED = sorted((ROOT / "tinygen").rglob("*.py"))


@pytest.mark.parametrize("path", _LIMITED, ids=[str(p.relative_to(ROOT / "tinygen")) for p in _LIMITED])
def test_modules_and_functions_stay_small(path):
    text = path.read_text()
    assert len(text.splitlines()) <= 450, f"{path.name}: over 450 lines (split it by what it does)"
    for node in ast.walk(ast.parse(text)):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            n = node.end_lineno - node.lineno + 1
            assert n <= 80, f"{path.name}: {node.name} is {n} lines"


def test_tflite_option_fields_resolve_in_the_schema():
    """Every options field a spec declares is a scalar of its options table (slot and type found)."""
    from tinygen.frontend.tflite_parse import _option_slot

    for s in all_specs():
        for t in s.tflite if isinstance(s.tflite, tuple) else ():
            if t.options:
                cls_name, fields = t.options
                for f in fields:
                    slot, kind = _option_slot(cls_name, f)
                    assert slot >= 4 and kind, (t.name, f)


def test_coverage_doc_is_current_and_lists_tflm_builtins():
    from tinygen.ops import coverage

    builtins, _custom = coverage.tflm_registered()
    assert len(builtins) > 80 and "CONV_2D" in builtins and "UNIDIRECTIONAL_SEQUENCE_LSTM" in builtins
    text = (Path(__file__).resolve().parents[2] / "docs" / "coverage.md").read_text()
    assert text == coverage.render(), "docs/coverage.md is stale: python -m tinygen.ops.coverage > docs/coverage.md"
    for name in builtins:
        assert f"| {name} |" in text
