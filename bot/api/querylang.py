"""The filter language of `POST /api/v1/query`, compiled to SQLAlchemy safely.

    {"object": "contact", "fields": ["id", "name", "emails", "phones"],
     "where": {"and": [{"field": "email", "op": "eq", "value": "jane@acme.com"},
                       {"or": [{"field": "tag", "op": "contains", "value": "vip"},
                               {"field": "created_at", "op": "gte",
                                "value": "2026-01-01T00:00:00Z"}]}]}}

A condition is `{"field", "op", "value"}` with op one of eq, ne, lt, lte, gt, gte, in,
contains; `and` / `or` take a list, `not` one condition. Only allow-listed fields
compile; every value is coerced to the field's type and bound as a parameter, so
no text from the request ever becomes SQL. Nesting and size are bounded.
"""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from pydantic import TypeAdapter, ValidationError
from sqlalchemy import ColumnElement, and_, not_, or_
from sqlmodel import col, select

from crm.errors import Invalid
from crm.models import Activity, Company, Contact, ContactPoint, Deal, FollowUp, Purchase
from crm.validation import normalise_email, normalise_tag

OPS = ("eq", "ne", "lt", "lte", "gt", "gte", "in", "contains")
MAX_DEPTH = 6
MAX_NODES = 100
MAX_IN = 500


def _escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


@dataclass(frozen=True)
class FieldSpec:
    column: Any
    kind: type  # int, str, bool, datetime, date
    ops: tuple[str, ...] = OPS
    build: Callable[[str, Any], Any] | None = None  # for computed fields


def _point(kind: str) -> Callable[[str, Any], Any]:
    def build(op: str, value: Any) -> Any:
        column = col(ContactPoint.value)
        if op == "eq":
            cond = column == (normalise_email(value) if kind == "email" else value)
        elif op == "in":
            cond = column.in_([normalise_email(v) if kind == "email" else v for v in value])
        else:  # contains
            cond = column.like(f"%{_escape(value.lower())}%", escape="\\")
        sub = select(ContactPoint.contact_id).where(ContactPoint.kind == kind, cond)
        return col(Contact.id).in_(sub)

    return build


def _tag(op: str, value: Any) -> Any:
    padded = " " + col(Contact.search_text) + " "
    if op == "in":
        return or_(*[padded.like(f"% #{normalise_tag(v)} %") for v in value])
    return padded.like(f"% #{normalise_tag(value)} %")


def _company_name(op: str, value: Any) -> Any:
    column = col(Company.name_key)
    cond: ColumnElement[bool]
    if op == "contains":
        cond = column.like(f"%{_escape(value.casefold())}%", escape="\\")
    else:
        cond = column == " ".join(value.split()).casefold()
    return col(Contact.company_id).in_(select(Company.id).where(cond))


