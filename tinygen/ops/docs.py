"""docs/operators.md from the op specs: `python -m tinygen.ops.docs > docs/operators.md`."""
from __future__ import annotations

from tinygen.ops.checks import COMMON_CHECKS
from tinygen.ops.spec import NotApplicable, all_specs, applies, kernel_classes


def _doc(fn) -> str:
    return " ".join((fn.__doc__ or "").split())


def _codes(names) -> str:
    return ", ".join(f"`{n}`" for n in names) or "-"


def _entry(value, name: str) -> str:
    if isinstance(value, NotApplicable):
        return f"not applicable: {value.reason}"
    return f"`{getattr(value, '__name__', name)}`"


def _keras(spec) -> str:
    layers = _codes(layer.name for layer in spec.keras) if applies(spec.keras) else ""
    acts = ", ".join(f"`activation='{name}'`" for name, _ in spec.keras_activations)
    return ", ".join(p for p in (layers, acts) if p) or "-"


def _summary_row(spec) -> str:
    tflite = _codes(t.name for t in spec.tflite) if applies(spec.tflite) else "-"
    types = ", ".join(spec.kernels.dtypes) if applies(spec.kernels) else "- (float only)"
    return f"| {spec.kind.value} | {tflite} | {_keras(spec)} | {types} |"


def _section(spec) -> list:
    if applies(spec.kernels):
        kernels = _codes(f"{k.__module__.rsplit('.', 1)[-1]}.{k.__name__}" for k in kernel_classes(spec.kind))
    else:
        kernels = f"not applicable: {spec.kernels.reason}"
    lines = [f"## {spec.kind.value}", "", spec.summary, "",
             f"- TFLite builtins: {_codes(t.name for t in spec.tflite) if applies(spec.tflite) else _entry(spec.tflite, '')}",
             f"- Keras: {_keras(spec) if applies(spec.keras) or spec.keras_activations else _entry(spec.keras, '')}",
             f"- Kernels (tried in order): {kernels}",
             f"- Float reference: {_entry(spec.float_ref, 'float_ref')}",
             f"- Accumulator bound: {_entry(spec.bounds, 'bounds')}",
             f"- TFLite export: {_entry(spec.export, 'export')}",
             f"- Inputs: {spec.inputs[0]}..{spec.inputs[1]}" + (", input 0 an activation" * spec.activation_input),
             "- Checks, after the common ones:"]
    qat = [f"`{layer.name}` {layer.qat}" for layer in (spec.keras if applies(spec.keras) else ()) if layer.qat]
    if qat:
        lines.insert(-1, "- Quantization-aware training: " + "; ".join(qat))
    if spec.fuses_activation:
        lines.insert(-1, "- Passes: a following RELU / RELU6 fuses into it")
    lines += [f"  - {_doc(check)}" for check in spec.checks]
    return lines + [""]


def render() -> str:
    """The text of docs/operators.md."""
    specs = all_specs()
    lines = ["# Operators", "",
             "Generated from the op specs in `tinygen/ops` by `python -m tinygen.ops.docs > docs/operators.md`;",
             "do not edit by hand (tests/unit/test_op_specs.py checks it is current).", "",
             "| Op kind | TFLite builtins | Keras | Activation types |", "|---|---|---|---|"]
    lines += [_summary_row(s) for s in specs]
    lines += ["", "Every op first passes the common checks:", ""]
    lines += [f"- {_doc(check)}" for check in COMMON_CHECKS]
    lines += ["", "A failed check is one line naming the file, the layer, the field, and the rule it broke.", ""]
    for s in specs:
        lines += _section(s)
    lines += _keras_without_spec()
    return "\n".join(lines).rstrip() + "\n"


def _keras_without_spec() -> list:
    """The Keras layers the frontend handles without an op spec of their own."""
    from tinygen.frontend import keras, keras_act, keras_composite, keras_ops

    return ["## Keras layers without an op of their own", "",
            "- Identity at inference, removed: " + _codes(sorted(keras.NOOP_LAYERS)),
            "- Written as several of the ops above, as TF's converter writes them (`frontend/keras_composite.py`, "
            "`keras_attention.py`, `keras_deconv.py`): " + _codes(sorted(keras_composite.HANDLERS)),
            "- Activations written as several ops (`frontend/keras_act.py`): "
            + _codes(f"activation='{a}'" for a in sorted(keras_act.COMPOSITE_NAMES)),
            "- Keras 3 operation layers (`keras.ops` on tensors, constants as operands), mapped onto the ops "
            "above by `frontend/keras_ops.py`: " + _codes(sorted(keras_ops.OPS)), ""]


if __name__ == "__main__":
    print(render(), end="")
