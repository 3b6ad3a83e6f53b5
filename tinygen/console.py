"""tinygen's own output streams, with everything TensorFlow, absl, oneDNN and Keras print hidden.

Those libraries write start-up and progress lines from C++ (straight to file descriptors 1 and 2) and
from Python (sys.stdout / sys.stderr, logging, warnings); on some CPUs even TF_CPP_MIN_LOG_LEVEL=3 does
not stop them. `Console.quiet()` points both descriptors and both Python streams at /dev/null for its
duration, and tinygen writes through `console.out` / `console.err`, duplicates of the originals.

Progress: the library calls `progress(task, done, total)` during long steps (model import, calibration,
the --mixed search, QAT export); that does nothing unless a hook is installed. The command line installs
one (`progress_to`) that keeps one status line on stderr, only when stderr is a terminal (never under
pytest, or with TINYGEN_NO_PROGRESS set), and clears it before anything else is printed.
"""
from __future__ import annotations

import contextlib
import os
import sys
import time

_HOOK = None  # called as _HOOK(task, done, total) by progress(), when installed


def progress(task: str, done: int = 0, total: int = 0) -> None:
    """Report a long step: `task` runs, `done` of `total` units finished (total 0: not counted)."""
    if _HOOK is not None:
        _HOOK(task, done, total)


@contextlib.contextmanager
def progress_hook(hook):
    """Send progress() calls to `hook(task, done, total)` for the duration."""
    global _HOOK
    saved, _HOOK = _HOOK, hook
    try:
        yield
    finally:
        _HOOK = saved


def shows_progress(stream) -> bool:
    """Progress lines go to a terminal only: not to pipes or files, not under pytest."""
    if os.environ.get("PYTEST_CURRENT_TEST") or os.environ.get("TINYGEN_NO_PROGRESS"):
        return False
    try:
        return stream.isatty()
    except (AttributeError, OSError, ValueError):
        return False


@contextlib.contextmanager
def progress_to(console: "Console"):
    """Show progress on console.err when it is a terminal; the status line is cleared at the end."""
    if not shows_progress(console.err):
        yield
        return
    with progress_hook(console.show_progress):
        try:
            yield
        finally:
            console.clear_progress()


class Console:
    """Where tinygen writes: `out` and `err`. Outside `quiet()` they are sys.stdout / sys.stderr."""

    def __init__(self):
        self.out = sys.stdout
        self.err = sys.stderr
        self._status = None  # (task, time shown) of the progress line on screen, None when none is

    def show_progress(self, task: str, done: int = 0, total: int = 0) -> None:
        """One status line on err, rewritten in place (at most 10 times a second within a task)."""
        now = time.monotonic()
        if self._status and self._status[0] == task and now - self._status[1] < 0.1 and done < total:
            return
        text = f"tinygen: {task}" + (f" {done}/{total}" if total else " ...")
        self.err.write("\r\033[K" + text[:200])
        self.err.flush()
        self._status = (task, now)

    def clear_progress(self) -> None:
        if self._status is not None:
            self._status = None
            self.err.write("\r\033[K")
            self.err.flush()

    @contextlib.contextmanager
    def quiet(self, enabled: bool = True):
        self.out, self.err = sys.stdout, sys.stderr
        if not enabled:
            yield
            return
        os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
        saved_streams = (sys.stdout, sys.stderr)
        saved_fds = []
        null_fd = os.open(os.devnull, os.O_WRONLY)
        null_text = open(os.devnull, "w")  # noqa: SIM115 - closed below
        try:
            ours = []
            for fd, stream in ((1, sys.stdout), (2, sys.stderr)):
                stream.flush()
                if _writes_to_fd(stream, fd):  # a real terminal or pipe: keep a duplicate for tinygen
                    dup = os.dup(fd)
                    saved_fds.append((fd, dup))
                    ours.append(os.fdopen(os.dup(dup), "w", buffering=1, encoding=stream.encoding,
                                          errors="backslashreplace"))
                else:  # already redirected in-process (a test's capture): write to it as it is
                    saved_fds.append((fd, None))
                    ours.append(stream)
                os.dup2(null_fd, fd)
            self.out, self.err = ours
            sys.stdout = sys.stderr = null_text
            yield
        finally:
            for fd, dup in saved_fds:
                if dup is not None:
                    os.dup2(dup, fd)
                    os.close(dup)
            for stream, original in zip((self.out, self.err), saved_streams):
                for step in (stream.flush, stream.close if stream is not original else None):
                    try:  # a reader that went away (`| head`) must not stop the restoring
                        if step is not None:
                            step()
                    except OSError:
                        pass
            sys.stdout, sys.stderr = saved_streams
            self.out, self.err = saved_streams
            null_text.close()
            os.close(null_fd)


def _writes_to_fd(stream, fd: int) -> bool:
    try:
        return stream.fileno() == fd
    except (AttributeError, OSError, ValueError):
        return False


@contextlib.contextmanager
def quiet():
    """Hide what third-party libraries print; yields the Console whose .out / .err still reach the user."""
    console = Console()
    with console.quiet():
        yield console

