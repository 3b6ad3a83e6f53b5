"""The build report: report.md (per-layer table, totals against the board) and a memory-timeline PNG
(drawn by tinygen.codegen.memory_plot).

`write_report` first completes the report dict (live arena bytes per layer, board totals, TFLM's arena
when the source is a .tflite and tflite-micro is installed), then writes report.json, report.md and
memory.png from that one dict, so every number in report.md is the number in report.json.
"""
from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Optional

from tinygen.codegen.memory_plot import draw_timeline
from tinygen.memory import plan as planner
from tinygen.verify.tflm import capture_fd_output, tflm_interpreter

PNG_NAME = "memory.png"


# ---- TFLM's arena for the same model ---------------------------------------------------------------


def tflm_arena(model_path) -> Optional[dict]:
    """{"total", "head", "tail"} bytes of TFLM's arena for a .tflite (RecordingMicroAllocator), or None."""
    path = Path(str(model_path))
    if path.suffix.lower() != ".tflite" or not path.is_file():
        return None
    try:
        from tflite_micro.python.tflite_micro import runtime
    except Exception:  # tflite-micro is optional
        return None
    interp = tflm_interpreter(runtime, path.read_bytes())
    if interp is None:  # TFLM cannot run this model: no comparison
        return None
    try:
        text = capture_fd_output(interp.print_allocations)
    except Exception:
        return None
    out = {}
    for part in ("total", "head", "tail"):
        m = re.search(rf"Arena allocation {part} (\d+) bytes", text)
        if m is None:
            return None
        out[part] = int(m.group(1))
    return out


# ---- completing the report dict ---------------------------------------------------------------


def _board_info(board) -> Optional[dict]:
    if board is None:
        return None
    return dict(name=board.name, ram_bytes=int(board.ram_size), flash_bytes=int(board.flash_size))


def complete(report: dict, plan, graph, board=None, tflm: Optional[dict] = None) -> dict:
    """Add live arena bytes per layer, in-place flags, the memory summary and TFLM's arena (in place)."""
    live = list(plan.live) if getattr(plan, "live", None) else planner.live_profile(plan.buffers)
    inplace = set(getattr(plan, "inplace", []) or [])
    for layer in report["layers"]:
        i = layer["index"]
        layer["live_arena_bytes"] = int(live[i]) if i < len(live) else 0
        layer["scratch_arena_offset"] = int(plan.scratch[i]) if i in plan.scratch else None
        layer["in_place"] = i in inplace
    mem = dict(arena_bytes=int(plan.arena_bytes), persistent_bytes=int(getattr(plan, "state_bytes", 0)),
               live_set_lower_bound=int(plan.lower_bound),
               planner=plan.strategy, proven_optimal=bool(getattr(plan, "exact", False)),
               scratch_bytes=int(sum(b.size for b in plan.buffers if b.is_scratch)),
               in_place_layers=sorted(inplace),
               input_bytes=int(sum(graph.tensors[t].nbytes for t in graph.inputs)),
               output_bytes=int(sum(graph.tensors[t].nbytes for t in graph.outputs)),
               weights_bytes=int(report.get("weights_bytes", 0)))
    info = _board_info(board)
    if info is not None:
        mem["board"] = info
        ram = plan.arena_bytes + mem["persistent_bytes"]
        mem["ram_used_pct"] = round(100.0 * ram / info["ram_bytes"], 2) if info["ram_bytes"] else None
        mem["flash_used_pct"] = (round(100.0 * mem["weights_bytes"] / info["flash_bytes"], 2)
                                 if info["flash_bytes"] else None)
    if tflm is None:
        tflm = tflm_arena(report.get("source") or getattr(graph, "source", ""))
    if tflm:  # {} when the comparison was not asked for
        mem["tflm"] = dict(tflm)
        mem["ratio_to_tflm_head"] = round(plan.arena_bytes / tflm["head"], 4) if tflm["head"] else None
    report["memory"] = mem
    return report


# ---- rendering ---------------------------------------------------------------------------------


