"""The osqueue broker: REST, WebSocket and Connect over Starlette/uvicorn.

```python
from osqueue_broker import BrokerServer
from osqueue_storage import open_storage

server = BrokerServer(open_storage("file://./data"), "127.0.0.1", 8080)
await server.serve()  # until SIGTERM/SIGINT
```
"""

from __future__ import annotations

from ._config import BrokerConfig
from ._main import main, run_from_env
from ._openapi import build_openapi
from ._server import BrokerServer

__all__ = ["BrokerConfig", "BrokerServer", "build_openapi", "main", "run_from_env"]
