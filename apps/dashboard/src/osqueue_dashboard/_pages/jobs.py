"""Jobs `/jobs` (filtered, paginated) and one job `/jobs/{id}`."""

from __future__ import annotations

from urllib.parse import urlencode

from osqueue_client import DeadLetterInfo, JobInfo, QueueStats
from osqueue_types import InvalidRequestError, JobNotFoundError, JobStatus, TransportRequestError
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response

from .._context import get_dashboard, render
from .._params import page_number

PAGE_SIZE = 50
_LIVE_STATUSES = (JobStatus.UNCLAIMED, JobStatus.IN_PROGRESS)
STATUSES = [("", "Any status"), ("unclaimed", "Unclaimed"), ("in_progress", "In progress")]


def _matching(stats: QueueStats, status: str, job_type: str) -> int | None:
    """How many jobs the filter matches, when the counters tell."""
    if job_type:
        return None
    return {"": stats.total, "unclaimed": stats.unclaimed, "in_progress": stats.in_progress}.get(status)


async def jobs(request: Request) -> Response:
    dash = get_dashboard(request)
    status = request.query_params.get("status", "")
    if status not in dict(STATUSES):
        status = ""
    job_type = request.query_params.get("type", "").strip()
    page = page_number(request)
    offset = (page - 1) * PAGE_SIZE
    rows: list[JobInfo] = []
    matching: int | None = None
    error = None
    try:
        # One row more than shown tells whether there is a next page without counting.
        listing = await dash.client.list_jobs(
            status=status or None, type=job_type or None, offset=offset, limit=PAGE_SIZE + 1
        )
    except InvalidRequestError as exc:
        error = exc.message
        has_next = False
    else:
        rows, has_next = listing.jobs[:PAGE_SIZE], len(listing.jobs) > PAGE_SIZE
        matching = _matching(listing, status, job_type)
        dash.monitor.note_types(rows)
    filters = {key: value for key, value in (("status", status), ("type", job_type)) if value}
    context = {
        "page": "jobs",
        "jobs": rows,
        "status": status,
        "job_type": job_type,
        "statuses": STATUSES,
        "types": dash.monitor.types_seen(),
        "offset": offset,
        "matching": matching,
        "has_next": has_next,
        "last_page": max(1, -(-matching // PAGE_SIZE)) if matching is not None else None,
        "page_number": page,
        "page_base": "/jobs?" + (urlencode(filters) + "&" if filters else ""),
        "error": error,
    }
    # `page` names the nav entry; the page number travels as `page_number`.
    return render(request, "jobs.html", context)


async def _find_dead_letter(request: Request, job_id: str) -> DeadLetterInfo | None:
    client = get_dashboard(request).client
    offset = 0
    while True:
        listing = await client.dead_letters(offset=offset, limit=500)
        for letter in listing.dead_letters:
            if letter.job.id == job_id:
                return letter
        offset += len(listing.dead_letters)
        if not listing.dead_letters or offset >= listing.total:
            return None


async def job_detail(request: Request) -> Response:
    dash = get_dashboard(request)
    job_id = request.path_params["job_id"]
    job: JobInfo | None = None
    unreadable: TransportRequestError | None = None
    try:
        job = await dash.client.get_job(job_id)
    except JobNotFoundError:
        pass
    except TransportRequestError as exc:
        # A broker may report a dead letter with a status this client does not know.
        unreadable = exc
    dead: DeadLetterInfo | None = None
    if job is None or job.status not in _LIVE_STATUSES:
        dead = await _find_dead_letter(request, job_id)
        if dead is not None:
            job = dead.job
    if job is None:
        if unreadable is not None:
            raise unreadable
        raise HTTPException(404, "No such job: it may have completed (completed jobs leave the queue).")
    dash.monitor.note_type(job.type)
    return render(request, "job.html", {"page": "jobs", "job": job, "dead": dead})
