"""Stopping a run (``timeout``'s SIGTERM, Ctrl-C) without a false alarm.

A stop request arrives as KeyboardInterrupt wherever the main thread is. Inside a kernel library's
native call (TileLang compiles through a TVM FFI callback that runs nvcc) the library may turn it
into its own error: seen on the H100, TVM FFI re-raised it as ``RuntimeError('')``, which the suite
then judged as a crashing kernel (an ERROR verdict, then FLAKY, since the case passed when re-run).
So the handler records that a stop was requested, and every place that turns an exception into a
verdict first asks ``reraise_if_stopping``: an error raised after the stop request is the stop.
"""

from __future__ import annotations

import signal
import threading
from typing import Callable

_stop = threading.Event()


def stop_requested() -> bool:
    return _stop.is_set()


def _handler(signum, frame) -> None:
    _stop.set()
    raise KeyboardInterrupt


def install_stop_handlers() -> Callable[[], None]:
    """SIGTERM and SIGINT raise KeyboardInterrupt and mark the stop as requested (main thread
    only; elsewhere a no-op). Returns the function that puts the previous handlers back."""
    if threading.current_thread() is not threading.main_thread():
        return lambda: None
    _stop.clear()
    previous = {s: signal.signal(s, _handler) for s in (signal.SIGTERM, signal.SIGINT)}

    def restore() -> None:
        for s, h in previous.items():
            signal.signal(s, h)
        _stop.clear()  # the run that asked has handled its stop; later errors are errors again
    return restore


def reraise_if_stopping(error: BaseException) -> None:
    """Raise KeyboardInterrupt (from ``error``) if a stop was requested: ``error`` is its echo."""
    if _stop.is_set():
        raise KeyboardInterrupt(f"stop requested; a library turned it into {type(error).__name__}") from error
