"""A job type's handler: how it is called and what payload type it expects.

The signature is inspected once, at registration: `fn(payload)` or `fn(payload, ctx)`, sync
or async. When the payload parameter is annotated (a msgspec Struct, dataclass, TypedDict,
`list[int]`, a pydantic model ...), the job's JSON is decoded into that type before the call,
and a payload that does not fit is a validation failure rather than a handler crash.
"""

from __future__ import annotations

import asyncio
import contextvars
import inspect
from collections.abc import Callable
from concurrent.futures import Executor, Future
from dataclasses import dataclass
from typing import Any

import msgspec
import msgspec.inspect
from osqueue_client import ClaimedJob
from osqueue_types import PayloadValidationError

from ._context import JobContext

HandlerFunc = Callable[..., Any]
"""`fn(payload)` or `fn(payload, ctx)`; a coroutine function or a plain function."""

PayloadDecoder = Callable[[bytes], Any]

_POSITIONAL = (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)


@dataclass(frozen=True, slots=True)
class Handler:
    job_type: str
    func: HandlerFunc
    takes_context: bool
    is_async: bool
    # Decodes the raw JSON into the annotated payload type; None: use the client's value.
    decoder: PayloadDecoder | None

    @classmethod
    def from_function(cls, job_type: str, func: HandlerFunc) -> Handler:
        if not callable(func):
            raise TypeError(f"handler for {job_type!r} is not callable: {func!r}")
        signature = _signature(func)
        params = list(signature.parameters.values())
        positional = [p for p in params if p.kind in _POSITIONAL]
        var_positional = any(p.kind is inspect.Parameter.VAR_POSITIONAL for p in params)
        required = [p for p in positional if p.default is inspect.Parameter.empty]
        required_kw = [
            p
            for p in params
            if p.kind is inspect.Parameter.KEYWORD_ONLY and p.default is inspect.Parameter.empty
        ]
        if (not positional and not var_positional) or len(required) > 2 or required_kw:
            raise TypeError(
                f"handler for {job_type!r} must accept (payload) or (payload, ctx); got {func!r}{signature}"
            )
        return cls(
            job_type=job_type,
            func=func,
            takes_context=len(positional) >= 2 or var_positional,
            is_async=_is_coroutine_function(func),
            decoder=_decoder_for(
                job_type, positional[0].annotation if positional else inspect.Parameter.empty
            ),
        )

    def payload_for(self, job: ClaimedJob) -> Any:
        """The payload to pass to the handler; raises PayloadValidationError when it does not fit."""
        if job.payload_error is not None:
            raise job.payload_error
        if self.decoder is None:
            return job.payload
        try:
            return self.decoder(job.raw_payload)
        except (msgspec.ValidationError, msgspec.DecodeError, ValueError) as exc:
            raise PayloadValidationError(
                f"payload of job {job.id} does not fit the {self.job_type!r} handler: {exc}"
            ) from exc

    def start(
        self, payload: Any, ctx: JobContext, executor: Executor | None
    ) -> tuple[asyncio.Future[Any], Future[Any] | None]:
        """Start the handler: an async one in a task, a sync one in a thread of `executor`.

        Returns the future to await for its outcome and, for a sync handler, the future of its
        thread. Cancelling the first cuts an async handler short, but a thread cannot be
        stopped: it runs on until the handler returns, which the second future tells.
        """
        args = (payload, ctx) if self.takes_context else (payload,)
        if self.is_async:
            return asyncio.create_task(self._run_async(args)), None
        try:
            if executor is None:
                raise RuntimeError(f"the sync handler for {self.job_type!r} has no thread pool")
            thread = executor.submit(contextvars.copy_context().run, self.func, *args)
        except RuntimeError as exc:  # a pool shut down: the handler fails, as if it raised
            failed: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
            failed.set_exception(exc)
            return failed, None
        return asyncio.wrap_future(thread), thread

    async def _run_async(self, args: tuple[Any, ...]) -> Any:
        return await self.func(*args)


def _signature(func: HandlerFunc) -> inspect.Signature:
    try:
        return inspect.signature(func, eval_str=True)
    except NameError:
        # A forward reference that cannot be resolved: keep the raw annotations.
        return inspect.signature(func)


def _is_coroutine_function(func: HandlerFunc) -> bool:
    if inspect.iscoroutinefunction(func):
        return True
    # A callable object whose __call__ is a coroutine function.
    return inspect.iscoroutinefunction(type(func).__call__)


def _decoder_for(job_type: str, annotation: Any) -> PayloadDecoder | None:
    if annotation in (inspect.Parameter.empty, Any, object) or isinstance(annotation, str):
        return None
    pydantic_validate = getattr(annotation, "model_validate_json", None)
    if callable(pydantic_validate):
        return pydantic_validate  # type: ignore[no-any-return]
    try:
        # msgspec accepts any class here but could never decode JSON into a plain one.
        if isinstance(msgspec.inspect.type_info(annotation), msgspec.inspect.CustomType):
            raise TypeError("not a Struct, dataclass, TypedDict, attrs class or JSON type")
        return msgspec.json.Decoder(annotation).decode
    except TypeError as exc:
        raise TypeError(
            f"handler for {job_type!r}: its payload annotation {annotation!r} is not a type "
            f"osqueue can decode JSON into ({exc})"
        ) from exc
