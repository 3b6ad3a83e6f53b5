"""memory.png: the arena plan drawn as a timeline (x = layer index, y = arena offset).

Kept apart from report.py (which builds the report dict and its markdown) so the figure can change
without touching the report text. Each buffer is a numbered rectangle; the legend beside the plot gives
every number's tensor name (wrapped, never cut; a TFLite name that joins several with ';' by its
first), its bytes and its layers. The x axis ticks are whole layer indices. The arena size is a solid
line and the live-set lower bound a dashed line of another colour drawn over it, so both stay visible
when they are equal; they head the legend, off the rectangles.
"""
from __future__ import annotations

import textwrap
from pathlib import Path

LEGEND_ROWS = 40  # buffers listed by name; the smallest beyond that are counted, not named
_WRAP = 48  # characters per legend line


def _name(b) -> str:
    """The buffer's tensor name; a TFLite name that joins several with ';' is given by its first."""
    name = str(b.tensors[0] if getattr(b, "tensors", None) else b.name)
    parts = name.split(";")
    return parts[0] + (f" (+{len(parts) - 1} more ';' names)" if len(parts) > 1 else "")


def _label(k: int, b) -> str:
    kind = "scratch" if b.is_scratch else ("in place" if b.tie is not None else "")
    span = f"layer {b.first}" if b.first == b.last else f"layers {b.first}-{b.last}"
    text = f"#{k} {_name(b)} ({b.size:,} B, {span}{', ' + kind if kind else ''})"
    return textwrap.fill(text, _WRAP, subsequent_indent="    ", break_long_words=True, break_on_hyphens=False)


def figure(plan, title: str = ""):
    """The matplotlib Figure of `plan` (not saved)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    from matplotlib.lines import Line2D
    from matplotlib.patches import Rectangle
    from matplotlib.ticker import FuncFormatter, MaxNLocator

    fig = Figure(figsize=(12, 6), dpi=100)
    FigureCanvasAgg(fig)
    ax = fig.add_subplot(1, 1, 1)
    steps = max((b.last for b in plan.buffers), default=0) + 1
    palette = ["#4C72B0", "#55A868", "#C44E52", "#8172B2", "#CCB974", "#64B5CD", "#DD8452", "#937860"]
    buffers = sorted(plan.buffers, key=lambda b: (b.first, b.offset))
    handles, labels = [], []
    listed = set(sorted(range(len(buffers)), key=lambda k: -buffers[k].size)[:LEGEND_ROWS])
    for k, b in enumerate(buffers):
        color = "#BBBBBB" if b.is_scratch else palette[k % len(palette)]
        patch = Rectangle((b.first - 0.45, b.offset), b.last - b.first + 0.9, b.size, facecolor=color,
                          edgecolor="black", linewidth=0.5, alpha=0.85, hatch="//" if b.tie is not None else None)
        ax.add_patch(patch)
        if b.size >= plan.arena_bytes * 0.05:
            ax.text(b.first + (b.last - b.first) / 2, b.offset + b.size / 2, f"#{k}", fontsize=7,
                    ha="center", va="center", zorder=5,
                    bbox=dict(boxstyle="round,pad=0.15", facecolor="white", alpha=0.8, linewidth=0))
        if k in listed:
            handles.append(patch)
            labels.append(_label(k, b))
    if len(buffers) > len(listed):
        handles.append(Rectangle((0, 0), 0, 0, visible=False))
        labels.append(f"({len(buffers) - len(listed)} smaller buffers not listed)")
    ax.axhline(plan.arena_bytes, color="#D62728", linewidth=2.2, linestyle="-", zorder=3)
    ax.axhline(plan.lower_bound, color="#1F77B4", linewidth=1.4, linestyle=(0, (5, 3)), zorder=4)
    lines = [Line2D([], [], color="#D62728", linewidth=2.2, linestyle="-"),
             Line2D([], [], color="#1F77B4", linewidth=1.4, linestyle=(0, (5, 3)))]
    line_labels = [f"arena: {plan.arena_bytes:,} B",
                   f"live-set lower bound: {plan.lower_bound:,} B"
                   + (" (equal: the plan is minimal)" if plan.lower_bound == plan.arena_bytes else "")]
    ax.set_xlim(-0.7, steps - 0.3)
    ax.set_ylim(0, max(plan.arena_bytes, 16) * 1.08)
    ax.xaxis.set_major_locator(MaxNLocator(integer=True, steps=[1, 2, 5, 10]))
    ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{int(v):,}"))
    ax.set_xlabel("layer index (operator order)")
    ax.set_ylabel("arena offset (bytes)")
    ax.set_title(title or f"Arena plan: {plan.arena_bytes:,} B over {steps} layers "
                          "(hatched: written in place, grey: kernel scratch)", fontsize=10)
    ax.legend(lines + handles, line_labels + labels, loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=7,
              frameon=False)
    return fig


def draw_timeline(plan, path: Path, title: str = "") -> None:
    """Write the timeline of `plan` as a PNG; the canvas grows to fit the legend (nothing is cut)."""
    fig = figure(plan, title)
    fig.savefig(str(path), bbox_inches="tight", metadata={"Software": None})
