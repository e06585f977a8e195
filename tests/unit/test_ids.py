"""crm.ids.id_of and row_of: the typed ways to read an id that cannot be None."""

from datetime import UTC, datetime

import pytest
from sqlmodel import Session, SQLModel, create_engine

from crm.ids import MissingRow, UnsavedRow, id_of, row_of
from crm.models import Company

NOW = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)


@pytest.fixture
def session(tmp_path):
    engine = create_engine(f"sqlite:///{tmp_path / 'ids.db'}")
    SQLModel.metadata.create_all(engine)
    with Session(engine) as session:
        yield session
    engine.dispose()


def test_id_of_a_flushed_row_is_its_id(session: Session) -> None:
    company = Company(name="Acme", name_key="acme", created_at=NOW, updated_at=NOW)
    session.add(company)
    session.flush()
    assert company.id is not None
    assert id_of(company) == company.id


def test_id_of_an_unflushed_row_is_a_clear_error(session: Session) -> None:
    company = Company(name="Acme", name_key="acme", created_at=NOW, updated_at=NOW)
    session.add(company)
    with pytest.raises(UnsavedRow, match="Company has no id yet"):
        id_of(company)


def test_row_of_returns_the_row_and_names_a_missing_one(session: Session) -> None:
    company = Company(name="Acme", name_key="acme", created_at=NOW, updated_at=NOW)
    session.add(company)
    session.flush()
    assert row_of(session, Company, id_of(company)) is company
    with pytest.raises(MissingRow, match="Company #999 is missing"):
        row_of(session, Company, 999)