def _shape(s) -> str:
    return "x".join(str(d) for d in s) if s else "scalar"


def _shapes(lst) -> str:
    return ", ".join(_shape(s) for s in lst) or "-"


def _n(v) -> str:
    return f"{int(v):,}"


def _weights_section(report: dict) -> list:
    """Per-layer weight schemes, when any layer is not plain int8; with --mixed auto, how they were chosen."""
    schemes = report.get("weight_schemes") or {}
    mixed = report.get("mixed")
    if not mixed and all(s == "int8" for s in schemes.values()):
        return []
    lines = ["", "## Weight schemes", ""]
    if mixed:
        lines.append(f"Chosen by `--mixed auto` for a flash budget of {_n(mixed['budget_flash'])} B of constants "
                     f"(predicted {_n(mixed['predicted_bytes'])} B, built {_n(report.get('weights_bytes', 0))} B). "
                     "Error: mean squared output difference from the float model on the calibration data "
                     "with only that layer quantized.")
        if "int8_arena_bytes" in mixed:  # low-bit kernels may need arena scratch to unpack weights
            ram = report["memory"]["arena_bytes"] - mixed["int8_arena_bytes"]
            lines.append(f"Against uniform int8: constants {_n(mixed['int8_bytes'])} B, arena "
                         f"{_n(mixed['int8_arena_bytes'])} B ({ram:+,} B with these schemes"
                         + (f"; --budget-ram {_n(mixed['budget_ram'])} B was part of the choice)."
                            if mixed.get("budget_ram") else ")."))
        lines += ["", "| layer | scheme | flash bytes | error | error at int8 |", "|---|---|---:|---:|---:|"]
        for name, row in mixed["layers"].items():
            lines.append(f"| {name} | {row['scheme']} | {_n(row['bytes'])} | {row['error']:.3g} | "
                         f"{row['int8_error']:.3g} |")
        if "measured" in mixed:
            m = mixed["measured"]
            lines += ["", f"Whole model on the calibration data: mean squared output error {m['mse']:.4g}"
                          f" (uniform int8 {m['int8_mse']:.4g})."]
    else:
        lines += ["| layer | scheme |", "|---|---|"]
        for name, s in schemes.items():
            lines.append(f"| {name} | {s} |")
    from tinygen.lower.extend_budget import report_lines
    return lines + report_lines(report.get("extend") or {})


def _state_section(report: dict) -> list:
    """The variables of a stateful model: where they sit in the persistent state region."""
    variables = report.get("variables") or []
    if not variables:
        return []
    lines = ["", "## Persistent state", "",
             f"{_n(report['memory']['persistent_bytes'])} B outside the arena, at fixed offsets: each invoke "
             f"continues from the state the previous one left; `{report.get('name', 'model')}_reset()` restores "
             "the initial values (the first invoke sets them itself).", "",
             "| variable | offset | bytes |", "|---|---:|---:|"]
    for v in variables:
        lines.append(f"| {str(v['name']).replace('|', chr(92) + '|')} | {_n(v['offset'])} | {_n(v['bytes'])} |")
    return lines


