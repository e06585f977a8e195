"""Pure parts of the API: the query language compiler, cursors, signing (the rate limit
is in the database: tests/integration/test_api_more.py)."""

import pytest

from bot.api import pagination
from bot.api.querylang import compile_where
from crm import webhooks
from crm.errors import Invalid


def test_a_condition_compiles_to_bound_parameters_never_to_sql_text() -> None:
    _model, condition = compile_where(
        "contact", {"field": "name", "op": "eq", "value": "x'; DROP TABLE contact; --"}
    )
    compiled = condition.compile()
    assert "DROP TABLE" not in str(compiled)
    assert "x'; DROP TABLE contact; --" in compiled.params.values()


@pytest.mark.parametrize(
    "where, field",
    [
        ({"field": "search_text", "op": "eq", "value": "a"}, "where.field"),
        ({"field": "id", "op": "like", "value": 1}, "where.id"),
        ({"field": "id", "op": "eq", "value": "1 OR 1=1"}, "where.id"),
        ({"field": "opted_out", "op": "gt", "value": True}, "where.opted_out"),
        ({"and": []}, "where"),
        ({"and": [{"field": "id", "op": "eq", "value": 1}], "or": []}, "where"),
        ({"field": "id", "op": "in", "value": list(range(501))}, "where.id"),
        ({"field": "id", "op": "eq"}, "where"),
    ],
)
def test_bad_filters_are_refused_naming_the_part(where: dict, field: str) -> None:
    with pytest.raises(Invalid) as error:
        compile_where("contact", where)
    assert error.value.field == field


def test_deep_nesting_is_refused() -> None:
    tree: dict = {"field": "id", "op": "eq", "value": 1}
    for _ in range(10):
        tree = {"not": tree}
    with pytest.raises(Invalid, match="levels"):
        compile_where("contact", tree)


def test_a_cursor_round_trips_and_refuses_another_sort_or_garbage() -> None:
    from datetime import UTC, datetime

    when = datetime(2026, 3, 2, 9, tzinfo=UTC)
    cursor = pagination.encode("-created_at", when, 42)
    assert pagination.decode(cursor, "-created_at") == (when, 42)
    for bad, sort in ((cursor, "name"), ("!!!", "id"), ("e30", "id")):
        with pytest.raises(Invalid):
            pagination.decode(bad, sort)


def test_a_signature_covers_the_timestamp_and_the_exact_body() -> None:
    signature = webhooks.sign("whsec_x", 1700000000, b'{"a":1}')
    assert webhooks.verify_signature("whsec_x", 1700000000, b'{"a":1}', signature)
    assert not webhooks.verify_signature("whsec_x", 1700000001, b'{"a":1}', signature)
    assert not webhooks.verify_signature("whsec_x", 1700000000, b'{"a": 1}', signature)
