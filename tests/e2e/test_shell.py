"""`rapport shell` driven end to end through a real subprocess, as a script would."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

RAPPORT = [sys.executable, "-m", "bot"]

pytestmark = pytest.mark.slow  # each test starts real `rapport` processes


def run_shell(data_dir: Path, lines: list[str], *args: str) -> subprocess.CompletedProcess[str]:
    env = {
        k: v for k, v in os.environ.items() if not k.startswith(("RAPPORT_", "TELEGRAM_", "SLACK_"))
    }
    # No RAPPORT_DATA_DIR: the zero-set-up default, ./.rapport/ in the working directory.
    return subprocess.run(
        [*RAPPORT, "shell", *args],
        input="\n".join(lines) + "\n",
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        cwd=data_dir,
    )


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    return tmp_path


def test_rep_session_over_a_pipe(data_dir: Path) -> None:
    result = run_shell(
        data_dir,
        [
            "add Jane Doe jane@acme.com +1 415 555 0100 at Acme #vip",
            "find acme",
            "log call with Jane: wants pricing for 50 seats, follow up tomorrow 10am",
            'deal Acme "50 seats" $12,000 stage proposal',
            "pipeline",
            "blorp",
            "",
            "followups",
        ],
        "--name",
        "Alice",
    )
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "Added #1 Jane Doe (Acme)" in out
    assert "#1 Jane Doe (Acme) jane@acme.com" in out
    assert "Logged call with Jane Doe (#1)" in out
    assert "$12,000.00 (proposal)" in out
    assert "I don't know 'blorp'" in out
    assert "Traceback" not in out + result.stderr
    assert (data_dir / ".rapport" / "rapport.db").exists()  # the SQLite default, migrated


def test_the_same_name_is_the_same_person_across_runs(data_dir: Path) -> None:
    run_shell(data_dir, ["remind me to call bob tomorrow at 9"], "--name", "Alice")
    second = run_shell(data_dir, ["followups"], "--name", "alice")
    assert "call bob" in second.stdout
    other = run_shell(data_dir, ["followups"], "--name", "Bob")
    assert "call bob" not in other.stdout and "No follow-ups" in other.stdout


def test_customer_mode_stores_messages_on_the_timeline(data_dir: Path) -> None:
    customer = run_shell(
        data_dir,
        ["hello, how much is the pro plan?"],
        "--as",
        "customer",
        "--name",
        "Carol",
        "--no-classify",
    )
    assert customer.returncode == 0, customer.stderr
    assert "Carol" in customer.stdout  # acknowledged by first name
    rep = run_shell(data_dir, ["inbox", "show carol"], "--name", "Alice")
    assert "Carol via shell" in rep.stdout
    assert "how much is the pro plan" in rep.stdout


def test_due_follow_ups_are_printed_in_the_shell(data_dir: Path) -> None:
    # A reminder due in the past (scheduled directly) is printed at the next tick.
    from datetime import UTC, datetime, timedelta

    from bot.app import RapportApp
    from bot.settings import Settings
    from crm import followups
    from crm.actors import SYSTEM

    app = RapportApp.build(Settings(RAPPORT_DATA_DIR=str(data_dir / ".rapport")))
    app.prepare_database()
    actor = app.rep_actor(channel="shell", external_id="alice", name="Alice")
    with app.store.transaction() as session:
        followups.schedule(
            session,
            actor=SYSTEM,
            kind="reminder",
            text="Send the contract to Jane",
            due_at=datetime.now(UTC) - timedelta(minutes=5),
            rep_id=actor.id,
            now=datetime.now(UTC),
        )
    app.close()
    result = run_shell(data_dir, ["help"], "--name", "Alice")
    assert "Reminder 1: Send the contract to Jane" in result.stdout  # its number, to `done 1`


def test_bad_arguments_exit_non_zero_with_a_message(data_dir: Path) -> None:
    result = run_shell(data_dir, [], "--as", "robot")
    assert result.returncode != 0 and "--as must be rep or customer" in result.stderr


def test_run_without_any_channel_says_what_to_set(data_dir: Path) -> None:
    env = {
        k: v for k, v in os.environ.items() if not k.startswith(("RAPPORT_", "TELEGRAM_", "SLACK_"))
    }
    env["RAPPORT_API_ENABLED"] = "false"  # with the API on, `run` serves it (test_api_served)
    result = subprocess.run(
        [*RAPPORT, "run"], capture_output=True, text=True, env=env, timeout=60, cwd=data_dir
    )
    assert result.returncode == 1
    assert "TELEGRAM_BOT_TOKEN" in result.stderr and "SLACK_BOT_TOKEN" in result.stderr
    assert "rapport shell" in result.stderr


def test_a_malformed_setting_is_named_once_without_a_traceback(data_dir: Path) -> None:
    env = {
        k: v for k, v in os.environ.items() if not k.startswith(("RAPPORT_", "TELEGRAM_", "SLACK_"))
    }
    env["RAPPORT_TIMEZONE"] = "Narnia/Cair_Paravel"
    result = subprocess.run(
        [*RAPPORT, "shell"],
        input="",
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        cwd=data_dir,
    )
    assert result.returncode == 2
    assert result.stderr.count("RAPPORT_TIMEZONE") == 1 and "Traceback" not in result.stderr


def test_a_pick_answers_only_the_next_line_and_delete_asks_yes(data_dir: Path) -> None:
    """Issue 15's lost contact, typed into the real shell: the stale `1` deletes nothing;
    a delete waits for `yes` and `undo` brings the contact back with its timeline."""
    result = run_shell(
        data_dir,
        [
            "add John Smith js1@acme.com at Acme",
            "add John Smith js2@acme.com at Acme",
            "log call with js1@acme.com: wants pricing",
            "delete John Smith",
            "pipeline",
            "1",
            "delete #1",
            "yes",
            "show #1",
            "undo",
            "show #1",
        ],
        "--name",
        "Alice",
    )
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "Which one?" in out and "doesn't answer anything" in out
    assert "Delete #1 John Smith (Acme) js1@acme.com? With them go 1 timeline entries" in out
    assert "Deleted #1 John Smith" in out and "There is no contact #1." in out
    assert "Undone: deleting John Smith (#1); restored with 1 timeline entries" in out
    assert out.count("call: wants pricing") == 1  # the card after the undo shows the call
    assert "Traceback" not in out + result.stderr


def test_a_pick_is_forgotten_when_the_shell_restarts(data_dir: Path) -> None:
    run_shell(
        data_dir,
        ["add Jane Doe jd@a.com", "add Jane Roe jr@b.com", "note jane: call back"],
        "--name",
        "Alice",
    )
    second = run_shell(data_dir, ["1", "show #1"], "--name", "Alice")
    assert "doesn't answer anything" in second.stdout
    assert "call back" not in second.stdout
