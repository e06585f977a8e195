"""The shell as a full channel (issue 16), through real `rapport shell` subprocesses sharing
one data dir: customer commands, replies kept for a customer who is away, no echo of a
customer's message on the rep's terminal."""

import os
import sqlite3
import subprocess
import sys
from pathlib import Path

RAPPORT = [sys.executable, "-m", "bot"]


def run_shell(data_dir: Path, lines: list[str], *args: str) -> subprocess.CompletedProcess[str]:
    env = {
        k: v for k, v in os.environ.items() if not k.startswith(("RAPPORT_", "TELEGRAM_", "SLACK_"))
    }
    env["RAPPORT_DATA_DIR"] = str(data_dir)
    return subprocess.run(
        [*RAPPORT, "shell", *args],
        input="\n".join(lines) + "\n",
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        cwd=data_dir,
    )


def shell(data_dir: Path, lines: list[str], *args: str) -> str:
    result = run_shell(data_dir, lines, *args)
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stdout + result.stderr
    return result.stdout


def customer(data_dir: Path, *lines: str) -> str:
    return shell(data_dir, list(lines), "--as", "customer", "--name", "Maria", "--no-classify")


def messages(data_dir: Path) -> list[tuple[str, str]]:
    with sqlite3.connect(data_dir / "rapport.db") as db:
        return db.execute("SELECT direction, text FROM message ORDER BY id").fetchall()


def test_customer_commands_run_as_on_telegram_and_are_not_messages(tmp_path: Path) -> None:
    out = customer(tmp_path, "hello, my card is blocked", "/status", "/help", "/stop", "/start")
    assert "Your open requests:" in out and "Request 1" in out
    assert "/mydata - A copy of everything we hold about you" in out
    assert "we won't send you follow-up messages any more" in out
    assert messages(tmp_path) == [("inbound", "hello, my card is blocked")]  # no /stop row
    exported = customer(tmp_path, "/mydata")
    assert "Saved to" in exported and list((tmp_path / "exports").glob("*.json"))
    forget = customer(tmp_path, "/forget", "2")
    assert "1) Yes, erase my data" in forget and "2) No, keep it" in forget


def test_a_reply_to_an_absent_customer_is_saved_and_shown_when_they_return(
    tmp_path: Path,
) -> None:
    customer(tmp_path, "hello, my card is blocked")
    rep = shell(tmp_path, ["reply 1 Hi Maria, we are on it"], "--name", "Alice")
    assert "Saved; they are not connected; it will be shown when they come back." in rep
    assert "Delivered" not in rep
    assert "•: Hi Maria" not in rep  # not echoed on the rep's own terminal
    back = customer(tmp_path, "/status")
    assert back.count("Hi Maria, we are on it") == 1
    again = customer(tmp_path, "/status")
    assert "Hi Maria, we are on it" not in again  # shown once, not on every visit


def test_a_typed_yes_answers_forget_in_the_terminal(tmp_path: Path) -> None:
    out = customer(tmp_path, "hola, ¿tenéis la bici roja?", "/forget", "no", "/forget", "sí")
    assert "nothing was erased" in out or "no se ha borrado nada" in out
    assert messages(tmp_path) == []  # erased, and neither "no" nor "sí" was ever stored


def test_one_terminal_name_is_not_both_a_customer_and_a_rep(tmp_path: Path) -> None:
    """`rapport shell --as customer` then `rapport shell` under the same name (both were
    `me` by default) ended the rep's shell in a stack trace."""
    customer(tmp_path, "hello")
    result = run_shell(tmp_path, ["inbox"], "--name", "Maria")
    assert result.returncode == 2
    assert "'maria' is already a customer in this database" in result.stderr
    assert "pick another with --name" in result.stderr
    assert "Traceback" not in result.stdout + result.stderr
    assert "Open conversations" in shell(tmp_path, ["inbox"], "--name", "Alice")


def test_the_default_names_of_a_customer_and_a_rep_do_not_clash(tmp_path: Path) -> None:
    greeted = shell(tmp_path, ["hello"], "--as", "customer", "--no-classify")
    assert "Guest" in greeted and "me!" not in greeted
    assert "Open conversations" in shell(tmp_path, ["inbox"])  # the rep's default: me
