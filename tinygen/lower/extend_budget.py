"""Per-layer choice of pre-extended weights under a flash budget.

The fast conv / FC / depthwise kernels (fast.py) read weights stored pre-extended to int16 (twice their
int8 bytes) when each weight is used more than once per inference. That saves instructions but costs
flash. `choose` keeps pre-extension only where it pays most, under a budget for the model's flash
(constants + kernel code), and stores the other layers' weights one byte per weight ("int8c": the same
int8 values, lowered to the byte-weight kernels).

Modes (`extend` build option): "all" pre-extends wherever the kernels would (no budget), "none" never
does, "auto" (the default) chooses under `budget` bytes, by default the flash TFLM + CMSIS-NN would take
for the same model: the model TFLM embeds (the .tflite file; for other sources its constants and their
quantization parameters) plus a runtime size from RUNTIME_BYTES.

Cost model (an estimate, stated in the report): a layer left as bytes costs BYTE_PENALTY instructions
per MAC more than pre-extended: the GEMM kernels (conv, FC) sign-extend each word of 4 weights (one load
and two SXTB16 in place of two loads, and no extended column: 0.64 instructions per MAC, measured under
QEMU on the 1x1 layers vww and person_detect leave as bytes, 2026-12-05), a depthwise layer falls back to
the portable kernel (~20 instructions per MAC more: person_detect all int8c against depthwise kept int16). The greedy
choice takes layers in order of instructions saved per extra byte (MACs x penalty / extra bytes) while
the estimated flash stays within the budget.
"""
from __future__ import annotations

import os

from dataclasses import dataclass
from typing import Optional

from tinygen.errors import UnsupportedError
from tinygen.ir import Graph, OpKind
from tinygen.lower.base import lower_op

MODES = ("auto", "all", "none")
KINDS = (OpKind.CONV_2D, OpKind.DEPTHWISE_CONV_2D, OpKind.FULLY_CONNECTED)

# TFLM runtime + kernels and the CMSIS-NN library, bytes of flash, from the linker-map breakdown of
# ../shared/baselines/tflm_cmsisnn_cortex_m4.md ("Memory / footprint", variant cmsis_nn), per set of
# operators the measured model uses (RESHAPE left out: tinygen folds it into a view). A model gets the
# largest figure whose operators are all among its own (TFLM links a kernel per registered operator, so
# more operators take at least as much); with none, the smallest measured runtime (FC only).
_K = {"conv": OpKind.CONV_2D, "dw": OpKind.DEPTHWISE_CONV_2D, "fc": OpKind.FULLY_CONNECTED,
      "avg": OpKind.AVERAGE_POOL_2D, "soft": OpKind.SOFTMAX, "add": OpKind.ADD}
RUNTIME_BYTES = (
    ("avg conv dw fc soft", 45_451 + 50_944),  # kws, vww
    ("add avg conv fc soft", 49_532 + 41_396),  # ic
    ("conv dw fc soft", 43_273 + 49_732),  # sww
    ("avg conv dw soft", 40_186 + 40_100),  # person_detect
    ("dw fc soft", 38_401 + 29_856),  # micro_speech
    ("fc", 27_670 + 13_296),  # ad, hello_world
)
MIN_RUNTIME_BYTES = 27_670 + 13_296
BYTE_PENALTY = {"gemm": 0.64, "portable": 20.0}  # extra instructions per MAC with byte weights (see above)
# tinygen's kernel code: the runtime files' sizes (target/costs.json code_bytes) + a call per layer, plus
# a margin for files without a size there (measured model + runtime minus constants: 16-20 KB on the
# MLPerf Tiny models, 2026-12-05)
CODE_MARGIN = 8 * 1024
FALLBACK_CODE = 32 * 1024  # a core without a cost table


@dataclass
class Candidate:
    layer: str
    tensor: str
    extra_bytes: int  # flash the pre-extended layout adds
    macs: int
    penalty: float  # instructions per MAC the byte layout adds

    @property
    def cost(self) -> int:
        return int(round(self.macs * self.penalty))


def runtime_bytes(graph: Graph) -> int:
    kinds = {op.kind for op in graph.ops}
    fits = [b for names, b in RUNTIME_BYTES if {_K[n] for n in names.split()} <= kinds]
    return max(fits, default=MIN_RUNTIME_BYTES)


def model_bytes(graph: Graph) -> int:
    """What TFLM embeds for the model: the .tflite file itself for a .tflite source, else the constants
    plus their quantization parameters (a float32 scale and an int64 zero point per channel)."""
    src = str(graph.source or "")
    if src.lower().endswith(".tflite") and os.path.isfile(src):
        return os.path.getsize(src)
    consts = [t for t in graph.tensors.values() if t.is_const]
    return int(sum(t.nbytes + (12 * len(t.quant.scale) if t.quant else 0) for t in consts))


