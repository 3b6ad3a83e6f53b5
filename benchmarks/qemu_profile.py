"""Instructions per function (and per inlined kernel function) of one inference under QEMU, from an exec trace.

Runs a tinygen output folder's firmware (the plain `make` build, -O2 -g, as `tinygen bench` builds it) on
its embedded test input under qemu-system-arm with `-icount shift=0`, one instruction per translation block
(`-singlestep`; `-accel tcg,one-insn-per-tb=on` on QEMU >= 8.1) and `-d exec,nochain`, so every executed
instruction is one `Trace` line of the log with its address. Lines QEMU logs for a block it then did not run
("Stopped execution of TB chain before ...", "cpu_io_recompile: rewound execution of TB to ...") are taken
back. The calibration function (tg_timer_calibrate, 20 M instructions of spin loop) is left out of the log
with -dfilter. The log takes about 70 bytes per executed instruction (in a temporary folder, deleted after
parsing): meant for kernels and small models of up to a few million instructions per invoke.

The invoke window is the instructions between the return of the tg_timer_now() call that precedes the first
entry to <prefix>_invoke_io and the next entry to tg_timer_now(): what the firmware's own SysTick count
measures, except the timer code around its two counter reads and SysTick's granularity (40 instructions per
tick on mps2-an386). Both counts are reported; `tolerance` bounds their difference.

Attribution:
  by_function  each address to the ELF symbol (arm-none-eabi-nm -S) that contains it;
  regions      each address to named regions by its DWARF inline chain (arm-none-eabi-addr2line -a -f -i):
               an address belongs to a region when any function of its chain (the innermost inlined
               function, the functions it is inlined into, the symbol) is one of the region's names. The
               kernels are static inline inside one entry point, so this is what separates e.g. the SMLAD
               loop of tg_quad_groups from the per-row requantization around it.

    .venv/bin/python benchmarks/qemu_profile.py OUT_DIR [--region NAME=fn1,fn2 ...] [--top N]
"""
from __future__ import annotations

import argparse
import bisect
import re
import subprocess
import sys
import tempfile
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tinygen.verify.qemu import DEFAULT_TIMEOUT_S, _qemu_board, build, parse_log, qemu_command  # noqa: E402

TIMER = "tg_timer_now"
CALIBRATE = "tg_timer_calibrate"
TIMER_SLACK = 40  # instructions of tg_timer_now around its counter read that the firmware's count includes

_TRACE = re.compile(rb"^Trace \d+: 0x[0-9a-f]+ \[[0-9a-f]+/([0-9a-f]+)/")
_STOPPED = re.compile(rb"Stopped execution of TB chain before 0x[0-9a-f]+ \[([0-9a-f]+)\]")
_REWOUND = re.compile(rb"cpu_io_recompile: rewound execution of TB to ([0-9a-f]+)")


class ProfileError(RuntimeError):
    pass


def symbols(elf: Path) -> list:
    """Sorted (start, end, name) of the ELF's sized code symbols (Thumb bit cleared)."""
    out = subprocess.run(["arm-none-eabi-nm", "-S", "--defined-only", str(elf)], capture_output=True,
                         text=True, check=True).stdout
    syms = []
    for line in out.splitlines():
        parts = line.split()
        if len(parts) == 4 and parts[2] in "tTwW":
            start, size = int(parts[0], 16) & ~1, int(parts[1], 16)
            if size:
                syms.append((start, start + size, parts[3]))
    return sorted(syms)


def _symbol(syms: list, name: str) -> tuple:
    found = [s for s in syms if s[2] == name or (name.startswith("*") and s[2].endswith(name[1:]))]
    if len(found) != 1:
        raise ProfileError(f"expected one function '{name}' in the ELF, found {len(found)}")
    return found[0]


def _qemu_single_insn_flag() -> list:
    out = subprocess.run(["qemu-system-arm", "--version"], capture_output=True, text=True).stdout
    m = re.search(r"version (\d+)\.(\d+)", out)
    if m and (int(m.group(1)), int(m.group(2))) >= (8, 1):
        return ["-accel", "tcg,one-insn-per-tb=on"]
    return ["-singlestep"]


def executed(log: Path) -> list:
    """The executed instruction addresses, in order, from a `-d exec,nochain` one-instruction-per-TB log."""
    pcs = []
    with open(log, "rb") as fh:
        for line in fh:
            m = _TRACE.match(line)
            if m:
                pcs.append(int(m.group(1), 16))
                continue
            m = _STOPPED.search(line) or _REWOUND.search(line)
            if m:  # the block just logged did not run (it runs again, and is logged again)
                if not pcs or pcs[-1] != int(m.group(1), 16):
                    raise ProfileError(f"{log}: unexpected QEMU log line {line.strip()[:80]!r}")
                pcs.pop()
    return pcs


def invoke_window(pcs: list, syms: list, invoke: tuple) -> list:
    """The addresses between the timer read before the first entry to `invoke` and the next timer read."""
    timer = _symbol(syms, TIMER)

    def in_timer(pc):
        return timer[0] <= pc < timer[1]

    try:
        entry = pcs.index(invoke[0])
    except ValueError:
        raise ProfileError(f"{invoke[2]} never ran") from None
    start = entry
    while start > 0 and not in_timer(pcs[start - 1]):
        start -= 1
    end = entry
    while end < len(pcs) and pcs[end] != timer[0]:
        end += 1
    if start == 0 or end == len(pcs):
        raise ProfileError(f"no {TIMER}() call around {invoke[2]}")
    return pcs[start:end]


