"""Query parameters shared by the paginated pages."""

from __future__ import annotations

from starlette.requests import Request

MAX_PAGE = 10_000_000


def page_number(request: Request) -> int:
    """`?page=` as a number from 1; anything else means the first page."""
    try:
        page = int(request.query_params.get("page", "1"))
    except ValueError:
        return 1
    return min(max(page, 1), MAX_PAGE)
