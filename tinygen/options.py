"""Build options: one typed object, validated once, and errors that name the option.

`CompileOptions` holds everything `compile_model` takes besides the model and the output folder.
`OptionError` messages name options through `{option}` fields, so the library says `budget_flash`
and the command line says `--budget-flash` for the same error (`OptionError.render`).
"""
from __future__ import annotations

import dataclasses
import os
import re
from dataclasses import dataclass
from typing import Any, Mapping, Optional, Union

from tinygen.errors import TinygenError

ESTIMATORS = ("auto", "minmax", "percentile", "mse")
ACTIVATIONS = ("int8", "int16")
PROJECTS = ("plain", "cmake", "arduino", "platformio", "zephyr", "esp-idf")
_NAME_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
# --name also names the files model/<name>.c / .h, a folder on the include path: a name may not hide a
# header the C includes with <...> (the C standard library's, arm_acle) nor a runtime file (tg_*).
_HEADER_NAMES = frozenset(
    "assert complex ctype errno fenv float inttypes iso646 limits locale math setjmp signal stdalign stdarg "
    "stdatomic stdbool stddef stdint stdio stdlib stdnoreturn string tgmath threads time uchar wchar wctype "
    "arm_acle".split())
# How the library names an option in a message; `weights="auto"` is the mixed-precision mode.
LIBRARY_NAMES = {"mixed": "weights='auto'"}


def literal(value) -> str:
    """A user's value inside a message template: braces doubled so `.format` leaves them alone."""
    return str(value).replace("{", "{{").replace("}", "}}")


class OptionError(TinygenError):
    """A build option is invalid, or does not apply to this model. The message names options as
    `{name}` fields; `str()` renders them as the library's keyword names."""

    def __init__(self, template: str, **values):
        self.template = template
        self.values = values
        super().__init__(self.render())

    def render(self, names: Optional[Mapping[str, str]] = None) -> str:
        """The message with each `{option}` written as `names[option]` (default: the keyword name)."""
        fields = set(re.findall(r"\{(\w+)\}", self.template))
        table = {f: (names or {}).get(f) or LIBRARY_NAMES.get(f, f) for f in fields}
        return self.template.format(**table)