def render_markdown(report: dict, png_name: Optional[str] = PNG_NAME) -> str:
    mem = report["memory"]
    lines = [f"# tinygen report: {report.get('name', 'model')}", ""]
    lines.append(f"Model `{report.get('model', '')}` from `{report.get('source', '')}`"
                 + (f", board `{mem['board']['name']}`." if "board" in mem else "."))
    lines += ["", "## Totals", "", "| quantity | bytes | of board | share |", "|---|---:|---:|---:|"]
    board = mem.get("board")
    ram = f"{_n(board['ram_bytes'])} RAM" if board else "-"
    flash = f"{_n(board['flash_bytes'])} flash" if board else "-"
    ram_pct = f"{mem['ram_used_pct']:.2f} %" if board and mem.get("ram_used_pct") is not None else "-"
    flash_pct = f"{mem['flash_used_pct']:.2f} %" if board and mem.get("flash_used_pct") is not None else "-"
    lines.append(f"| arena (activations + scratch) | {_n(mem['arena_bytes'])} | {ram} | {ram_pct} |")
    if mem.get("persistent_bytes"):
        lines.append(f"| persistent state (variables, kept across invokes) | {_n(mem['persistent_bytes'])} | | |")
    lines.append(f"| weights and constants | {_n(mem['weights_bytes'])} | {flash} | {flash_pct} |")
    lines.append(f"| model input buffers (caller's) | {_n(mem['input_bytes'])} | | |")
    lines.append(f"| model output buffers (caller's) | {_n(mem['output_bytes'])} | | |")
    lines += ["", f"Arena planner: {mem['planner']}; live-set lower bound {_n(mem['live_set_lower_bound'])} B"
              + (" (the plan is proven minimal for this operator order)." if mem["proven_optimal"] else ".")
              + f" Kernel scratch in the arena: {_n(mem['scratch_bytes'])} B."
              + f" MACs: {_n(report.get('macs', 0))}."]
    if mem["in_place_layers"]:
        lines.append(f"Layers run in place (output written over input): "
                     f"{', '.join(str(i) for i in mem['in_place_layers'])}.")
    if "tflm" in mem:
        t = mem["tflm"]
        lines += ["", "## Against TFLM", "",
                  "| | tinygen | TFLM head (tensors + scratch) | TFLM tail (persistent) | TFLM total |",
                  "|---|---:|---:|---:|---:|",
                  f"| arena bytes | {_n(mem['arena_bytes'])} | {_n(t['head'])} | {_n(t['tail'])} | {_n(t['total'])} |",
                  "", f"tinygen / TFLM head: {mem['ratio_to_tflm_head']:.4f}. TFLM's head also holds the"
                      " model's input and output tensors, which tinygen leaves in the caller's buffers."]
    lines += ["", "## Layers", "",
              "| # | layer | op | kernel | inputs | output | MACs | weight bytes | live arena bytes | scratch |",
              "|---:|---|---|---|---|---|---:|---:|---:|---:|"]
    for L in report["layers"]:
        name = str(L["name"]).replace("|", "\\|")
        kernel = L["kernel"] + (" (in place)" if L.get("in_place") else "")
        lines.append(f"| {L['index']} | {name} | {L['op']} | {kernel} | {_shapes(L['inputs'])} | "
                     f"{_shapes(L['outputs'])} | {_n(L['macs'])} | {_n(L['weight_bytes'])} | "
                     f"{_n(L['live_arena_bytes'])} | {_n(L['scratch_bytes'])} |")
    lines += _weights_section(report)
    lines += _state_section(report)
    from tinygen.codegen.report_sections import estimate_section, validation_section
    lines += estimate_section(report) + validation_section(report)
    if png_name:
        lines += ["", "## Memory timeline", "", f"![arena over time]({png_name})", "",
                  "Each rectangle is one arena buffer: x spans the layers it lives through, y its bytes."]
    return "\n".join(lines) + "\n"


def write_report(out_dir, report: dict, plan, graph, board=None, compare_tflm: bool = True) -> dict:
    """Complete `report`, then write report.json, report.md and memory.png into out_dir; returns report.

    compare_tflm: run TFLM on a .tflite source to put its arena beside tinygen's (a slow stage)."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    if isinstance(board, str):
        from tinygen.target.boards import load_board
        board = load_board(board)
    complete(report, plan, graph, board, tflm=None if compare_tflm else {})
    if board is not None:  # estimated cycles, ms, uJ and flash image (codegen/estimate.py)
        from tinygen.codegen.estimate import annotate
        annotate(report, board, [p.name for p in (out_dir / "model").glob("*.c")])
    png = None
    try:
        draw_timeline(plan, out_dir / PNG_NAME)
        png = PNG_NAME
    except ImportError:  # matplotlib missing: the report stays text only
        png = None
    (out_dir / "report.json").write_text(json.dumps(report, indent=2, sort_keys=True) + "\n")
    (out_dir / "report.md").write_text(render_markdown(report, png))
    return report
