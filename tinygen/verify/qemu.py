"""Build an output folder's firmware with make and run it under QEMU: batch inference and instruction counts.

Counts come from SysTick under `-icount shift=0` (one instruction = one virtual ns), converted to
instructions with a calibration loop the firmware runs; reruns give identical numbers.
"""
from __future__ import annotations

import fcntl
import json
import re
import shutil
import subprocess
import tempfile
from contextlib import contextmanager
from pathlib import Path

import numpy as np

from tinygen.target.boards import Board, load_board
from tinygen.errors import BuildError, TinygenError
from tinygen.codegen.firmware import IN_FILE, OUT_FILE, RESET_FILE

QEMU = "qemu-system-arm"
DEFAULT_TIMEOUT_S = 120.0
_PROFILE_BUILD = "build-profile"


def _read_json(path: Path) -> dict:
    if not path.is_file():
        raise TinygenError(f"{path.parent}: no {path.name}; run `tinygen build` first")
    return json.loads(path.read_text())


def _qemu_board(out_dir: Path) -> Board:
    board = load_board(_read_json(out_dir / "tinygen.json")["board"])
    if board.qemu_machine is None:
        raise TinygenError(f"board '{board.name}' has no QEMU machine; build for one of the QEMU boards "
                           f"(e.g. --board cortex-m4) to run under QEMU")
    return board


def _need(tool: str) -> str:
    path = shutil.which(tool)
    if path is None:
        raise BuildError(f"'{tool}' not found on PATH (needed to build and run firmware under QEMU)")
    return path


@contextmanager
def _locked(out_dir: Path):
    """Serialise builds of one output folder (make is not safe to run twice in one tree)."""
    with open(out_dir / "firmware" / ".lock", "w") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def build(out_dir, profile: bool = False, opt: str | None = None) -> Path:
    """Run `make` in out_dir (a -DTG_PROFILE build in build-profile/ if profile); returns the ELF path."""
    out_dir = Path(out_dir).resolve()
    if not (out_dir / "Makefile").is_file() or not (out_dir / "firmware").is_dir():
        raise TinygenError(f"{out_dir}: no firmware project (Makefile, firmware/); build it with a board")
    cmd = [_need("make"), "-s", "-j2"]
    _need("arm-none-eabi-gcc")
    build_dir = "build"
    if profile:
        build_dir = _PROFILE_BUILD
        cmd += [f"BUILD={build_dir}", "EXTRA_CFLAGS=-DTG_PROFILE"]
    if opt:
        cmd.append(f"OPT={opt}")
    with _locked(out_dir):
        proc = subprocess.run(cmd, cwd=out_dir, capture_output=True, text=True)
    if proc.returncode != 0:
        tail = "\n".join((proc.stdout + proc.stderr).strip().splitlines()[-15:])
        raise BuildError(f"make failed in {out_dir} (exit {proc.returncode}):\n{tail}")
    return out_dir / build_dir / "firmware.elf"


def qemu_command(board: Board, elf: Path) -> list:
    """The QEMU command line that runs `elf` on the board's machine (semihosting, -icount shift=0)."""
    return [_need(QEMU), "-M", board.qemu_machine, "-nographic", "-monitor", "none",
            "-semihosting-config", "enable=on,target=native", "-icount", "shift=0", "-kernel", str(elf)]