OBJECTS: dict[str, tuple[Any, dict[str, FieldSpec]]] = {
    "contact": (
        Contact,
        {
            "id": FieldSpec(col(Contact.id), int),
            "name": FieldSpec(col(Contact.name), str),
            "company_id": FieldSpec(col(Contact.company_id), int),
            "owner_id": FieldSpec(col(Contact.owner_id), int),
            "opted_out": FieldSpec(col(Contact.opted_out), bool, ("eq", "ne")),
            "timezone": FieldSpec(col(Contact.timezone), str),
            "created_via": FieldSpec(col(Contact.created_via), str),
            "created_at": FieldSpec(col(Contact.created_at), datetime),
            "updated_at": FieldSpec(col(Contact.updated_at), datetime),
            "last_activity_at": FieldSpec(col(Contact.last_activity_at), datetime),
            "email": FieldSpec(None, str, ("eq", "in", "contains"), _point("email")),
            "phone": FieldSpec(None, str, ("eq", "in", "contains"), _point("phone")),
            "tag": FieldSpec(None, str, ("eq", "in", "contains"), _tag),
            "company": FieldSpec(None, str, ("eq", "contains"), _company_name),
        },
    ),
    "deal": (
        Deal,
        {
            "id": FieldSpec(col(Deal.id), int),
            "title": FieldSpec(col(Deal.title), str),
            "stage": FieldSpec(col(Deal.stage), str),
            "status": FieldSpec(col(Deal.status), str),
            "amount_minor": FieldSpec(col(Deal.amount_minor), int),
            "currency": FieldSpec(col(Deal.currency), str),
            "owner_id": FieldSpec(col(Deal.owner_id), int),
            "contact_id": FieldSpec(col(Deal.contact_id), int),
            "company_id": FieldSpec(col(Deal.company_id), int),
            "expected_close": FieldSpec(col(Deal.expected_close), date),
            "closed_at": FieldSpec(col(Deal.closed_at), datetime),
            "created_at": FieldSpec(col(Deal.created_at), datetime),
            "updated_at": FieldSpec(col(Deal.updated_at), datetime),
        },
    ),
    "activity": (
        Activity,
        {
            "id": FieldSpec(col(Activity.id), int),
            "contact_id": FieldSpec(col(Activity.contact_id), int),
            "deal_id": FieldSpec(col(Activity.deal_id), int),
            "rep_id": FieldSpec(col(Activity.rep_id), int),
            "kind": FieldSpec(col(Activity.kind), str),
            "text": FieldSpec(col(Activity.text), str, ("eq", "contains")),
            "occurred_at": FieldSpec(col(Activity.occurred_at), datetime),
        },
    ),
    "company": (
        Company,
        {
            "id": FieldSpec(col(Company.id), int),
            "name": FieldSpec(col(Company.name), str),
            "domain": FieldSpec(col(Company.domain), str),
            "created_at": FieldSpec(col(Company.created_at), datetime),
            "updated_at": FieldSpec(col(Company.updated_at), datetime),
        },
    ),
    "purchase": (
        Purchase,
        {
            "id": FieldSpec(col(Purchase.id), int),
            "contact_id": FieldSpec(col(Purchase.contact_id), int),
            "company_id": FieldSpec(col(Purchase.company_id), int),
            "deal_id": FieldSpec(col(Purchase.deal_id), int),
            "rep_id": FieldSpec(col(Purchase.rep_id), int),
            "purchased_at": FieldSpec(col(Purchase.purchased_at), datetime),
            "amount_minor": FieldSpec(col(Purchase.amount_minor), int),
            "currency": FieldSpec(col(Purchase.currency), str),
            "quantity": FieldSpec(col(Purchase.quantity), int),
            "reference": FieldSpec(col(Purchase.reference), str),
            "source": FieldSpec(col(Purchase.source), str),
            "anonymised": FieldSpec(col(Purchase.anonymised), bool, ("eq", "ne")),
            "created_at": FieldSpec(col(Purchase.created_at), datetime),
        },
    ),
    "followup": (
        FollowUp,
        {
            "id": FieldSpec(col(FollowUp.id), int),
            "kind": FieldSpec(col(FollowUp.kind), str),
            "status": FieldSpec(col(FollowUp.status), str),
            "due_at": FieldSpec(col(FollowUp.due_at), datetime),
            "rep_id": FieldSpec(col(FollowUp.rep_id), int),
            "contact_id": FieldSpec(col(FollowUp.contact_id), int),
            "text": FieldSpec(col(FollowUp.text), str, ("eq", "contains")),
            "created_at": FieldSpec(col(FollowUp.created_at), datetime),
        },
    ),
}

# Rows every query of the object is limited to, whatever `where` says: the follow-ups the
# API shows (reminders and customer follow-ups; the scheduler's digests, nudges, surveys
# and notices are internal), as GET /followups does.
SCOPE: dict[str, Any] = {
    "followup": col(FollowUp.kind).in_(["reminder", "customer"]),
}

