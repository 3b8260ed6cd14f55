"""Jobs `/jobs` (filtered, paginated) and one job `/jobs/{id}`."""

from __future__ import annotations

from urllib.parse import urlencode

from osqueue_client import JobInfo, QueueStats
from osqueue_types import InvalidRequestError, JobNotFoundError, ListStatus
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response

from .._context import get_dashboard, render
from .._params import page_number

PAGE_SIZE = 50
# The status `get_job` reports for a job read from the dead letters.
DEAD_LETTER = "dead_letter"
# The status filters in the order the page offers them.
_LABELS: dict[ListStatus, str] = {
    "unclaimed": "Unclaimed",
    "delayed": "Delayed",
    "in_progress": "In progress",
}
STATUSES: list[tuple[str, str]] = [("", "Any status"), *_LABELS.items()]


def _status(value: str) -> ListStatus | None:
    """The filter of the query string; none when absent or unknown."""
    return next((status for status in _LABELS if status == value), None)


def _matching(stats: QueueStats, status: ListStatus | None, job_type: str) -> int | None:
    """How many jobs the filter matches, when the counters tell."""
    if job_type:
        return None
    if status is None:
        return stats.total
    counts: dict[ListStatus, int] = {
        "unclaimed": stats.unclaimed,
        "delayed": stats.delayed,
        "in_progress": stats.in_progress,
    }
    return counts[status]


async def jobs(request: Request) -> Response:
    dash = get_dashboard(request)
    wanted = _status(request.query_params.get("status", ""))
    status = wanted or ""
    job_type = request.query_params.get("type", "").strip()
    page = page_number(request)
    offset = (page - 1) * PAGE_SIZE
    rows: list[JobInfo] = []
    matching: int | None = None
    error = None
    try:
        # One row more than shown tells whether there is a next page without counting. The
        # broker serves every status filter, "delayed" (unclaimed, not due yet) included.
        listing = await dash.client.list_jobs(
            status=wanted, type=job_type or None, offset=offset, limit=PAGE_SIZE + 1
        )
    except InvalidRequestError as exc:
        error = exc.message
        has_next = False
    else:
        rows, has_next = listing.jobs[:PAGE_SIZE], len(listing.jobs) > PAGE_SIZE
        matching = _matching(listing, wanted, job_type)
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


async def job_detail(request: Request) -> Response:
    dash = get_dashboard(request)
    job_id = request.path_params["job_id"]
    try:
        # One request whatever the job's state: the broker also answers for dead letters.
        job = await dash.client.get_job(job_id)
    except JobNotFoundError:
        raise HTTPException(
            404, "No such job: it may have completed (completed jobs leave the queue)."
        ) from None
    dash.monitor.note_type(job.type)
    context = {"page": "jobs", "job": job, "dead": job.status == DEAD_LETTER}
    return render(request, "job.html", context)