@dataclass(frozen=True)
class CompileOptions:
    """What to build and how. Field names are the keyword arguments of `tinygen.compile`."""

    board: str = "cortex-m4"  # a board name (`tinygen boards`)
    name: str = "model"  # C prefix of the generated API
    calibration: Any = None  # float samples (N, *input shape) for PTQ of a float model
    estimator: str = "auto"  # activation range estimator for PTQ
    weights: Union[str, dict] = "int8"  # a scheme, a {layer or op kind: scheme} table, or "auto"
    activations: str = "int8"  # activation width for float models
    budget_flash: Optional[int] = None  # bytes of constant data allowed (with weights="auto")
    budget_ram: Optional[int] = None  # arena bytes allowed
    io_in_arena: bool = False  # the model's inputs and outputs live in the arena, planned with the other tensors
    patch_limit: float = 0.10  # estimated extra instructions banded layers may add to fit budget_ram (a fraction)
    check_fit: bool = True  # refuse a model that does not fit the board's RAM and flash
    firmware: bool = True  # write firmware/ and the Makefile besides model/
    measure_stack: bool = True  # slow: worst-case stack depth from arm-none-eabi-gcc -fstack-usage
    compare_tflm_arena: bool = True  # slow: TFLM's arena for a .tflite source, in the report
    input_shape: Any = None  # ONNX: {input name or '*': shape} for dynamic dimensions (a dynamic batch is 1)
    io_layout: str = "nhwc"  # ONNX: "onnx" keeps the model's (N, C, H, W) inputs / outputs at the C API
    project: str = "plain"  # the package around the C: plain (Makefile firmware) or one of PROJECTS
    labels: Any = None  # class labels of output 0: a text file (one per line) or a list of strings
    extend: str = "auto"  # pre-extended int16 weights: auto (under extend_budget), all, none (lower/extend_budget.py)
    extend_budget: Optional[int] = None  # flash bytes (constants + kernels) for extend="auto"; default: TFLM's estimate

    @classmethod
    def make(cls, options: Optional["CompileOptions"] = None, **kwargs) -> "CompileOptions":
        """Options from an object and/or keyword arguments (keywords win), validated."""
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(kwargs) - known)
        if unknown:
            raise TinygenError(f"unknown build option(s) {', '.join(unknown)}; known: {', '.join(sorted(known))}")
        base = options if options is not None else cls()
        return dataclasses.replace(base, **kwargs).validated()

    @property
    def mixed(self) -> bool:
        return isinstance(self.weights, str) and self.weights == "auto"

    @property
    def float_only(self) -> bool:
        """Does any option apply only to float models (quantized by tinygen)?"""
        return (self.mixed or self.activations != "int8" or self.budget_flash is not None
                or self.calibration is not None)

    def validated(self) -> "CompileOptions":
        """Every check that needs no model; raises OptionError naming the option."""
        if not isinstance(self.name, str) or not _NAME_RE.match(self.name):
            raise OptionError(f"{{name}} '{literal(self.name)}' is not a C identifier")
        if self.name.lower().startswith("tg_"):
            raise OptionError(f"{{name}} '{self.name}': the prefix tg_ belongs to the runtime's files and "
                              "symbols; choose another name")
        if self.name.lower() in _HEADER_NAMES:
            raise OptionError(f"{{name}} '{self.name}': its header {self.name}.h would hide the C library's "
                              f"<{self.name.lower()}.h>; choose another name")
        if not isinstance(self.board, str) or not self.board:
            raise OptionError("{board} must be a board name (see `tinygen boards`)")
        if self.estimator not in ESTIMATORS:
            raise OptionError(f"{{estimator}} '{literal(self.estimator)}': use one of {', '.join(ESTIMATORS)}")
        if self.activations not in ACTIVATIONS:
            raise OptionError(f"{{activations}} '{literal(self.activations)}': use int8 or int16")
        if self.io_layout not in ("nhwc", "onnx"):
            raise OptionError(f"{{io_layout}} '{literal(self.io_layout)}': use nhwc or onnx")
        if self.project not in PROJECTS:
            raise OptionError(f"{{project}} '{literal(self.project)}': use one of {', '.join(PROJECTS)}")
        if self.labels is not None and not isinstance(self.labels, (str, os.PathLike, list, tuple)):
            raise OptionError("{labels} must be a labels file (one per line) or a list of strings")
        if isinstance(self.patch_limit, bool) or not isinstance(self.patch_limit, (int, float)) \
                or not 0 <= self.patch_limit <= 10:
            raise OptionError(f"{{patch_limit}} {literal(repr(self.patch_limit))}: must be a fraction of the "
                              "model's instructions between 0 and 10 (0.1: at most +10%)")
        if self.extend not in ("auto", "all", "none"):
            raise OptionError(f"{{extend}} '{literal(self.extend)}': use auto, all or none")
        if self.extend_budget is not None and self.extend != "auto":
            raise OptionError("{extend_budget} applies with {extend} auto")
        if not isinstance(self.io_in_arena, bool):
            raise OptionError("{io_in_arena} must be True or False")
        if not isinstance(self.weights, (str, dict)):
            raise OptionError(f"{{weights}} must be a scheme name or a {{{{layer: scheme}}}} table, "
                              f"not {type(self.weights).__name__}")
        for field in ("budget_flash", "budget_ram", "extend_budget"):
            value = getattr(self, field)
            if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value <= 0):
                raise OptionError(f"{{{field}}} {literal(repr(value))}: must be a positive number of bytes")
        if self.mixed:
            if self.budget_flash is None:
                raise OptionError("{mixed} needs {budget_flash} BYTES")
            if self.calibration is None:
                raise OptionError("{mixed} needs calibration data ({calibration}) to measure each layer's error")
        elif self.budget_flash is not None:
            raise OptionError("{budget_flash} applies with {mixed}")
        return self
