"""`--moto`: a moto S3 server on a free port, with a bucket, for benchmarking the S3 backend."""

from __future__ import annotations

import asyncio
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

from ._http import HttpError, RawHttpConnection
from ._serve import bind_free_port
from ._targets import TargetError

BUCKET = "osqueue-bench"
# moto accepts any credentials; these keep a developer's own AWS profile out of the way.
MOTO_ENV = {
    "AWS_ACCESS_KEY_ID": "bench",
    "AWS_SECRET_ACCESS_KEY": "bench",
    "AWS_DEFAULT_REGION": "us-east-1",
    "AWS_CONFIG_FILE": os.devnull,
    "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
}


class MotoServer:
    def __init__(self, process: asyncio.subprocess.Process, endpoint: str) -> None:
        self._process = process
        self.endpoint = endpoint

    @property
    def pid(self) -> int:
        return self._process.pid

    @property
    def storage_url(self) -> str:
        return f"s3://{BUCKET}/bench?endpoint={self.endpoint}&region=us-east-1"

    @classmethod
    async def start(cls) -> MotoServer:
        executable = shutil.which("moto_server", path=str(Path(sys.executable).parent)) or shutil.which(
            "moto_server"
        )
        if executable is None:
            raise TargetError("--moto needs moto_server (pip install 'moto[server]')")
        with bind_free_port() as probe:
            port = probe.getsockname()[1]
        endpoint = f"http://127.0.0.1:{port}"
        # moto keeps its own handle on the log file; ours is only for reporting a failed start.
        with tempfile.TemporaryFile() as log:
            process = await asyncio.create_subprocess_exec(
                *(executable, "-H", "127.0.0.1", "-p", str(port)),
                stdout=log,
                stderr=log,
                stdin=asyncio.subprocess.DEVNULL,
            )
            server = cls(process, endpoint)
            try:
                await server._create_bucket()
            except (OSError, TimeoutError, HttpError) as exc:
                await server.close()
                log.seek(0)
                raise TargetError(f"moto_server did not start: {log.read()[-2000:]!r}") from exc
        return server

    async def _create_bucket(self) -> None:
        """PUT the bucket (moto takes unsigned requests), retrying until the server answers."""
        http = RawHttpConnection(self.endpoint, timeout=5.0)
        deadline = time.monotonic() + 30
        try:
            while True:
                try:
                    await http.request("PUT", f"/{BUCKET}")
                    return
                except (OSError, TimeoutError, HttpError):
                    if self._process.returncode is not None or time.monotonic() > deadline:
                        raise
                    await asyncio.sleep(0.1)
        finally:
            await http.close()

    async def close(self) -> None:
        if self._process.returncode is None:
            self._process.terminate()
            await self._process.wait()
