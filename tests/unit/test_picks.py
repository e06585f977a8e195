"""bot.rep.picks on its own: what the next message is to an open question."""

from datetime import UTC, datetime, timedelta

from bot.language.commands import DeleteContact
from bot.rep.picks import Confirm, Pick, Picks

NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
KEY = ("rep:1", "shell", "main")


def _pick(ids: tuple[int, ...] = (4, 9)) -> Pick:
    return Pick(text="note jane: hi", ref="jane", ids=ids, asked_at=NOW)


def test_a_number_or_an_id_finishes_the_pick_once() -> None:
    picks = Picks()
    picks.ask(KEY, _pick())
    assert picks.answer(KEY, "2", NOW).text == "note #9: hi"
    assert "doesn't answer anything" in (picks.answer(KEY, "2", NOW).reply or "")
    picks.ask(KEY, _pick())
    assert picks.answer(KEY, " #77 ", NOW).text == "note #77: hi"


def test_any_other_message_drops_the_question() -> None:
    picks = Picks()
    picks.ask(KEY, _pick())
    assert picks.answer(KEY, "pipeline", NOW).text == "pipeline"
    assert picks.take(KEY) is None


def test_questions_expire_and_belong_to_one_chat() -> None:
    picks = Picks()
    picks.ask(KEY, _pick())
    other = ("rep:1", "shell", "other")
    assert "doesn't answer" in (picks.answer(other, "1", NOW).reply or "")
    later = NOW + timedelta(minutes=5, seconds=1)
    assert "expired" in (picks.answer(KEY, "1", later).reply or "")


def test_only_the_numbers_shown_can_be_picked() -> None:
    picks = Picks()
    picks.ask(KEY, _pick(tuple(range(1, 9))))
    answer = picks.answer(KEY, "6", NOW)
    assert "from 1 to 5" in (answer.reply or "") and answer.keep is not None


def test_a_confirmation_runs_on_yes_and_cancels_on_no() -> None:
    picks = Picks()
    command = DeleteContact("#3", confirmed=True)
    picks.ask(KEY, Confirm(command=command, asked_at=NOW, what="deleting Jane"))
    assert picks.answer(KEY, "Yes", NOW).command == command
    picks.ask(KEY, Confirm(command=command, asked_at=NOW, what="deleting Jane"))
    assert picks.answer(KEY, "no", NOW).reply == "Cancelled: deleting Jane was not done."
    assert "doesn't answer" in (picks.answer(KEY, "yes", NOW).reply or "")