def inline_chains(elf: Path, addrs) -> dict:
    """address -> set of function names of its DWARF inline chain (addr2line -f -i)."""
    addrs = sorted(addrs)
    if not addrs:
        return {}
    out = subprocess.run(["arm-none-eabi-addr2line", "-a", "-f", "-i", "-e", str(elf)],
                         input="\n".join(f"{a:#x}" for a in addrs), capture_output=True, text=True,
                         check=True).stdout.splitlines()
    chains, cur, k = {}, None, 0
    while k < len(out):
        line = out[k]
        if line.startswith("0x"):
            cur = int(line, 16)
            chains[cur] = set()
            k += 1
        else:
            chains[cur].add(line.strip())
            k += 2  # function name, then file:line
    return chains


def run_trace(out_dir, timeout: float = DEFAULT_TIMEOUT_S) -> tuple:
    """Build, run under QEMU with the exec trace; returns (elf, firmware log dict, executed addresses)."""
    out_dir = Path(out_dir).resolve()
    board = _qemu_board(out_dir)
    elf = build(out_dir)
    syms = symbols(elf)
    cal = _symbol(syms, CALIBRATE)
    dfilter = f"0..{cal[0] - 1:#x},{cal[1]:#x}..0xffffffff"
    with tempfile.TemporaryDirectory(prefix="tinygen-qprof-") as tmp:
        log = Path(tmp) / "exec.log"
        cmd = qemu_command(board, elf) + _qemu_single_insn_flag() + ["-d", "exec,nochain", "-dfilter", dfilter,
                                                                     "-D", str(log)]
        try:
            proc = subprocess.run(cmd, cwd=tmp, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                  stderr=subprocess.STDOUT, text=True, timeout=timeout)
        except subprocess.TimeoutExpired:
            raise ProfileError(f"QEMU did not finish within {timeout:g} s tracing {elf}") from None
        if proc.returncode != 0:
            raise ProfileError(f"firmware failed under QEMU (exit {proc.returncode}): {proc.stdout[-500:]}")
        pcs = executed(log)
    return elf, parse_log(proc.stdout), pcs, syms


def profile(out_dir, regions: dict | None = None, timeout: float = DEFAULT_TIMEOUT_S) -> dict:
    """Per-function and per-region instruction counts of one invoke; regions: name -> function names."""
    elf, fw, pcs, syms = run_trace(out_dir, timeout)
    invoke = _symbol(syms, "*_invoke_io")
    window = invoke_window(pcs, syms, invoke)
    counts = Counter(window)
    starts = [s[0] for s in syms]
    by_function = Counter()
    for pc, n in counts.items():
        i = bisect.bisect_right(starts, pc) - 1
        by_function[syms[i][2] if i >= 0 and pc < syms[i][1] else "?"] += n
    chains = inline_chains(elf, counts) if regions else {}
    by_region = {name: sum(n for pc, n in counts.items() if chains.get(pc, set()) & set(fns))
                 for name, fns in (regions or {}).items()}
    c = fw["calibration"]
    firmware = (fw["ticks"] * c["instructions"] + c["ticks"] // 2) // c["ticks"]
    return dict(elf=str(elf), total=len(window), firmware=firmware,
                tolerance=round(fw["insns_per_tick"]) + TIMER_SLACK, by_function=dict(by_function.most_common()),
                regions=by_region, outputs=fw["outputs"])


def check(prof: dict) -> None:
    """Raise ProfileError when the trace total and the firmware's count differ by more than the tolerance."""
    if abs(prof["total"] - prof["firmware"]) > prof["tolerance"]:
        raise ProfileError(f"trace counts {prof['total']:,} instructions for the invoke, the firmware "
                           f"{prof['firmware']:,} (tolerance {prof['tolerance']})")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("out_dir", type=Path, help="a tinygen output folder built for a QEMU board")
    ap.add_argument("--region", action="append", default=[], help="NAME=fn1,fn2: instructions inlined from fns")
    ap.add_argument("--top", type=int, default=15, help="functions to list")
    args = ap.parse_args()
    regions = {}
    for spec in args.region:
        name, _, fns = spec.partition("=")
        regions[name] = tuple(f for f in fns.split(",") if f)
    try:
        prof = profile(args.out_dir, regions)
        check(prof)
    except Exception as e:  # noqa: BLE001  (one line, no traceback)
        print(f"qemu_profile: {args.out_dir}: {e}", file=sys.stderr)
        return 1
    print(f"invoke: {prof['total']:,} instructions traced, {prof['firmware']:,} counted by the firmware "
          f"(SysTick, tolerance {prof['tolerance']})")
    for name, n in list(prof["by_function"].items())[:args.top]:
        print(f"  {n:>12,}  {name}")
    for name, n in prof["regions"].items():
        print(f"  region {name}: {n:,}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
