"""`rapport run` as a real subprocess, for fault tests and the memory benchmark.

The test process keeps the stand-ins (Telegram Bot API, Slack Web API); the child
gets their URLs in its environment. A tiny pre-trained need classifier is saved
into the data directory first, so start-up does not spend tens of seconds training.
"""

import os
import signal
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path

RAPPORT = [sys.executable, "-m", "bot", "run"]
ROOT = Path(__file__).resolve().parents[2]


def save_tiny_classifier(data_dir: Path) -> None:
    from crm.needs.classifier import model_path
    from tests.e2e.telegram_harness import tiny_classifier

    path = model_path(data_dir)
    path.parent.mkdir(parents=True, exist_ok=True)
    tiny_classifier().save(path)


def clean_environment() -> dict[str, str]:
    return {k: v for k, v in os.environ.items()
            if not k.startswith(("RAPPORT_", "TELEGRAM_", "SLACK_", "SMTP_"))}  # fmt: skip


class RapportProcess:
    """One `rapport run`; `kill()` is SIGKILL (no clean-up at all), `stop()` is SIGTERM."""

    def __init__(self, env: Mapping[str, str], log_path: Path) -> None:
        self.env = {**clean_environment(), "PYTHONUNBUFFERED": "1", "PYTHONPATH": str(ROOT), **env}
        self.log_path = log_path
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> "RapportProcess":
        log = self.log_path.open("ab")
        self.process = subprocess.Popen(
            # not the repository: a developer's .env there must not reach the child
            RAPPORT, env=self.env, cwd=self.log_path.parent, stdout=log, stderr=subprocess.STDOUT,
            start_new_session=True,
        )  # fmt: skip
        log.close()
        return self

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def kill(self) -> None:
        if self.alive():
            assert self.process is not None
            self.process.send_signal(signal.SIGKILL)
            self.process.wait(timeout=10)

    def stop(self, timeout: float = 15) -> int | None:
        if not self.alive():
            return self.process.returncode if self.process else None
        assert self.process is not None
        self.process.send_signal(signal.SIGTERM)
        try:
            return self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            return self.process.wait(timeout=10)

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""
