"""Ceiling yardstick for broker benchmarks, for running by hand.

The queue's REST endpoints over a Python dict under Starlette/uvicorn, with no storage, no
batching and no durability: the app `osqueue bench --ceiling` runs (osqueue_cli.bench._ceiling_app).

    uvicorn ceiling_app:app --app-dir tools --port 8191 --no-access-log
    osqueue bench --broker http://127.0.0.1:8191 --broker-pid <its pid> --scenario pipeline,submit,drain
"""

from __future__ import annotations

from osqueue_cli.bench._ceiling_app import app

__all__ = ["app"]
