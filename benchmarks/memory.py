"""Resident memory of `rapport run`: idle, while 20,000 Telegram messages from 1,000
chats go through it, and idle again afterwards (growth should level off).

    python -m benchmarks.memory [--messages 20000] [--chats 1000] [--steps 10]

`rapport run` is a real subprocess (Telegram in polling mode against the Bot API
stand-in in this process, SQLite in a scratch directory, a small pre-trained need
classifier). RSS is read from /proc/<pid>/status after each step of the traffic. The
baseline in the same run is the process's own idle RSS after start-up; the ratio
column is RSS over that baseline, and the last column is the growth since the
previous step, which should shrink toward zero if memory levels off.
"""

import argparse
import asyncio
import os
import tempfile
import time
from pathlib import Path

os.environ.setdefault("PTB_TIMEDELTA", "1")

TOKEN = "123:MEMORY"


def rss_mib(pid: int) -> float:
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    raise RuntimeError("no VmRSS")


def confirmed(api) -> int:  # type: ignore[no-untyped-def]
    return max([o or 0 for o in api.offsets], default=0) - 1


async def until(check, timeout: float) -> None:  # type: ignore[no-untyped-def]
    async with asyncio.timeout(timeout):
        while not check():
            await asyncio.sleep(0.1)


async def run(messages: int, chats: int, steps: int, idle: float) -> list[tuple[str, float]]:
    from tests.standins.rapport_process import RapportProcess, save_tiny_classifier
    from tests.standins.telegram_api import TelegramStandIn

    rows: list[tuple[str, float]] = []
    api = await TelegramStandIn(TOKEN).start()
    with tempfile.TemporaryDirectory(prefix="rapport-memory-") as tmp:
        data = Path(tmp)
        save_tiny_classifier(data)
        env = {
            "RAPPORT_DATA_DIR": str(data),
            "RAPPORT_DATABASE_URL": f"sqlite:///{data / 'rapport.db'}",
            "TELEGRAM_BOT_TOKEN": TOKEN,
            "RAPPORT_TELEGRAM_API_URL": api.url,
            "RAPPORT_TELEGRAM_RATE_PER_SECOND": "1000000",
            "RAPPORT_TIMEZONE": "UTC",
            "RAPPORT_HTTP_HOST": "127.0.0.1",
            "RAPPORT_HTTP_PORT": "0",
        }
        process = RapportProcess(env, data / "rapport.log").start()
        try:
            await until(lambda: api.calls_to("getUpdates"), 120)
            await asyncio.sleep(idle)
            rows.append(("idle after start-up", rss_mib(process.pid)))
            per_step = max(1, messages // steps)
            sent = 0
            started = time.perf_counter()
            while sent < messages:
                batch = min(per_step, messages - sent)
                last = None
                for n in range(sent, sent + batch):
                    last = api.message(10_000_000 + n % chats, text=f"message {n} about my order")
                sent += batch
                assert last is not None
                await until(lambda u=last: confirmed(api) >= u["update_id"], 600)
                rows.append((f"after {sent:,} messages", rss_mib(process.pid)))
            elapsed = time.perf_counter() - started
            await asyncio.sleep(idle)
            rows.append(("idle afterwards", rss_mib(process.pid)))
            print(f"  {messages:,} messages in {elapsed:.1f} s ({messages / elapsed:.0f}/s)")
        finally:
            process.stop()
            await api.stop()
    return rows


def table(rows: list[tuple[str, float]]) -> str:
    base = rows[0][1]
    lines = [f"{'rapport run':<26} {'RSS MiB':>8} {'x idle':>7} {'growth MiB':>10}"]
    previous = base
    for name, rss in rows:
        lines.append(f"{name:<26} {rss:>8.1f} {rss / base:>7.2f} {rss - previous:>+10.1f}")
        previous = rss
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=20_000)
    parser.add_argument("--chats", type=int, default=1_000)
    parser.add_argument("--steps", type=int, default=10)
    parser.add_argument("--idle", type=float, default=3.0, help="seconds to settle before reading")
    args = parser.parse_args()
    print(f"memory: {args.messages:,} messages from {args.chats:,} chats")
    print(table(asyncio.run(run(args.messages, args.chats, args.steps, args.idle))))


if __name__ == "__main__":
    main()
