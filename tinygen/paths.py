"""Where the shipped data lives: inside the wheel (tinygen/_data) or at the source tree's root."""
from __future__ import annotations

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
    return data_dir("runtime_c")


def boards_dir() -> Path:
    return data_dir("boards")
