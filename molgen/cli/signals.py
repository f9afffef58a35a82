"""SIGINT and SIGTERM in a ``molgen`` command: one line, exit 128 + signal, no partial output.

:func:`handle_signals` makes both signals raise :class:`molgen.errors.Interrupted` in the main
process (Lightning's own SIGTERM handler keeps running first, and its ``KeyboardInterrupt`` path,
which would exit 1, is not taken). Every writer removes its temporary file on the way out
(``except BaseException``), so nothing partial appears under a final name. A worker process
(forked, so it inherited the handler) dies by the signal's default action instead, silently.
A second signal while the first unwinds is ignored, so the clean-up finishes.
"""

from __future__ import annotations

import os
import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager

from molgen.errors import Interrupted

SIGNALS = (signal.SIGINT, signal.SIGTERM)


@contextmanager
def handle_signals() -> Iterator[None]:
    """Within the block, SIGINT/SIGTERM raise :class:`Interrupted`; the previous handlers are restored after."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    main_pid = os.getpid()
    state = {"raised": False}

    def handler(signum: int, _frame: object) -> None:
        if os.getpid() != main_pid:  # a forked worker: die as the signal asks, without a traceback
            signal.signal(signum, signal.SIG_DFL)
            os.kill(os.getpid(), signum)
            return
        if state["raised"]:
            return  # the first one is unwinding: let its clean-up finish
        state["raised"] = True
        raise Interrupted(signum)

    previous = {signum: signal.getsignal(signum) for signum in SIGNALS}
    for signum in SIGNALS:
        signal.signal(signum, handler)
    try:
        yield
    finally:
        for signum, old in previous.items():
            signal.signal(signum, old if old is not None else signal.SIG_DFL)
