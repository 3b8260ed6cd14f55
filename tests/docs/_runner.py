"""Runs the python blocks of one documentation session in one interpreter (a subprocess).

Reads one JSON object per line on stdin: `{"source", "path", "line", "stop_after"}`. Each block
runs in the session's shared globals, compiled so that tracebacks name the markdown file and
line. The outcome goes back as one JSON line on the file descriptor named by DOC_TEST_RESULT_FD:
`{"ok": true}` or `{"ok": false, "error": "<traceback>"}`. With `stop_after`, the process sends
itself SIGTERM after that many seconds: the block must then end by itself, as a worker or
server does on SIGTERM. A SIGTERM the block does not handle is ignored, so such a block runs
on until the test's timeout says so (a server that re-raises the signal after its graceful
shutdown, as uvicorn does, still ends normally).
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


def _unhandled_sigterm(signum: int, frame: FrameType | None) -> None:
    """Stands in for the default action, which would end the session's interpreter."""


def run_block(block: dict[str, Any], namespace: dict[str, Any]) -> dict[str, Any]:
    code = compile("\n" * (block["line"] - 1) + block["source"], block["path"], "exec")
    timer: threading.Timer | None = None
    if block.get("stop_after"):
        timer = threading.Timer(block["stop_after"], os.kill, (os.getpid(), signal.SIGTERM))
        timer.start()
    try:
        exec(code, namespace)
    except BaseException:
        return {"ok": False, "error": traceback.format_exc()}
    finally:
        if timer is not None:
            timer.cancel()
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
