"""How a run is stopped: SIGINT/SIGTERM end it like Ctrl-C (the first one counts), and the run's deadline,
a little after timeouts.run, stops whatever still hangs (an AWS call, say). Reports are written either way."""

from __future__ import annotations

import os
import signal
import threading
from collections.abc import Callable
from typing import Any

DEADLINE_GRACE_S = 5.0  # past timeouts.run, a run still going is stopped


class Stopper:
    """Signal handlers and the run's last-resort deadline, installed for one run and restored after it."""

    def __init__(self, on_deadline: Callable[[], None]) -> None:
        self.interrupted = threading.Event()
        self._on_deadline = on_deadline
        self._handlers: dict[signal.Signals, Any] = {}
        self._timer: threading.Timer | None = None

    def start(self, run_seconds: float) -> None:
        if threading.current_thread() is threading.main_thread():
            self._handlers = {s: signal.getsignal(s) for s in (signal.SIGTERM, signal.SIGINT)}
            signal.signal(signal.SIGTERM, self._stop)
            if self._handlers[signal.SIGINT] is signal.default_int_handler:  # not where SIGINT is ignored
                signal.signal(signal.SIGINT, self._stop)
        self._timer = threading.Timer(run_seconds + DEADLINE_GRACE_S, self._expire)
        self._timer.daemon = True
        self._timer.start()

    def _stop(self, signum: int, frame: Any) -> None:
        if not self.interrupted.is_set():  # a second signal must not cut the reports short while they are written
            self.interrupted.set()
            raise KeyboardInterrupt(signal.Signals(signum).name)

    def _expire(self) -> None:
        self._on_deadline()
        os.kill(os.getpid(), signal.SIGTERM)  # the same path as Ctrl-C, even where SIGINT is ignored

    def cancel(self) -> None:
        if self._timer is not None:
            self._timer.cancel()

    def restore(self) -> None:
        """The process may run pytest again (pytester, the front door): give its handlers back."""
        self.cancel()
        for signum, handler in self._handlers.items():
            signal.signal(signum, handler)
        self._handlers = {}
