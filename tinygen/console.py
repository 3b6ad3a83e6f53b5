"""tinygen's own output streams, with everything TensorFlow, absl, oneDNN and Keras print hidden.

Those libraries write start-up and progress lines from C++ (straight to file descriptors 1 and 2) and
from Python (sys.stdout / sys.stderr, logging, warnings); on some CPUs even TF_CPP_MIN_LOG_LEVEL=3 does
not stop them. `Console.quiet()` points both descriptors and both Python streams at /dev/null for its
duration, and tinygen writes through `console.out` / `console.err`, duplicates of the originals.
"""
from __future__ import annotations

import contextlib
import os
import sys


class Console:
    """Where tinygen writes: `out` and `err`. Outside `quiet()` they are sys.stdout / sys.stderr."""

    def __init__(self):
        self.out = sys.stdout
        self.err = sys.stderr

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
            for stream in (self.out, self.err):
                stream.flush()
            for fd, dup in saved_fds:
                if dup is not None:
                    os.dup2(dup, fd)
                    os.close(dup)
            for stream, original in zip((self.out, self.err), saved_streams):
                if stream is not original:
                    stream.close()
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