def _run(board: Board, elf: Path, cwd: Path, timeout: float) -> str:
    try:
        proc = subprocess.run(qemu_command(board, elf), cwd=cwd, stdin=subprocess.DEVNULL,
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        raise BuildError(f"QEMU ({board.qemu_machine}) did not finish within {timeout:g} s running {elf}") from None
    if proc.returncode != 0:
        tail = "\n".join(proc.stdout.strip().splitlines()[-10:])
        raise BuildError(f"firmware failed under QEMU {board.qemu_machine} (exit {proc.returncode}):\n{tail}")
    return proc.stdout


def run_qemu(out_dir, inputs, timeout: float = DEFAULT_TIMEOUT_S, reset_each: bool = False) -> list:
    """Run every sample under QEMU; inputs: one (N, *sample shape) array per model input, in its dtype.

    The samples run in order in one boot of the firmware (a stateful model's state carries); with
    `reset_each` the firmware calls <name>_reset() before each sample.

    Returns one (N, *sample shape) array per model output, like tinygen.run(target="host").
    """
    from tinygen.verify.runner import sample_shape

    out_dir = Path(out_dir).resolve()
    manifest = _read_json(out_dir / "tinygen.json")
    board = _qemu_board(out_dir)
    if isinstance(inputs, np.ndarray):
        inputs = [inputs]
    if len(inputs) != len(manifest["inputs"]):
        raise TinygenError(f"model has {len(manifest['inputs'])} input(s), got {len(inputs)}")
    arrays = []
    for x, info in zip(inputs, manifest["inputs"]):
        ss = sample_shape(info["shape"])
        x = np.asarray(x, dtype=np.dtype(info["dtype"]).newbyteorder("<"))
        arrays.append(x.reshape((-1,) + ss))
    n = arrays[0].shape[0] if arrays else 0
    if any(a.shape[0] != n for a in arrays):
        raise TinygenError("all inputs must have the same number of samples")
    outs = [(sample_shape(o["shape"]), np.dtype(o["dtype"]).newbyteorder("<")) for o in manifest["outputs"]]
    if n == 0:
        return [np.zeros((0,) + ss, dt.newbyteorder("=")) for ss, dt in outs]
    elf = build(out_dir)
    with tempfile.TemporaryDirectory(prefix="tinygen-qemu-") as tmp:
        tmp = Path(tmp)
        with open(tmp / IN_FILE, "wb") as fh:
            for i in range(n):
                for a in arrays:
                    fh.write(np.ascontiguousarray(a[i]).tobytes())
        if reset_each:
            (tmp / RESET_FILE).write_bytes(b"")
        log = _run(board, elf, tmp, timeout)
        data = (tmp / OUT_FILE).read_bytes() if (tmp / OUT_FILE).is_file() else b""
    sizes = [int(np.prod(ss, dtype=np.int64)) * dt.itemsize for ss, dt in outs]
    if len(data) != n * sum(sizes):
        raise BuildError(f"QEMU wrote {len(data)} output bytes, expected {n} x {sum(sizes)}; log:\n{log.strip()}")
    results = [[] for _ in outs]
    pos = 0
    for _ in range(n):
        for k, ((ss, dt), size) in enumerate(zip(outs, sizes)):
            results[k].append(np.frombuffer(data[pos:pos + size], dtype=dt).reshape(ss))
            pos += size
    return [np.stack(r).astype(dt.newbyteorder("=")) for r, (_, dt) in zip(results, outs)]


_LINE = {
    "ticks": re.compile(r"^ticks: (\d+)$", re.M),
    "calibration": re.compile(r"^calibration: (\d+) instructions in (\d+) ticks$", re.M),
    "status": re.compile(r"^status: (\d+)$", re.M),
    "output": re.compile(r"^output(\d+): ([0-9a-f]*)$", re.M),
    "layer": re.compile(r"^layer (\d+) ticks: (\d+)$", re.M),
}


def parse_log(log: str) -> dict:
    """Parse the firmware's single-run output: outputs (hex), ticks, calibration, per-layer ticks."""
    ticks, cal, status = (_LINE[k].search(log) for k in ("ticks", "calibration", "status"))
    if not (ticks and cal and status):
        raise BuildError(f"unexpected firmware output:\n{log.strip()}")
    cal_insns, cal_ticks = int(cal.group(1)), int(cal.group(2))
    if cal_ticks == 0:
        raise BuildError("SysTick did not advance during calibration (no timer on this machine?)")
    return dict(ticks=int(ticks.group(1)), status=int(status.group(1)),
                calibration=dict(instructions=cal_insns, ticks=cal_ticks),
                insns_per_tick=cal_insns / cal_ticks,
                outputs=[bytes.fromhex(m.group(2)) for m in _LINE["output"].finditer(log)],
                layer_ticks={int(m.group(1)): int(m.group(2)) for m in _LINE["layer"].finditer(log)})


def run_once(out_dir, profile: bool = False, timeout: float = DEFAULT_TIMEOUT_S) -> dict:
    """Build and run the firmware on its embedded test input; returns parse_log's dict."""
    out_dir = Path(out_dir).resolve()
    board = _qemu_board(out_dir)
    elf = build(out_dir, profile=profile)
    with tempfile.TemporaryDirectory(prefix="tinygen-qemu-") as tmp:
        result = parse_log(_run(board, elf, Path(tmp), timeout))
    if result["status"] != 0:
        raise BuildError(f"model returned status {result['status']} under QEMU")
    return result


def bench(out_dir, timeout: float = DEFAULT_TIMEOUT_S) -> dict:
    """Instructions per inference (plain build) and per layer (-DTG_PROFILE build) under QEMU -icount."""
    out_dir = Path(out_dir).resolve()
    board = _qemu_board(out_dir)
    report = _read_json(out_dir / "report.json")
    plain = run_once(out_dir, profile=False, timeout=timeout)
    prof = run_once(out_dir, profile=True, timeout=timeout)

    def insns(ticks: int, run: dict) -> int:
        c = run["calibration"]
        return (ticks * c["instructions"] + c["ticks"] // 2) // c["ticks"]

    layers = []
    for i, layer in enumerate(report["layers"]):
        t = prof["layer_ticks"].get(i, 0)
        layers.append(dict(name=layer["name"], op=layer["op"], macs=int(layer.get("macs", 0)),
                           ticks=t, instructions=insns(t, prof)))
    return dict(board=board.name, machine=board.qemu_machine, instructions=insns(plain["ticks"], plain),
                ticks=plain["ticks"], insns_per_tick=plain["insns_per_tick"],
                calibration=plain["calibration"], macs=int(report["macs"]), layers=layers,
                outputs=[b.hex() for b in plain["outputs"]])
