"""Login `/login` (when a dashboard token is configured) and logout."""

from __future__ import annotations

import asyncio

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from .._context import get_dashboard, render
from .._security import check_csrf, safe_next, token_matches

# Slows down guessing without slowing down people who type the right token.
FAILED_LOGIN_DELAY_S = 0.5


def _login_page(request: Request, *, next_path: str, error: str | None = None) -> Response:
    context = {"page": "login", "next": next_path, "error": error}
    return render(request, "login.html", context, status_code=401 if error else 200)


async def login_form(request: Request) -> Response:
    next_path = safe_next(request.query_params.get("next"))
    if get_dashboard(request).dashboard_token is None:
        return RedirectResponse(next_path, status_code=303)
    return _login_page(request, next_path=next_path)


async def login(request: Request) -> Response:
    expected = get_dashboard(request).dashboard_token
    form = await request.form()
    check_csrf(request, form.get("csrf_token"))
    raw_next = form.get("next")
    next_path = safe_next(raw_next if isinstance(raw_next, str) else None)
    token = form.get("token")
    if expected is None:
        return RedirectResponse(next_path, status_code=303)
    if not isinstance(token, str) or not token_matches(expected, token):
        await asyncio.sleep(FAILED_LOGIN_DELAY_S)
        return _login_page(request, next_path=next_path, error="Wrong token.")
    request.session.clear()  # a fresh session (and CSRF token) on privilege change
    request.session["auth"] = True
    return RedirectResponse(next_path, status_code=303)


async def logout(request: Request) -> Response:
    form = await request.form()
    check_csrf(request, form.get("csrf_token"))
    request.session.clear()
    return RedirectResponse("/login", status_code=303)
