"""OpSpec: what tinygen knows about one op kind (frontends, checks, references, export, kernels), and the
registry keyed by `ir.OpKind` that the generic stages dispatch through."""
from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Callable, Optional, Union

from tinygen.ir import OpKind


@dataclass(frozen=True)
class NotApplicable:
    """An entry an op kind deliberately does not have; `reason` says why (docs/operators.md prints it)."""
    reason: str


# How quantization-aware training (tinygen/quant/qat) treats a Keras layer, besides the weighted ones
QAT_SHARED = "keeps its input's int8 parameters"
QAT_RANGED = "learns its own output range"
QAT_RANGED_RELU = "learns its own output range, a following ReLU / ReLU6 fused"


@dataclass(frozen=True)
class KerasLayer:
    """A Keras layer class the Keras frontend converts, and its converter:
    (builder, layer, layer config, input tensor names, output shape) -> output tensor name.
    `qat` is one of the QAT_* roles, or "" (weighted layers: qat_layers; others: refused by QAT)."""
    name: str
    convert: Callable
    qat: str = ""


@dataclass(frozen=True)
class TfliteOp:
    """A TFLite builtin operator the TFLite frontend converts, and its converter:
    (c: tflite_context.OpContext) -> (OpKind, attrs, input tensor indices), or a list of
    (OpKind, attrs, input tensor indices, output tensor indices) when one builtin becomes several ops."""
    name: str
    convert: Callable
    options: Optional[tuple] = None  # (options table, fields copied into RawOp.options), e.g. ("SoftmaxOptions", ("Beta",))


@dataclass(frozen=True)
class Lowering:
    """The kernels that lower this kind: every `Kernel` registered for it in tinygen/lower, tried in
    registration order (`kernel_classes` lists them); `dtypes` names the activation types they cover."""
    dtypes: tuple


Entry = Union[Callable, NotApplicable]


@dataclass(frozen=True)
class OpSpec:
    kind: OpKind
    summary: str  # one line for docs/operators.md
    tflite: Union[tuple, NotApplicable]  # TfliteOp entries: builtins the TFLite frontend maps to `kind`
    keras: Union[tuple, NotApplicable]  # KerasLayer entries
    checks: tuple  # support checks (c: CheckContext) -> None; each docstring is the rule the user sees
    float_ref: Entry  # (op, inputs, out_shape, graph) -> float32 array
    bounds: Entry  # (graph, op, input_range) -> accumulator report dict, or None when it does not apply
    export: Entry  # (writer, op, input indices, output indices) -> None: emits TFLite operators
    kernels: Union[Lowering, NotApplicable]
    inputs: tuple = (1, 1)  # (min, max) number of inputs; the first `min` must be present
    activation_input: bool = True  # the C kernel reads input 0 from the arena: a constant is refused
    keras_activations: tuple = ()  # (name, attrs): `activation="name"` in a Keras layer makes this op
    float_batchable: Optional[Callable] = None  # op -> False when the float reference needs one sample at a time
    weights_axis: Optional[int] = None  # output-channel axis of the constant weights (input 1)
    fuses_activation: bool = False  # kernels clamp to attrs.activation: the passes fuse a following RELU / RELU6
    attrs: Optional[type] = None  # the attrs dataclass, when the family module defines it (not tinygen/ir)
    outputs: int = 1  # number of outputs (DETECTION_POSTPROCESS: 4)


_SPECS: dict = {}


def register(*specs: OpSpec) -> None:
    for s in specs:
        if s.kind in _SPECS:
            raise ValueError(f"{s.kind.value}: registered twice")
        _SPECS[s.kind] = s


_MACHINERY = ("spec", "checks", "common", "coverage", "docs", "tflite_context")


_loaded = False  # every family module imported (importing one directly registers only its own specs)


def _load() -> None:
    """Import every family module of tinygen/ops: each registers its specs on import."""
    import importlib
    import pkgutil

    import tinygen.ops as package

    global _loaded
    for m in sorted(pkgutil.iter_modules(package.__path__), key=lambda m: m.name):
        if m.name not in _MACHINERY:
            importlib.import_module(f"tinygen.ops.{m.name}")
    _loaded = True


def spec_for(kind: OpKind) -> Optional[OpSpec]:
    """The spec of `kind`, or None if no family module declares it."""
    if not _loaded:
        _load()
    return _SPECS.get(kind)


def all_specs() -> list:
    """Every registered spec, in OpKind order."""
    if not _loaded:
        _load()
    return [_SPECS[k] for k in OpKind if k in _SPECS]


def applies(entry) -> bool:
    return not isinstance(entry, NotApplicable)


def kernel_classes(kind: OpKind) -> list:
    """The Kernel classes registered for `kind`, in the order `kernels.base.choose` tries them."""
    from tinygen.lower import load_all
    from tinygen.lower.base import _REGISTRY

    load_all()
    return [type(k) for k in _REGISTRY.get(kind, [])]


def keras_layers() -> dict:
    """Keras layer class name -> converter, over every spec."""
    return {layer.name: layer.convert for s in all_specs() if applies(s.keras) for layer in s.keras}


def keras_qat_roles() -> dict:
    """Keras layer class name -> QAT role, for the layers that have one."""
    return {layer.name: layer.qat for s in all_specs() if applies(s.keras) for layer in s.keras if layer.qat}


def keras_activations() -> dict:
    """Keras activation name -> (OpKind, attrs), over every spec."""
    return {name: (s.kind, attrs) for s in all_specs() for name, attrs in s.keras_activations}


def tflite_builtins() -> dict:
    """TFLite builtin name -> OpKind, over every spec."""
    return {t.name: s.kind for s in all_specs() if applies(s.tflite) for t in s.tflite}


@lru_cache(maxsize=1)  # the registry is complete once all_specs() has loaded it
def tflite_options() -> dict:
    """TFLite builtin name -> (options table name, fields) the parser reads, over every spec."""
    return {t.name: t.options for s in all_specs() if applies(s.tflite) for t in s.tflite if t.options}


@lru_cache(maxsize=1)  # the registry is complete once all_specs() has loaded it
def tflite_converters() -> dict:
    """TFLite builtin name -> converter, over every spec."""
    return {t.name: t.convert for s in all_specs() if applies(s.tflite) for t in s.tflite}
