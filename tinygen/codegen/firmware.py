"""The firmware project around a generated model: main.c, startup, linker script, I/O backends, Makefile.

Also the fit check of a model against a board's RAM and flash.
"""
from __future__ import annotations

from pathlib import Path

import jinja2
import numpy as np

from tinygen.target.boards import Board, load_board
from tinygen.errors import CalibrationError, FitError, TinygenError
from tinygen.paths import templates_dir

DEFAULT_STACK_BYTES = 4096
IO_BACKENDS = ("semihosting", "uart", "swo", "rtt")
IN_FILE = "tg_in.bin"  # batch files, relative to QEMU's working directory
OUT_FILE = "tg_out.bin"
RESET_FILE = "tg_reset_each"  # present: a stateful model is reset before each sample of the batch
_STATIC = ("tg_io.h", "tg_timer.c", "tg_timer.h")


def fit_check(board, arena_bytes: int, stack_bytes: int, flash_bytes: int) -> None:
    """Raise FitError, with the numbers, if arena + stack exceed the board's RAM or flash_bytes its flash."""
    board = load_board(board)
    ram_need = int(arena_bytes) + int(stack_bytes)
    problems = []
    if ram_need > board.ram_size:
        problems.append(f"RAM needs {ram_need:,} B (arena {int(arena_bytes):,} + stack {int(stack_bytes):,}) "
                        f"but the board has {board.ram_size:,} B")
    if int(flash_bytes) > board.flash_size:
        problems.append(f"flash needs about {int(flash_bytes):,} B (estimated image) but the board has {board.flash_size:,} B")
    if problems:
        raise FitError(f"model does not fit board '{board.name}': {'; '.join(problems)}")


def _env() -> jinja2.Environment:
    return jinja2.Environment(loader=jinja2.FileSystemLoader(str(templates_dir() / "firmware")),
                              undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True,
                              keep_trailing_newline=True, autoescape=False)


def _byte_lines(data: bytes, per_line: int = 16) -> list:
    return [", ".join(f"0x{b:02x}" for b in data[i:i + per_line]) + ","
            for i in range(0, len(data), per_line)]


def _test_inputs(manifest: dict, test_inputs) -> list:
    infos = manifest["inputs"]
    if len(test_inputs) != len(infos):
        raise CalibrationError(f"model has {len(infos)} input(s), got {len(test_inputs)} test input(s)")
    out = []
    for i, (x, info) in enumerate(zip(test_inputs, infos)):
        dtype = np.dtype(info["dtype"])
        want = int(np.prod(info["shape"], dtype=np.int64)) * dtype.itemsize
        data = np.ascontiguousarray(np.asarray(x, dtype=dtype)).astype(dtype.newbyteorder("<")).tobytes()
        if len(data) != want:
            raise CalibrationError(f"test input {i} ('{info['name']}'): {len(data)} bytes, "
                                   f"expected {want} ({info['dtype']} {info['shape']})")
        out.append(dict(index=i, name=info["name"], dtype=info["dtype"], shape=list(info["shape"]),
                        nbytes=want, lines=_byte_lines(data)))
    return out


def firmware_files(board, manifest: dict, test_inputs, stack_bytes: int = DEFAULT_STACK_BYTES,
                   header: str = "model.h") -> dict:
    """{path relative to the firmware folder: text} of the test firmware (main.c, startup, linker script,
    timer and every I/O backend) around a model whose header is `header`."""
    board: Board = load_board(board)
    if board.io not in IO_BACKENDS:
        raise TinygenError(f"board '{board.name}': unknown io backend '{board.io}'")
    env = _env()
    src = templates_dir() / "firmware"
    files = {name: (src / name).read_text() for name in _STATIC}
    files["startup.c"] = (src / board.startup).read_text()
    for backend in IO_BACKENDS + ("nofile",):  # nofile: the host-file stubs of uart / swo / rtt
        files[f"io/tg_io_{backend}.c"] = (src / "io" / f"tg_io_{backend}.c").read_text()
    prefix = manifest["name"]
    ctx = dict(board=board.name, prefix=prefix, upper=prefix.upper(), num_inputs=len(manifest["inputs"]),
               num_outputs=len(manifest["outputs"]), in_file=IN_FILE, out_file=OUT_FILE,
               stateful=bool(manifest.get("persistent_bytes")), reset_file=RESET_FILE, header=header)
    files["main.c"] = env.get_template("main.c.j2").render(**ctx)
    files["tg_test_data.h"] = env.get_template("tg_test_data.h.j2").render(inputs=_test_inputs(manifest, test_inputs))
    files["linker.ld"] = env.get_template(board.linker).render(
        board=board, flash_origin=f"0x{board.flash_origin:08X}", flash_size=f"0x{board.flash_size:08X}",
        ram_origin=f"0x{board.ram_origin:08X}", ram_size=f"0x{board.ram_size:08X}",
        boot2_bytes=board.boot2_bytes, stack_bytes=int(stack_bytes))
    return files


def write_firmware(out_dir, board, manifest: dict, test_inputs, stack_bytes: int = DEFAULT_STACK_BYTES) -> Path:
    """Write OUT/firmware/ and OUT/Makefile around OUT/model/; returns the firmware folder."""
    from tinygen.verify.runner import model_paths

    out_dir = Path(out_dir)
    board: Board = load_board(board)
    header = model_paths(out_dir, manifest)[1]  # model/<name>.h
    if not header.is_file():
        raise TinygenError(f"{out_dir}: no {header.relative_to(out_dir).as_posix()}; "
                           "generate the model before the firmware")
    fw = out_dir / "firmware"
    for rel, text in firmware_files(board, manifest, test_inputs, stack_bytes, header=header.name).items():
        (fw / rel).parent.mkdir(parents=True, exist_ok=True)
        (fw / rel).write_text(text)
    (out_dir / "Makefile").write_text(_env().get_template("Makefile.j2").render(
        board=board, arch_flags=" ".join(board.arch_flags), stack_bytes=int(stack_bytes),
        qemu_machine=board.qemu_machine or ""))
    return fw
