"""Per-layer proof that integer accumulators cannot overflow, from the weights and the input range.

For a weighted layer the C kernel computes acc = bias + sum_k w_k * (x_k - zp) in int32 (int64 for int16
activations, as TFLM does). Over x in [lo, hi], every partial sum, in any order and for any subset of the
window (padding contributes 0), satisfies |acc| <= |bias| + sum_k max(|w_k (lo - zp)|, |w_k (hi - zp)|).
That bound, maximised over output channels, is compared with the accumulator's limit: INT32_MAX, or for
int64 accumulators 2^47 - 1, not INT64_MAX, because TFLM's int64 requantize assumes |acc| < 2^47 and
tinygen's C multiplies acc by a Q0.15 multiplier in int64 (tg_requant_s16.h), which overflows from about
2^48. Pools and MEAN sum raw values in int32 (int8 and int16 alike): count * max(|lo|, |hi|).
Each op kind's rule is its spec's `bounds` (tinygen/ops); this module collects and judges the reports.
`stack_usage` bounds the generated code's stack from GCC's call graph.
"""
from __future__ import annotations

import math
import re
import subprocess
import tempfile
from pathlib import Path
from typing import Optional

from tinygen.errors import UnsupportedError
from tinygen.ir import Graph
from tinygen.ops.common import INT64_ACC_LIMIT
from tinygen.ops.spec import applies, spec_for


def accumulator_bounds(graph: Graph, input_range: Optional[dict] = None, layers: Optional[list] = None) -> dict:
    """{layer name: {op, max_abs_acc, limit, safe, headroom_bits, acc_len, input_range, worst_channel}}.

    `input_range` maps tensor names to (lo, hi) quantized values (default: the dtype's full range);
    `layers` restricts the report to those layer names.
    """
    report = {}
    for op in graph.ops:
        if layers is not None and op.name not in layers:
            continue
        spec = spec_for(op.kind)
        r = spec.bounds(graph, op, input_range) if spec is not None and applies(spec.bounds) else None
        if r is None:
            continue
        r["op"] = op.kind.value
        r["safe"] = r["max_abs_acc"] <= r["limit"]
        r["headroom_bits"] = round(math.log2(r["limit"] + 1) - math.log2(max(r["max_abs_acc"], 1)), 2)  # big ints
        report[op.name] = r
    return report


def _consequence(limit: int) -> str:
    if limit == INT64_ACC_LIMIT:
        return "the int64 requantize (TFLM's and the C's) is only exact for |acc| < 2^47"
    return "the C result would wrap"


def check(graph: Graph, input_range: Optional[dict] = None, layers: Optional[list] = None) -> dict:
    """The report of `accumulator_bounds`; raises UnsupportedError naming the first layer that can overflow."""
    report = accumulator_bounds(graph, input_range, layers)
    for name, r in report.items():
        if not r["safe"]:
            raise UnsupportedError(
                f"layer '{name}' ({r['op']}): the accumulator can reach {r['max_abs_acc']} over inputs "
                f"{r['input_range']} (output channel {r['worst_channel']}, {r['acc_len']} terms), above its "
                f"limit {r['limit']}: {_consequence(r['limit'])}")
    return report


# ---- worst-case stack of the generated code ------------------------------------------------------------

_NODE = re.compile(r'node: \{ title: "([^"]+)" label: "[^"]*?\\n(\d+) bytes \((\w+)\)')
_EDGE = re.compile(r'edge: \{ sourcename: "([^"]+)" targetname: "([^"]+)"')


def stack_usage(model_dir, entry: str = "model_invoke_io", cc: str = "arm-none-eabi-gcc",
                cflags: tuple = ("-mcpu=cortex-m4", "-mthumb", "-O2")) -> dict:
    """Worst-case stack bytes of `entry` from GCC's -fstack-usage / -fcallgraph-info=su (GCC >= 10).

    Returns {worst_bytes, path, per_function, unknown (callees without stack info, e.g. libc),
    bounded (False if a frame is dynamic or the call graph recurses)}; raises BuildError if `cc` fails.
    """
    from tinygen.errors import BuildError

    model_dir = Path(model_dir)
    frames, calls, bounded = {}, {}, True
    with tempfile.TemporaryDirectory(prefix="tg_su_") as tmp:
        for src in sorted(model_dir.glob("*.c")):
            obj = Path(tmp) / (src.stem + ".o")
            cmd = [cc, "-std=c99", *cflags, "-fstack-usage", "-fcallgraph-info=su", "-I", str(model_dir),
                   "-c", str(src), "-o", str(obj)]
            try:
                p = subprocess.run(cmd, capture_output=True, text=True, cwd=tmp)
            except OSError as exc:
                raise BuildError(f"{cc}: cannot run ({exc})") from None
            if p.returncode != 0:
                raise BuildError(f"{cc} failed on {src.name}: {p.stderr.strip()[-500:]}")
            text = (Path(tmp) / (src.stem + ".ci")).read_text()
            for name, nbytes, kind in _NODE.findall(text):
                frames[name] = int(nbytes)
                bounded &= kind == "static"
            for a, b in _EDGE.findall(text):
                calls.setdefault(a, []).append(b)
    unknown: set = set()

    def worst(fn: str, seen: tuple) -> tuple:
        nonlocal bounded
        if fn in seen:
            bounded = False  # recursion: no static bound
            return 0, [fn]
        if fn not in frames:
            unknown.add(fn)
            return 0, [fn]
        best = (0, [])
        for callee in calls.get(fn, []):
            best = max(best, worst(callee, seen + (fn,)), key=lambda r: r[0])
        return frames[fn] + best[0], [fn] + best[1]

    if entry not in frames:
        raise BuildError(f"{entry}: not found in the call graph of {model_dir}")
    total, path = worst(entry, ())
    return dict(worst_bytes=total, path=path, per_function=dict(sorted(frames.items())),
                unknown=sorted(unknown), bounded=bounded, compiler=cc, cflags=list(cflags))
