"""Opening hours and quiet hours, in a given time zone.

Used by the customer acknowledgements ("a person will reply Monday from 09:00"),
the scheduler's quiet hours for customers and business hours for reps.
"""

import re
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

DAYS = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
SPEC = re.compile(
    r"^\s*(?P<d1>[a-z]{3})[a-z]*\s*(?:-\s*(?P<d2>[a-z]{3})[a-z]*)?\s+"
    r"(?P<h1>\d{1,2}):(?P<m1>\d{2})\s*-\s*(?P<h2>\d{1,2}):(?P<m2>\d{2})\s*$",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class Hours:
    """Open on `days` (0=Monday) from `start` to `end` local time."""

    days: frozenset[int]
    start: time
    end: time
    text: str = field(default="", compare=False)  # as configured, for showing to customers

    @classmethod
    def parse(cls, text: str) -> "Hours":
        """`Mon-Fri 09:00-17:00` or `Sat 10:00-14:00`; raises ValueError naming the fix."""
        match = SPEC.match(text or "")
        if not match:
            raise ValueError(f"'{text}' is not like 'Mon-Fri 09:00-17:00'")
        d1 = DAYS.index(match["d1"].lower()) if match["d1"].lower() in DAYS else -1
        d2 = DAYS.index(match["d2"].lower()) if match["d2"] and match["d2"].lower() in DAYS else d1
        if d1 < 0 or d2 < 0:
            raise ValueError(f"'{text}' names an unknown day; use Mon..Sun")
        days = {d % 7 for d in range(d1, d2 + 1 if d2 >= d1 else d2 + 8)}
        start = time(int(match["h1"]), int(match["m1"]))
        end = time(int(match["h2"]), int(match["m2"]))
        if end <= start:
            raise ValueError(f"'{text}': the closing time must be after the opening time")
        return cls(frozenset(days), start, end, text.strip())

    def is_open(self, when: datetime, tz: str) -> bool:
        local = when.astimezone(ZoneInfo(tz))
        return local.weekday() in self.days and self.start <= local.time() < self.end

    def next_open(self, when: datetime, tz: str) -> datetime:
        """`when` itself if open, else the next opening time (aware, in `tz`)."""
        zone = ZoneInfo(tz)
        local = when.astimezone(zone)
        if self.is_open(when, tz):
            return local
        for offset in range(0, 8):
            day = (local + timedelta(days=offset)).date()
            if day.weekday() not in self.days:
                continue
            opening = datetime.combine(day, self.start, tzinfo=zone)
            if opening > local:
                return opening
        raise ValueError("no opening day configured")


def next_digest(at: time, hours: Hours, now: datetime, tz: str) -> tuple[datetime, bool]:
    """When a rep's next daily digest really goes: the next working day's `at` (today's if
    still to come), held to the opening time when `at` is outside business hours, as the
    outbox holds it. Returns (send time, whether it is held)."""
    zone = ZoneInfo(tz)
    local = now.astimezone(zone)
    for offset in range(0, 8):
        day = (local + timedelta(days=offset)).date()
        due = datetime.combine(day, at, tzinfo=zone)
        if day.weekday() in hours.days and due >= local:
            going = hours.next_open(due, tz)
            return going, going != due
    raise ValueError("no working day configured")


@dataclass(frozen=True)
class QuietHours:
    """No automated customer messages from `start` to `end` local time (may wrap midnight)."""

    start: time = time(21, 0)
    end: time = time(8, 0)

    def is_quiet(self, when: datetime, tz: str) -> bool:
        local = when.astimezone(ZoneInfo(tz)).time()
        if self.start <= self.end:
            return self.start <= local < self.end
        return local >= self.start or local < self.end

    def release_time(self, when: datetime, tz: str) -> datetime:
        """The first moment at or after `when` that is outside quiet hours."""
        if not self.is_quiet(when, tz):
            return when
        zone = ZoneInfo(tz)
        local = when.astimezone(zone)
        candidate = datetime.combine(local.date(), self.end, tzinfo=zone)
        if candidate <= local:
            candidate = datetime.combine(local.date() + timedelta(days=1), self.end, tzinfo=zone)
        return candidate
