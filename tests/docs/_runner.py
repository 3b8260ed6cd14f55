"""Runs the python blocks of one documentation session in one interpreter (a subprocess).

Reads one JSON object per line on stdin: `{"source", "path", "line", "stop_after"}`. Each block
runs in the session's shared globals, compiled so that tracebacks name the markdown file and
line. The outcome goes back as one JSON line on the file descriptor named by DOC_TEST_RESULT_FD:
`{"ok": true}` or `{"ok": false, "error": "<traceback>"}`. With `stop_after`, the process sends
itself SIGTERM after that many seconds: the block must then end by itself, as a worker or
server does on SIGTERM. A SIGTERM that reaches this runner's own handler (the block had not
installed its handler yet) is ignored and sent again shortly after, so a slow start cannot
kill the session; a block that never handles it runs on until the test's timeout says so.
"""

from __future__ import annotations

import json
import os
import signal
import sys
import threading
import traceback
from types import FrameType
from typing import Any

_RESEND_S = 0.5
_missed = threading.Event()  # a SIGTERM reached this runner's handler, not the block's


def _unhandled_sigterm(signum: int, frame: FrameType | None) -> None:
    """Stands in for the default action, which would end the session's interpreter."""
    _missed.set()


def _terminate_after(delay: float, done: threading.Event) -> None:
    """SIGTERM this process after `delay`, again whenever the block was not listening yet."""
    if done.wait(delay):
        return
    while True:
        _missed.clear()
        os.kill(os.getpid(), signal.SIGTERM)
        if done.wait(_RESEND_S) or not _missed.is_set():
            return


def run_block(block: dict[str, Any], namespace: dict[str, Any]) -> dict[str, Any]:
    code = compile("\n" * (block["line"] - 1) + block["source"], block["path"], "exec")
    done = threading.Event()
    stopper: threading.Thread | None = None
    if block.get("stop_after"):
        stopper = threading.Thread(target=_terminate_after, args=(block["stop_after"], done), daemon=True)
        stopper.start()
    try:
        exec(code, namespace)
    except BaseException:
        return {"ok": False, "error": traceback.format_exc()}
    finally:
        done.set()
        if stopper is not None:
            stopper.join()
        # asyncio restores the default action when it removes its handler; put ours back.
        signal.signal(signal.SIGTERM, _unhandled_sigterm)
    return {"ok": True}


def main() -> None:
    results = os.fdopen(int(os.environ["DOC_TEST_RESULT_FD"]), "w", buffering=1)
    # Samples import from the working directory (e.g. a tasks.py written by an earlier block),
    # as `python script.py` would, and never from this directory.
    sys.path[0] = os.getcwd()
    signal.signal(signal.SIGTERM, _unhandled_sigterm)
    namespace: dict[str, Any] = {"__name__": "__main__"}
    for line in sys.stdin:
        outcome = run_block(json.loads(line), namespace)
        sys.stdout.flush()
        sys.stderr.flush()
        results.write(json.dumps(outcome) + "\n")


if __name__ == "__main__":
    main()