def default_budget(graph: Graph) -> int:
    """Estimated TFLM + CMSIS-NN flash for this model: the model (model_bytes) + RUNTIME_BYTES."""
    return int(model_bytes(graph) + runtime_bytes(graph))


def _lower_as(graph: Graph, op, tensor: str, encoding):
    t = graph.tensors[tensor]
    saved, t.encoding = t.encoding, encoding
    try:
        return lower_op(op, graph)
    finally:
        t.encoding = saved


def _code_bytes(lowered, table) -> int:
    if table is None:
        return FALLBACK_CODE
    files = {f for lop in lowered for f in lop.c_sources}
    return sum(int(table["code_bytes"].get(f, 0)) for f in files) + int(table["image"]["per_layer"]) \
        * len(lowered) + CODE_MARGIN


def candidates(graph: Graph):
    """(candidates, lowered ops with byte weights where a candidate): layers whose weights the kernels
    would pre-extend, with the flash that costs and the instructions it saves."""
    found, lowered, seen = [], [], set()
    for op in graph.ops:
        w = graph.tensors[op.inputs[1]] if op.kind in KINDS and len(op.inputs) > 1 else None
        if w is None or not w.is_const or w.dtype != "int8" or w.encoding is not None or w.name in seen:
            lowered.append(lower_op(op, graph))
            continue
        wide = lower_op(op, graph)
        try:
            byte = _lower_as(graph, op, w.name, "int8c")
        except UnsupportedError:  # no kernel takes byte weights for this layer: it stays as it is
            byte = wide
        extra = wide.weight_bytes - byte.weight_bytes
        if extra <= 0:
            lowered.append(wide)
            continue
        seen.add(w.name)
        fast = "_fast" in (byte.c_function or "")
        found.append(Candidate(op.name, w.name, int(extra), int(wide.macs),
                               BYTE_PENALTY["gemm" if fast else "portable"]))
        lowered.append(byte)
    return found, lowered


def choose(graph: Graph, mode: str = "auto", budget: Optional[int] = None, board=None):
    """(graph, summary): a copy of `graph` with the weights left unextended marked "int8c", and what was
    chosen (for the report). `board` gives the kernel code sizes (codegen/estimate.py's cost table)."""
    if mode == "all" or (mode == "auto" and not any(op.kind in KINDS for op in graph.ops)):
        return graph, {"mode": mode}
    from tinygen.codegen.estimate import core_table

    found, lowered = candidates(graph)
    if budget is None:
        budget = default_budget(graph)
    table = core_table(board.core) if board is not None else None
    flash = sum(lop.weight_bytes for lop in lowered) + _code_bytes(lowered, table)
    keep = set()
    if mode == "auto":
        for c in sorted(found, key=lambda c: (-c.macs * c.penalty / c.extra_bytes, c.layer)):
            if flash + c.extra_bytes <= budget:
                keep.add(c.layer)
                flash += c.extra_bytes
    left = [c for c in found if c.layer not in keep]
    if left:
        graph = graph.copy()
        for c in left:
            graph.tensors[c.tensor].encoding = "int8c"
    summary = {"mode": mode, "budget_bytes": int(budget) if mode == "auto" else None,
               "estimated_flash_bytes": int(flash),
               "extended": [c.layer for c in found if c.layer in keep],
               "unextended": [{"layer": c.layer, "flash_saved_bytes": c.extra_bytes,
                               "est_extra_instructions": c.cost} for c in left],
               "est_extra_instructions": int(sum(c.cost for c in left))}
    return graph, summary


def report_lines(summary: dict) -> list:
    """report.md lines on the layers left unextended (none when every candidate kept its int16 weights)."""
    left = summary.get("unextended") or []
    if not left:
        return []
    how = (f"under a flash budget of {summary['budget_bytes']:,} B (estimated {summary['estimated_flash_bytes']:,} B "
           "of constants and kernels)" if summary.get("budget_bytes") else "(`--extend none`)")
    lines = ["", f"Weights stored one byte per weight (int8c) instead of pre-extended to int16 {how}; "
             f"estimated cost {summary['est_extra_instructions']:,} instructions per inference "
             "(tinygen/lower/extend_budget.py):", "",
             "| layer | flash saved (B) | est. extra instructions |", "|---|---:|---:|"]
    return lines + [f"| {r['layer']} | {r['flash_saved_bytes']:,} | {r['est_extra_instructions']:,} |" for r in left]
