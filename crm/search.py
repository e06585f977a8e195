"""Fuzzy contact search and contact references ("jane", "#42", "jane@acme.com").

Two stages keep it fast at 100k contacts: the database narrows the field with
substring matches on the denormalised `search_text` column, and rapidfuzz ranks
what is left. Only when nothing matches literally (a typo) do we rank every
contact's name, in the process, with rapidfuzz's C implementation; above
FULL_PASS_CONTACTS contacts that last pass keeps to names starting with the
query's first letter (a query matching nobody took ~4 s at 1M contacts, now a
fraction of that; a typo in the very first letter of a name with no three
letters in common with it is then not found, and the rep gets "no contact").
"""

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from rapidfuzz import fuzz, process
from sqlalchemy import ColumnElement
from sqlmodel import Session, and_, col, func, or_, select

from crm.errors import Invalid, NotFound
from crm.ids import id_of
from crm.models import Company, Contact, ContactPoint
from crm.references import by_name, fold, name_forms
from crm.validation import normalise_email, normalise_phone

PREFILTER_LIMIT = 400
FULL_PASS_CONTACTS = 100_000
FUZZY_CUTOFF = 62.0
ID_REF = re.compile(r"^#?(\d{1,12})$")
PHONEISH = re.compile(r"^\+?[\d\s().-]{7,}$")


@dataclass(frozen=True)
class Match:
    contact: Contact
    score: float


def _tokens(query: str) -> list[str]:
    """Accent-free, case-folded words: `José` and `jose` look for the same thing (the
    search column is folded the same way, see crm.contacts.refresh_search_text)."""
    return [t for t in re.split(r"\s+", fold(query).strip()) if t][:6]


def _escape_like(token: str) -> str:
    return token.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


Candidate = tuple[int, str, str]  # id, name, search_text


def _like(token: str) -> ColumnElement[bool]:
    return col(Contact.search_text).like(f"%{_escape_like(token)}%", escape="\\")


def _candidates(session: Session, condition: ColumnElement[bool]) -> list[Candidate]:
    statement = (
        select(Contact.id, Contact.name, Contact.search_text)
        .where(condition)
        .limit(PREFILTER_LIMIT)
    )
    rows = session.exec(statement)
    return [(row[0], row[1], row[2]) for row in rows if row[0] is not None]  # ids: never NULL


def _trigrams(tokens: list[str]) -> list[str]:
    grams = {t[i : i + 3] for t in tokens if len(t) >= 3 for i in range(len(t) - 2)}
    return sorted(grams)[:24]


def _typo_candidates(session: Session, query: str) -> list[Candidate]:
    """Last resort for a query sharing no three letters with anyone: rapidfuzz's C
    scorer over every contact's name (short strings keep this pass cheap); on a large
    store only over names with the query's first letter (see the module docstring)."""
    statement = select(Contact.id, Contact.name)
    if _larger_than(session, FULL_PASS_CONTACTS) and query.strip():
        first = _escape_like(query.strip()[0])
        statement = statement.where(col(Contact.search_text).like(f"{first}%", escape="\\"))
    rows = session.exec(statement).all()
    names = {row[0]: fold(row[1]) for row in rows}
    best = process.extract(query, names, scorer=fuzz.WRatio, limit=50, score_cutoff=55)
    keep = [key for _name, _score, key in best]
    if not keep:
        return []
    return _candidates(session, col(Contact.id).in_(keep))


def _larger_than(session: Session, n: int) -> bool:
    """About more than n contacts: the highest id, read off the primary key's index."""
    highest = session.exec(select(func.max(Contact.id))).one()
    return (highest or 0) > n


def _stages(
    session: Session, query: str, tokens: list[str]
) -> Iterator[Callable[[], list[Candidate]]]:
    """Ever wider nets, each tried only when the narrower one caught nothing good:
    every word literally, any word literally, shared trigrams, then everyone."""
    yield lambda: _candidates(session, and_(*[_like(t) for t in tokens]))
    words = [t for t in tokens if len(t) >= 2]
    if len(tokens) > 1 and words:  # or_() of nothing is an error in SQLAlchemy 2.1
        yield lambda: _candidates(session, or_(*[_like(t) for t in words]))
    if grams := _trigrams(tokens):
        yield lambda: _candidates(session, or_(*[_like(g) for g in grams]))
    yield lambda: _typo_candidates(session, fold(query))


def _score(query: str, name: str, text: str) -> float:
    """Best of: the name as a whole, the query's words inside the contact, a substring."""
    return max(
        fuzz.WRatio(query, fold(name)),
        0.95 * fuzz.token_set_ratio(query, text),
        0.9 * fuzz.partial_ratio(query, text),
    )


def _rank(query: str, candidates: list[Candidate], limit: int) -> list[tuple[int, float]]:
    q = fold(query).strip()
    scored = [(cid, _score(q, name, fold(text))) for cid, name, text in candidates]
    scored = [(cid, score) for cid, score in scored if score >= FUZZY_CUTOFF]
    scored.sort(key=lambda item: (-item[1], item[0]))
    return scored[:limit]