_ADAPTERS: dict[type, TypeAdapter[Any]] = {
    kind: TypeAdapter(kind) for kind in (int, str, bool, datetime, date)
}


def _coerce(name: str, spec: FieldSpec, value: Any) -> Any:
    try:
        out = _ADAPTERS[spec.kind].validate_python(value, strict=spec.kind in (int, bool, str))
    except ValidationError:
        raise Invalid(f"where.{name}", f"{name} takes a {spec.kind.__name__} value.") from None
    if isinstance(out, datetime) and out.tzinfo is None:
        out = out.replace(tzinfo=UTC)
    if isinstance(out, str) and len(out) > 500:
        raise Invalid(f"where.{name}", "Values are at most 500 characters.")
    return out


class _Compiler:
    def __init__(self, fields: dict[str, FieldSpec]) -> None:
        self.fields = fields
        self.nodes = 0

    def node(self, tree: Any, depth: int) -> Any:
        self.nodes += 1
        if depth > MAX_DEPTH or self.nodes > MAX_NODES:
            raise Invalid("where", f"Keep a filter under {MAX_DEPTH} levels and {MAX_NODES} parts.")
        if not isinstance(tree, dict) or not tree:
            raise Invalid("where", "Each part of `where` is an object.")
        for joiner, combine in (("and", and_), ("or", or_)):
            if joiner in tree:
                parts = tree[joiner]
                if len(tree) != 1 or not isinstance(parts, list) or not parts:
                    raise Invalid("where", f"`{joiner}` takes a non-empty list and nothing else.")
                return combine(*[self.node(p, depth + 1) for p in parts])
        if "not" in tree:
            if len(tree) != 1:
                raise Invalid("where", "`not` takes one condition and nothing else.")
            return not_(self.node(tree["not"], depth + 1))
        return self.condition(tree)

    def condition(self, tree: dict[str, Any]) -> Any:
        if set(tree) != {"field", "op", "value"}:
            raise Invalid("where", 'A condition is {"field": ..., "op": ..., "value": ...}.')
        name, op, raw = tree["field"], tree["op"], tree["value"]
        spec = self.fields.get(name) if isinstance(name, str) else None
        if spec is None:
            raise Invalid("where.field", f"Filter on one of {', '.join(sorted(self.fields))}.")
        if op not in spec.ops:
            raise Invalid(f"where.{name}", f"{name} takes the operators {', '.join(spec.ops)}.")
        if op == "in":
            if not isinstance(raw, list) or not raw or len(raw) > MAX_IN:
                raise Invalid(f"where.{name}", f"`in` takes a list of 1 to {MAX_IN} values.")
            value: Any = [_coerce(name, spec, v) for v in raw]
        else:
            value = _coerce(name, spec, raw)
        if op == "contains" and not isinstance(value, str):
            raise Invalid(f"where.{name}", "`contains` takes text.")
        if spec.build is not None:
            return spec.build(op, value)
        column = spec.column
        return {
            "eq": lambda: column == value,
            "ne": lambda: column != value,
            "lt": lambda: column < value,
            "lte": lambda: column <= value,
            "gt": lambda: column > value,
            "gte": lambda: column >= value,
            "in": lambda: column.in_(value),
            "contains": lambda: column.ilike(f"%{_escape(value)}%", escape="\\"),
        }[op]()


def compile_where(object_name: str, tree: Any) -> tuple[Any, Any]:
    """(model, SQLAlchemy condition or None) for `where` on `object_name`."""
    if object_name not in OBJECTS:
        raise Invalid("object", f"Query one of {', '.join(OBJECTS)}.")
    model, fields = OBJECTS[object_name]
    condition = None if tree is None else _Compiler(fields).node(tree, 1)
    scope = SCOPE.get(object_name)
    if scope is not None:
        condition = scope if condition is None else and_(scope, condition)
    return model, condition
