"""Typed errors raised by the tinygen library; only the CLI turns them into messages and exit codes."""


class TinygenError(Exception):
    """Base class: the message is one line a user can act on."""


class ModelFormatError(TinygenError):
    """The model file cannot be read or is malformed (names the file and field)."""


class UnsupportedError(TinygenError):
    """A layer, op or configuration tinygen does not support (names the layer and op)."""


class CalibrationError(TinygenError):
    """Calibration or input data has the wrong shape, dtype or contains NaN/inf."""


class FitError(TinygenError):
    """The model does not fit the board's RAM or flash."""


class BuildError(TinygenError):
    """A C compiler, linker or emulator step failed."""


class VerificationError(TinygenError):
    """Generated code disagrees with the reference."""
