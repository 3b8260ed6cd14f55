"""Dead letters `/dead`: list, requeue, delete."""

from __future__ import annotations

from urllib.parse import urlencode

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from .._context import get_dashboard, render
from .._params import page_number
from .._security import check_csrf, safe_next

PAGE_SIZE = 50


async def dead_letters(request: Request) -> Response:
    dash = get_dashboard(request)
    page = page_number(request)
    listing = await dash.client.dead_letters(offset=(page - 1) * PAGE_SIZE, limit=PAGE_SIZE)
    dash.monitor.note_types(letter.job for letter in listing.dead_letters)
    context = {
        "page": "dead",
        "letters": listing.dead_letters,
        "total": listing.total,
        "page_number": page,
        "has_next": page * PAGE_SIZE < listing.total,
        "last_page": max(1, -(-listing.total // PAGE_SIZE)),
        "notice": _notice(request),
    }
    return render(request, "dead.html", context)


_VERBS = {"requeued", "deleted"}


def _notice(request: Request) -> str | None:
    """The result of the last action, rebuilt from `?done=&count=` (never echoed as given)."""
    verb = request.query_params.get("done")
    count = request.query_params.get("count", "")
    if verb not in _VERBS or not count.isdigit():
        return None
    return f"{int(count):,} dead letter{'' if count == '1' else 's'} {verb}."


async def _act(request: Request, verb: str) -> Response:
    dash = get_dashboard(request)
    form = await request.form()
    check_csrf(request, form.get("csrf_token"))
    ids = [value for value in form.getlist("job_id") if isinstance(value, str) and value]
    everything = form.get("all") == "1"
    selection = "all" if everything else ids
    if verb == "requeued":
        count = await dash.client.requeue_dead_letters(selection)
        dash.monitor.note_dead_letters(requeued=count)
    else:
        count = await dash.client.delete_dead_letters(selection)
        dash.monitor.note_dead_letters(deleted=count)
    text = f"{count} dead letter{'' if count == 1 else 's'} {verb} from the dashboard"
    dash.monitor.record("action", text, ids[0] if len(ids) == 1 and verb == "requeued" else None)
    target = form.get("next")
    if isinstance(target, str) and verb == "requeued":
        return RedirectResponse(safe_next(target), status_code=303)
    return RedirectResponse(f"/dead?{urlencode({'done': verb, 'count': count})}", status_code=303)


async def requeue(request: Request) -> Response:
    return await _act(request, "requeued")


async def delete(request: Request) -> Response:
    return await _act(request, "deleted")
