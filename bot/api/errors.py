"""One place that turns errors into HTTP answers, so every route fails the same way.

Domain errors (crm/errors.py) keep their person-readable message; `Invalid` also
names the field and the reason. 422s carry FastAPI's own `detail` list as well, so
they match the documented validation-error schema.
"""

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from sqlalchemy import inspect as sa_inspect
from sqlalchemy.exc import DataError, NoInspectionAvailable

from crm.errors import Ambiguous, Conflict, CRMError, Forbidden, Invalid, NotFound

logger = logging.getLogger("rapport.api")


class ErrorBody(BaseModel):
    code: str
    message: str
    field: str | None = None
    reason: str | None = None
    existing_id: int | None = None
    candidates: list[int] | None = None


class ErrorOut(BaseModel):
    error: ErrorBody


class ApiError(Exception):
    """An HTTP-level refusal (auth, precondition, rate limit) with our error body."""

    def __init__(
        self, status: int, code: str, message: str, headers: dict[str, str] | None = None
    ) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message
        self.headers = headers or {}


def _body(code: str, message: str, **extra: Any) -> dict[str, Any]:
    return {"error": {"code": code, "message": message, **extra}}


def _id_of(row: Any) -> int | None:
    """The primary key of a row the error names, even once its session rolled back
    (reading `.id` then would try to reload the expired row)."""
    if row is None:
        return None
    try:
        identity = sa_inspect(row).identity
    except NoInspectionAvailable:
        return getattr(row, "id", None)
    return int(identity[0]) if identity else None


def domain_response(exc: CRMError) -> tuple[int, dict[str, Any]]:
    """(status, body) for a domain error; used by the handler and by bulk results."""
    if isinstance(exc, Invalid):
        body = _body("invalid", exc.reason, field=exc.field, reason=exc.reason)
        body["detail"] = [{"loc": ["body", exc.field], "msg": exc.reason, "type": "invalid"}]
        return 422, body
    if isinstance(exc, NotFound):
        return 404, _body("not_found", str(exc))
    if isinstance(exc, Forbidden):
        return 403, _body("forbidden", str(exc))
    if isinstance(exc, Ambiguous):
        ids = [_id_of(c) for c in exc.candidates]
        return 409, _body("ambiguous", str(exc), candidates=[i for i in ids if i is not None])
    if isinstance(exc, Conflict):
        existing = _id_of(exc.existing)
        if exc.field is not None:
            return 409, _body(
                "conflict", str(exc), existing_id=existing, field=exc.field, reason=str(exc)
            )
        return 409, _body("conflict", str(exc), existing_id=existing)
    return 400, _body("error", str(exc))


# Documented on every route, so clients (and schemathesis) know each answer's shape.
COMMON_RESPONSES: dict[int | str, dict[str, Any]] = {
    400: {"model": ErrorOut, "description": "Bad request"},
    401: {"model": ErrorOut, "description": "Missing or unknown token"},
    403: {"model": ErrorOut, "description": "The token lacks the scope"},
    404: {"model": ErrorOut, "description": "Not found"},
    409: {"model": ErrorOut, "description": "Conflict (duplicate, ambiguous, key reuse)"},
    412: {"model": ErrorOut, "description": "If-Match does not match the current ETag"},
    429: {"model": ErrorOut, "description": "Rate limited; see Retry-After"},
    503: {"model": ErrorOut, "description": "A needed part (e.g. a channel) is not running"},
}


def install(app: FastAPI) -> None:
    @app.exception_handler(CRMError)
    async def crm_error(_request: Request, exc: CRMError) -> JSONResponse:
        status, body = domain_response(exc)
        return JSONResponse(body, status_code=status)

    @app.exception_handler(ApiError)
    async def api_error(_request: Request, exc: ApiError) -> JSONResponse:
        return JSONResponse(
            _body(exc.code, exc.message), status_code=exc.status, headers=exc.headers
        )

    @app.exception_handler(RequestValidationError)
    async def validation_error(_request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = exc.errors()
        first = errors[0] if errors else {"loc": (), "msg": "invalid request"}
        field = ".".join(str(p) for p in first.get("loc", ())[1:]) or None
        body = _body("invalid", str(first.get("msg")), field=field, reason=str(first.get("msg")))
        body["detail"] = [
            {"loc": list(e.get("loc", ())), "msg": str(e.get("msg")), "type": str(e.get("type"))}
            for e in errors
        ]
        return JSONResponse(body, status_code=422)

    @app.exception_handler(DataError)
    async def data_error(_request: Request, _exc: DataError) -> JSONResponse:
        # The database refused a value the schema allowed: a NUL character in text
        # (PostgreSQL), a number out of a column's range. The caller's input, so a 422.
        reason = "A value cannot be stored (a NUL character, or a number out of range)."
        body = _body("invalid", reason, reason=reason)
        body["detail"] = [{"loc": ["body"], "msg": reason, "type": "invalid"}]
        return JSONResponse(body, status_code=422)

    @app.exception_handler(Exception)
    async def unexpected(request: Request, exc: Exception) -> JSONResponse:
        logger.error(
            "api error method=%s path=%s error=%s",
            request.method,
            request.url.path,
            type(exc).__name__,
            exc_info=exc,
        )
        return JSONResponse(_body("internal", "Something went wrong on our side."), 500)