def search_contacts(session: Session, query: str, *, limit: int = 5) -> list[Match]:
    """The best `limit` contacts for `query`, best first."""
    tokens = _tokens(query)
    if not tokens:
        return []
    exact = _by_point(session, query)
    if exact is not None:
        return [Match(exact, 100.0)]
    ranked: list[tuple[int, float]] = []
    for stage in _stages(session, query, tokens):
        ranked = _rank(query, stage(), limit)
        if ranked:
            break
    contacts = {
        c.id: c
        for c in session.exec(
            select(Contact).where(col(Contact.id).in_([key for key, _ in ranked]))
        )
    }
    return [Match(contacts[key], score) for key, score in ranked if key in contacts]


def _by_point(session: Session, text: str) -> Contact | None:
    """Exact look-up when the text is an email address or a phone number."""
    value: str | None = None
    kind = "email"
    try:
        if "@" in text and " " not in text.strip():
            value = normalise_email(text)
        elif PHONEISH.match(text.strip()):
            kind, value = "phone", normalise_phone(text)
    except Invalid:
        return None
    if value is None:
        return None
    point = session.exec(
        select(ContactPoint).where(ContactPoint.kind == kind, ContactPoint.value == value)
    ).first()
    return session.get(Contact, point.contact_id) if point else None


def _pool(session: Session, text: str, limit: int = 50) -> list[Contact]:
    """The contacts worth comparing by name: the search's best, plus exact names."""
    pool = {m.contact.id: m.contact for m in search_contacts(session, text, limit=limit)}
    folded = fold(text)
    for contact in session.exec(
        select(Contact).where(func.lower(Contact.name) == folded).limit(limit)
    ):
        pool.setdefault(contact.id, contact)
    return list(pool.values())


def namesakes(session: Session, name: str) -> list[Contact]:
    """Contacts already called exactly `name` (case, accents and spacing aside): `add`
    asks before a second one when nothing else tells the two apart."""
    wanted = fold(name)
    return sorted(
        (c for c in _pool(session, name) if wanted in name_forms(c.name)), key=lambda c: id_of(c)
    )


def _by_id_or_point(session: Session, text: str) -> Contact | None:
    if (m := ID_REF.match(text)) is not None:
        contact = session.get(Contact, int(m.group(1)))
        if contact is None:
            raise NotFound(f"There is no contact #{m.group(1)}.")
        return contact
    exact = _by_point(session, text)
    if exact is not None:
        return exact
    if ("@" in text and " " not in text) or PHONEISH.match(text):
        raise NotFound(f"No contact has {text[:60]}. Try `find {text[:30]}`.")
    return None


def resolve_contact(session: Session, ref: str) -> Contact:
    """One contact for a reference, most exact match first (see crm.references), or
    NotFound (with suggestions) / Ambiguous (with the candidates; nothing is done)."""
    text = ref.strip().strip('"').strip("'").strip()
    if not text:
        raise NotFound("Which contact? Give a name, an email or #id.")
    found = _by_id_or_point(session, text)
    if found is not None:
        return found
    pool = _pool(session, text)
    return by_name(
        text,
        [(c, c.name) for c in pool],
        what="contact",
        plural="contacts",
        hint=f" Try `find {text[:30]}` or `add`.",
    )


def _companies(session: Session, text: str, limit: int = 200) -> list[Company]:
    return companies_matching(session, text, limit=limit, every_word=False)


def companies_matching(
    session: Session, text: str, *, limit: int, every_word: bool = True
) -> list[Company]:
    """Companies whose name holds the words of `text`, accents and case aside.

    `name_key` (the dedupe key) is case-folded but keeps accents, so the words are
    tried as typed (`müller`) and accent-free (`muller`); when neither finds a company
    whose key holds them, the names are folded here, so `muller` still finds Müller
    GmbH. That last pass reads every company's name, which only a search that found
    nothing in SQL pays for."""
    typed = [w for w in " ".join(text.split()).casefold().split() if w][:4]
    plain = [w for w in fold(text).split() if w][:4]
    if not plain:
        return []
    join = and_ if every_word else or_
    found: dict[int, Company] = {}
    for words in dict.fromkeys((tuple(typed), tuple(plain))):
        like = [col(Company.name_key).like(f"%{_escape_like(w)}%", escape="\\") for w in words]
        for company in session.exec(select(Company).where(join(*like)).limit(limit)):
            found.setdefault(id_of(company), company)
    if found:
        return list(found.values())[:limit]
    wanted = all if every_word else any
    ids = [
        company_id
        for company_id, name in session.exec(select(Company.id, Company.name))
        if wanted(w in fold(name) for w in plain)
    ][:limit]
    if not ids:
        return []
    return list(session.exec(select(Company).where(col(Company.id).in_(ids))))


def resolve_party(session: Session, ref: str) -> Contact | Company:
    """A contact or a company (for `show`, `deal`, `edit`): the same ladder over both."""
    text = ref.strip().strip('"').strip("'").strip()
    if not text:
        raise NotFound("Which contact or company?")
    found = _by_id_or_point(session, text)
    if found is not None:
        return found
    items: list[tuple[Contact | Company, str]] = [(c, c.name) for c in _pool(session, text)]
    items += [(c, c.name) for c in _companies(session, text)]
    return by_name(
        text,
        items,
        what="contact or company",
        plural="contacts and companies",
        hint=f" Try `find {text[:30]}`.",
    )
