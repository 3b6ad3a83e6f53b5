"""Where the shipped data lives: inside the wheel (tinygen/_data) or at the source tree's root."""
from __future__ import annotations

import functools
from pathlib import Path

_PKG = Path(__file__).resolve().parent


def data_dir(name: str) -> Path:
    """Return the directory of shipped data `name` ('templates', 'runtime_c' or 'boards')."""
    packaged = _PKG / "_data" / name
    if packaged.is_dir():
        return packaged
    source = _PKG.parent / name
    if source.is_dir():
        return source
    raise FileNotFoundError(f"tinygen data directory '{name}' is missing from the installation")


def templates_dir() -> Path:
    return data_dir("templates")


def runtime_dir() -> Path:
    """runtime_c/: the shared headers in include/, the kernels in one folder per kind (conv/, pool/, ...)."""
    return data_dir("runtime_c")


@functools.lru_cache(maxsize=None)
def _runtime_index(root: Path) -> dict:
    index: dict = {}
    for path in sorted(root.rglob("*")):
        if not path.is_file() or path.suffix not in (".c", ".h", ".inc"):
            continue
        if path.name in index:
            raise FileNotFoundError(f"runtime file name '{path.name}' is used twice: {index[path.name]} and {path}; "
                                    "a model's folder is flat, so runtime file names must be unique")
        index[path.name] = path
    return index


def runtime_index() -> dict:
    """{file name: path} of every runtime .c/.h/.inc file (names are unique across the folders)."""
    return dict(_runtime_index(runtime_dir()))


def runtime_file(name: str) -> Path:
    """The runtime file called `name` (a base name such as "tg_conv2d_s8.c"), whatever its folder."""
    index = _runtime_index(runtime_dir())
    if name not in index:
        raise FileNotFoundError(f"runtime file '{name}' is not in {runtime_dir()}")
    return index[name]


def runtime_include_dirs() -> list:
    """Every runtime folder, for compiling runtime files in place (-I each; a model's folder is flat)."""
    return sorted({p.parent for p in _runtime_index(runtime_dir()).values()})


def boards_dir() -> Path:
    return data_dir("boards")
