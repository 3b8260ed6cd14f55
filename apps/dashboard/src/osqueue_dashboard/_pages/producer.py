"""Producer `/producer`: submit one job from a form."""

from __future__ import annotations

from urllib.parse import urlencode

from osqueue_types import InvalidRequestError, PayloadTooLargeError
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from .._context import get_dashboard, render
from .._forms import JobForm, validate
from .._security import check_csrf


def _form_page(request: Request, form: JobForm, **extra: object) -> Response:
    dash = get_dashboard(request)
    context = {
        "page": "producer",
        "form": form,
        "errors": {},
        "types": dash.monitor.types_seen(),
        "submitted": request.query_params.get("submitted"),
        "error": None,
        **extra,
    }
    return render(request, "producer.html", context, status_code=400 if extra.get("errors") else 200)


async def producer(request: Request) -> Response:
    # After a submission the type stays filled in, for the next job of the same kind.
    return _form_page(request, JobForm(type=request.query_params.get("type", "")))


async def submit(request: Request) -> Response:
    dash = get_dashboard(request)
    fields = await request.form()
    check_csrf(request, fields.get("csrf_token"))
    form = JobForm.from_fields({key: value for key, value in fields.items() if isinstance(value, str)})
    checked = validate(form)
    if checked.job is None:
        return _form_page(request, form, errors=checked.errors, submitted=None)
    job = checked.job
    try:
        job_id = await dash.client.submit(
            job.type, job.payload, max_attempts=job.max_attempts, delay=job.delay, priority=job.priority
        )
    except (InvalidRequestError, PayloadTooLargeError) as exc:
        return _form_page(request, form, errors={"payload": exc.message}, submitted=None)
    dash.monitor.note_type(job.type)
    # Post/redirect/get: reloading the result page does not submit the job again.
    query = urlencode({"submitted": job_id, **({"type": job.type} if job.type else {})})
    return RedirectResponse(f"/producer?{query}", status_code=303)
