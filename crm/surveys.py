"""Satisfaction surveys: which closed conversations to ask about, and storing the answer.

A survey is a FollowUp of kind `survey` keyed `survey:<conversation id>`, so
whichever worker runs the rule, each closed conversation is asked once. The
customer's next message, if it is a score from 1 to 5 sent within
ANSWER_WINDOW of the question, is stored on `Conversation.satisfaction`.
"""

import re
from datetime import datetime, timedelta

from sqlmodel import Session, col, select

from crm import audit
from crm.actors import Actor
from crm.enums import ActorKind, FollowUpKind, FollowUpStatus
from crm.ids import id_of
from crm.models import Contact, Conversation, FollowUp

PREFIX = "survey:"
ANSWER_WINDOW = timedelta(days=3)
REPEAT_WINDOW = timedelta(minutes=10)
LOOKBACK = timedelta(days=2)  # conversations closed longer ago are not surveyed late
SCORE = re.compile(r"^\D{0,20}?([1-5])(?:\s*(?:/|out of|of)\s*5)?\D{0,30}$", re.IGNORECASE)
WORDS = {"one": 1, "two": 2, "three": 3, "four": 4, "five": 5}


def survey_key(conversation_id: int) -> str:
    return f"{PREFIX}{conversation_id}"


def parse_score(text: str) -> int | None:
    """`5`, `4/5`, `I'd say 4!`, `five` -> the score; anything longer or unclear -> None."""
    clean = text.strip().lower()
    if not clean or len(clean) > 60:
        return None
    if clean.rstrip(".!") in WORDS:
        return WORDS[clean.rstrip(".!")]
    match = SCORE.match(clean)
    return int(match.group(1)) if match else None


def conversations_to_survey(session: Session, *, now: datetime) -> list[Conversation]:
    """Recently closed conversations without a score, whose customer has not opted out."""
    asked = select(FollowUp.dedupe_key).where(
        FollowUp.kind == FollowUpKind.SURVEY,
        col(FollowUp.dedupe_key).is_not(None),
        FollowUp.created_at >= now - LOOKBACK - timedelta(days=1),  # surveys follow closing
    )
    rows = session.exec(
        select(Conversation)
        .join(Contact, col(Contact.id) == col(Conversation.contact_id))
        .where(
            Conversation.status == "closed",
            col(Conversation.closed_at).is_not(None),
            col(Conversation.closed_at) >= now - LOOKBACK,
            col(Conversation.closed_at) <= now,
            col(Conversation.satisfaction).is_(None),
            col(Contact.opted_out).is_(False),
        )
        .order_by(col(Conversation.closed_at))
    ).all()
    already = set(session.exec(asked).all())
    return [c for c in rows if survey_key(id_of(c)) not in already]


def record_survey_answer(session: Session, contact_id: int, text: str, now: datetime) -> bool:
    """Stores a 1-5 answer to the contact's open survey; False when it is not one.

    Called by the customer flow for every inbound message before it is treated
    as a new request; True means the message was the answer (thank them, do not
    open a conversation for it). The same answer repeated within REPEAT_WINDOW
    (a re-delivered update) is True again without changing anything.
    """
    score = parse_score(text)
    if score is None:
        return False
    survey = session.exec(
        select(FollowUp)
        .where(
            FollowUp.contact_id == contact_id,
            FollowUp.kind == FollowUpKind.SURVEY,
            col(FollowUp.status).in_((FollowUpStatus.SENT, FollowUpStatus.DONE)),
            col(FollowUp.sent_at) >= now - ANSWER_WINDOW,
        )
        .order_by(col(FollowUp.sent_at).desc())
    ).first()
    key = survey.dedupe_key if survey is not None else None
    if survey is None or key is None or not key.startswith(PREFIX):
        return False
    conversation = session.get(Conversation, int(key.removeprefix(PREFIX)))
    if conversation is None:
        return False
    if survey.status == FollowUpStatus.DONE:
        # The same answer again within minutes (a re-delivered update, a double tap) is
        # still the answer, not a new request; anything later is a new message.
        return conversation.satisfaction == score and now - survey.updated_at <= REPEAT_WINDOW
    if conversation.satisfaction is not None:
        return False
    conversation.satisfaction = score
    survey.status, survey.updated_at = FollowUpStatus.DONE, now
    session.add_all([conversation, survey])
    audit.record(
        session,
        actor=Actor(kind=ActorKind.CUSTOMER, id=contact_id),
        action="conversation.satisfaction",
        entity_type="conversation",
        entity_id=conversation.id,
        at=now,
        after={"satisfaction": score},
    )
    return True
