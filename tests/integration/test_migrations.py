"""Migrations build the same schema as the models, up from empty, on both databases."""

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect
from sqlmodel import SQLModel

from crm import migrate
from crm.db import make_engine


def test_upgrade_from_empty_matches_the_models_and_downgrades(db_url: str) -> None:
    engine = make_engine(db_url)
    try:
        assert migrate.current_revision(engine) is None
        migrate.upgrade(engine)
        assert migrate.is_current(engine)
        with engine.connect() as connection:
            context = MigrationContext.configure(connection, opts={"compare_type": True})
            assert compare_metadata(context, SQLModel.metadata) == []
        assert {"contact", "followup", "auditlog"} <= set(inspect(engine).get_table_names())
        migrate.downgrade(engine, "base")
        assert "contact" not in inspect(engine).get_table_names()
    finally:
        engine.dispose()


def test_sqlite_tables_never_reuse_ids_after_migrating_a_populated_database(
    tmp_path,
) -> None:  # type: ignore[no-untyped-def]
    """A database at 0002 with data (a contact, its phone) is rebuilt by 0004: rows and
    foreign keys survive, and a deleted top id is not handed out again."""
    from sqlalchemy import text

    engine = make_engine(f"sqlite:///{tmp_path / 'old.db'}")
    try:
        migrate.upgrade(engine, "0002")
        with engine.begin() as c:
            c.execute(
                text(
                    "INSERT INTO contact (id, name, tags, opted_out, custom_fields, "
                    "created_via, search_text, created_at, updated_at) VALUES "
                    "(1, 'Ann', '[]', 0, '{}', 'shell', 'ann', '2026-01-01', "
                    "'2026-01-01'), (2, 'Bo', '[]', 0, '{}', 'shell', 'bo', "
                    "'2026-01-01', '2026-01-01')"
                )
            )
            c.execute(
                text(
                    "INSERT INTO contactpoint (contact_id, kind, value, position, "
                    "created_at) VALUES (2, 'phone', '+15550001', 0, '2026-01-01')"
                )
            )
        migrate.upgrade(engine)
        with engine.begin() as c:
            sql = c.execute(text("SELECT sql FROM sqlite_master WHERE name='contact'")).scalar()
            assert "AUTOINCREMENT" in sql.upper()
            assert c.execute(text("SELECT count(*) FROM contactpoint")).scalar() == 1
            c.execute(text("DELETE FROM contact WHERE id = 2"))  # cascades to the phone
            assert c.execute(text("SELECT count(*) FROM contactpoint")).scalar() == 0
            c.execute(
                text(
                    "INSERT INTO contact (name, tags, opted_out, custom_fields, "
                    "created_via, search_text, created_at, updated_at) VALUES "
                    "('Cy', '[]', 0, '{}', 'shell', 'cy', '2026-01-01', '2026-01-01')"
                )
            )
            assert c.execute(text("SELECT max(id) FROM contact")).scalar() == 3
        migrate.downgrade(engine, "0002")
        with engine.connect() as c:
            sql = c.execute(text("SELECT sql FROM sqlite_master WHERE name='contact'")).scalar()
            assert "AUTOINCREMENT" not in sql.upper()
    finally:
        engine.dispose()


def test_0013_moves_the_apis_external_ids_into_the_one_table_and_back(db_url: str) -> None:
    """At 0004 the API kept (system, id) -> contact in `externalref` and the import its own
    `externalid` rows; after 0013 both are `externalid` rows (system lower-cased, a pair
    both held kept once), `externalref` is gone, and the downgrade brings it back."""
    from sqlalchemy import text

    engine = make_engine(db_url)
    try:
        migrate.upgrade(engine, "0004")
        with engine.begin() as c:
            for name in ("Ann", "Bo"):
                c.execute(
                    text(
                        "INSERT INTO contact (name, tags, opted_out, custom_fields, created_via,"
                        " search_text, created_at, updated_at) VALUES (:n, '[]', false, '{}',"
                        " 'api', :s, '2026-01-01', '2026-01-01')"
                    ),
                    {"n": name, "s": name.lower()},
                )
            ann, bo = c.execute(text("SELECT id FROM contact ORDER BY id")).scalars().all()
            c.execute(
                text(
                    "INSERT INTO externalref (contact_id, system, external_id, created_at) VALUES"
                    " (:a, 'Billing', 'cus_1', '2026-01-02'), (:b, 'hubspot', '501', '2026-01-02')"
                ),
                {"a": ann, "b": bo},
            )
            c.execute(
                text(
                    "INSERT INTO externalid (source, entity_type, external_id, entity_id,"
                    " created_at) VALUES ('hubspot', 'contact', '501', :b, '2026-01-01'),"
                    " ('hubspot', 'company', '501', 77, '2026-01-01')"
                ),
                {"b": bo},
            )
        migrate.upgrade(engine)
        assert "externalref" not in inspect(engine).get_table_names()
        with engine.connect() as c:
            rows = c.execute(
                text(
                    "SELECT source, entity_type, external_id, entity_id FROM externalid"
                    " ORDER BY source, entity_type"
                )
            ).all()
        assert [tuple(r) for r in rows] == [
            ("billing", "contact", "cus_1", ann),
            ("hubspot", "company", "501", 77),
            ("hubspot", "contact", "501", bo),
        ]
        migrate.downgrade(engine, "0004")
        with engine.connect() as c:
            back = c.execute(
                text("SELECT system, external_id, contact_id FROM externalref ORDER BY id")
            ).all()
        assert sorted(tuple(r) for r in back) == [("billing", "cus_1", ann), ("hubspot", "501", bo)]
    finally:
        engine.dispose()
