"""Board descriptions: one TOML file per board in the shipped `boards/` folder, loaded into `Board`."""
from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from typing import Optional

from tinygen.errors import TinygenError
from tinygen.paths import boards_dir

_FLOAT_ABIS = ("soft", "softfp", "hard")


@dataclass(frozen=True)
class Board:
    name: str
    description: str
    core: str  # e.g. "cortex-m4"
    mcpu: str  # the -mcpu value
    fpu: Optional[str]  # the -mfpu value, None without an FPU
    float_abi: str  # soft, softfp or hard
    dsp: bool
    mve: bool
    flash_origin: int
    flash_size: int
    ram_origin: int
    ram_size: int
    clock_hz: int
    startup: str  # template names under templates/firmware/
    linker: str
    io: str  # I/O backend: semihosting, uart, swo or rtt
    flash_method: str  # openocd, st-flash, nrfjprog, bossac, picotool, pyocd or none
    flash_command: str  # make recipe; may use $(ELF), $(HEX), $(BIN)
    qemu_machine: Optional[str]  # the QEMU -M machine that runs this board, None if none does
    boot2_bytes: int = 0  # bytes reserved at the start of flash for a second-stage boot loader
    # [power]: the published active current (ua_per_mhz, voltage_v, source) the energy estimate uses; None
    # when the board file states none (the estimate then assumes a figure for the core and says so)
    power: Optional[dict] = field(default=None, compare=False, hash=False)

    @property
    def kernel_path(self) -> str:
        """The C kernels this board runs: the DSP-extension path (SMLAD dual MACs) or portable C, with the
        Helium (MVE) kernels of lower/mve.py for int8 CONV_2D, DEPTHWISE_CONV_2D, FULLY_CONNECTED and ADD/SUB
        on boards with MVE."""
        path = "dsp (SMLAD)" if self.dsp else "portable"
        return path + (", mve (Helium) for int8 conv, depthwise, FC and add" if self.mve else "")

    @property
    def arch_flags(self) -> list:
        """The gcc flags that select the core, FPU and float ABI."""
        flags = [f"-mcpu={self.mcpu}", "-mthumb", f"-mfloat-abi={self.float_abi}"]
        if self.fpu:
            flags.insert(2, f"-mfpu={self.fpu}")
        return flags


def list_boards() -> list:
    """Every shipped board, sorted by name."""
    return [load_board(p.stem) for p in sorted(boards_dir().glob("*.toml"))]


def board_names() -> list:
    return sorted(p.stem for p in boards_dir().glob("*.toml"))


def load_board(name) -> Board:
    """Load `boards/<name>.toml`; a Board passes through; an unknown name lists the valid ones."""
    if isinstance(name, Board):
        return name
    path = boards_dir() / f"{name}.toml"
    if not str(name) or "/" in str(name) or not path.is_file():
        raise TinygenError(f"unknown board '{name}'; valid boards: {', '.join(board_names())}")
    try:
        data = tomllib.loads(path.read_text())
        mem, fw, fl, qemu = data["memory"], data["firmware"], data["flash"], data["qemu"]
        fpu = data["fpu"]
        board = Board(
            name=data["name"], description=data["description"], core=data["core"], mcpu=data["mcpu"],
            fpu=None if fpu == "none" else fpu, float_abi=data["float_abi"], dsp=bool(data["dsp"]),
            mve=bool(data["mve"]), flash_origin=int(mem["flash_origin"]), flash_size=int(mem["flash_size"]),
            ram_origin=int(mem["ram_origin"]), ram_size=int(mem["ram_size"]), clock_hz=int(data["clock_hz"]),
            startup=fw["startup"], linker=fw["linker"], io=fw["io"], flash_method=fl["method"],
            flash_command=fl["command"], qemu_machine=qemu["machine"] or None,
            boot2_bytes=int(mem.get("boot2_bytes", 0)), power=_power(data.get("power"), path),
        )
    except (KeyError, TypeError, ValueError, tomllib.TOMLDecodeError) as exc:
        raise TinygenError(f"{path}: malformed board file ({type(exc).__name__}: {exc})") from None
    if board.name != name:
        raise TinygenError(f"{path}: 'name' is '{board.name}', expected '{name}'")
    if board.float_abi not in _FLOAT_ABIS:
        raise TinygenError(f"{path}: float_abi '{board.float_abi}' is not one of {', '.join(_FLOAT_ABIS)}")
    if board.float_abi != "soft" and board.fpu is None:
        raise TinygenError(f"{path}: float_abi '{board.float_abi}' needs an fpu")
    return board


def _power(table, path) -> Optional[dict]:
    """The optional [power] table: ua_per_mhz and voltage_v (positive numbers) and their source."""
    if table is None:
        return None
    out = {}
    for key in ("ua_per_mhz", "voltage_v"):
        v = table.get(key)
        if isinstance(v, bool) or not isinstance(v, (int, float)) or not v > 0:
            raise TinygenError(f"{path}: [power] {key} must be a positive number, got {v!r}")
        out[key] = float(v)
    src = table.get("source")
    if not isinstance(src, str) or not src.strip():
        raise TinygenError(f"{path}: [power] needs a 'source' naming the datasheet and section of its figures")
    out["source"] = src.strip()
    return out
