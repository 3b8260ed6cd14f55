"""The osqueue broker: REST, WebSocket and Connect over Starlette/uvicorn."""
