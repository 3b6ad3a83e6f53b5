"""memory.png: the arena plan drawn as a timeline (x = layer index, y = arena offset).

Kept apart from report.py (which builds the report dict and its markdown) so the figure can change
without touching the report text.
"""
from __future__ import annotations

from pathlib import Path


def draw_timeline(plan, path: Path, title: str = "") -> None:
    """Tensors (and scratch) as rectangles: x = layer index, y = arena address."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    from matplotlib.patches import Rectangle

    fig = Figure(figsize=(10, 5), dpi=100)
    FigureCanvasAgg(fig)
    ax = fig.add_subplot(1, 1, 1)
    steps = max((b.last for b in plan.buffers), default=0) + 1
    palette = ["#4C72B0", "#55A868", "#C44E52", "#8172B2", "#CCB974", "#64B5CD", "#DD8452", "#937860"]
    for k, b in enumerate(sorted(plan.buffers, key=lambda b: (b.first, b.offset))):
        scratch = b.is_scratch
        color = "#999999" if scratch else palette[k % len(palette)]
        ax.add_patch(Rectangle((b.first - 0.45, b.offset), b.last - b.first + 0.9, b.size,
                               facecolor=color, edgecolor="black", linewidth=0.5, alpha=0.8,
                               hatch="//" if b.tie is not None else None))
        if b.size >= plan.arena_bytes * 0.08:
            ax.text(b.first - 0.4, b.offset + b.size / 2, (b.tensors[0] if b.tensors else b.name)[:18],
                    fontsize=6, va="center")
    ax.axhline(plan.arena_bytes, color="red", linewidth=1, linestyle="--")
    ax.axhline(plan.lower_bound, color="orange", linewidth=0.8, linestyle=":")
    ax.set_xlim(-0.7, steps - 0.3)
    ax.set_ylim(0, max(plan.arena_bytes, 16) * 1.05)
    ax.set_xlabel("layer index")
    ax.set_ylabel("arena offset (bytes)")
    ax.set_title(title or f"arena {plan.arena_bytes} B (dashed), lower bound {plan.lower_bound} B (dotted);"
                          " hatched: in place, grey: scratch", fontsize=9)
    fig.tight_layout()
    fig.savefig(str(path))
