"""Draining the follow-up outbox: claim due rows, decide, send within the limits, record.

The tick is what APScheduler calls every few seconds (the shell calls it
between lines). One tick:

1. claims due rows (atomic UPDATE ... RETURNING; SKIP LOCKED on PostgreSQL) and,
   in the same transaction, decides each one: customer messages wait out quiet
   hours and rep nudges/digests wait for business hours (the row goes back to
   pending at the release time; no attempt is used), an opted-out or
   unreachable customer fails at once with the reason and the rep is told;
2. sends the rest concurrently through the hub, each send first booking a slot
   in the per-channel rate limiter (a slot too far off puts the row back
   rather than sleeping on the claim);
3. records each outcome as soon as its send returns, only if this worker still
   holds the claim: sent (late if well past due), a 429 retried after the time
   the platform asked, a transient error retried with backoff up to
   MAX_ATTEMPTS, a permanent error failed with the reason (and the rep told once).

Leases are set and compared on the database's clock (a worker whose clock runs
ahead cannot take over rows another is sending); this worker measures what is left
of its own lease on its monotonic clock from before the claim, so it stops sending
before the database could hand the row to someone else. Each claim carries a
fencing token: an outcome is written only under it, so a worker whose claim was
taken over records nothing. Recording is retried (short backoff) across a dropped
database connection until the lease would lapse.

The one place a message can still go out twice: the channel accepted it and the
worker then died (or lost the database for longer than the rest of its lease)
before the outcome committed; the row is claimed again once the lease runs out
and re-sent. Outcomes are recorded per send, not per batch, to keep that small.
"""

import asyncio
import contextlib
import logging
import os
import secrets
import socket
import threading
import time
from collections import Counter
from collections.abc import Callable
from contextlib import nullcontext
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError, PendingRollbackError
from sqlmodel import Session

from bot.context import Services
from bot.outbound.ratelimit import HubLimits, RateLimiter
from bot.outbound.routing import CustomerBook, reminder_actions, rep_addresses
from bot.outbound.rules import render_digest
from channels.base import Address, OutgoingMessage, Reply, SendResult
from crm import claims, conversations, followups
from crm.enums import FollowUpKind
from crm.hours import QuietHours
from crm.ids import id_of
from crm.models import FollowUp, Rep
from crm.worktime import zone_name

logger = logging.getLogger(__name__)

LATE_AFTER = timedelta(minutes=1)
MAX_ATTEMPTS = 5
MAX_BACKOFF = 300.0
# Pauses between tries to record an outcome across a dropped database connection (then
# the last one, repeated) while the lease lasts.
RECORD_BACKOFF = (0.02, 0.05, 0.1, 0.2, 0.5, 1.0)
# The channel-side kind of each follow-up's message (a channel may render them differently).
MESSAGE_KIND = {
    FollowUpKind.REMINDER: "reminder",
    FollowUpKind.CUSTOMER: "followup",
    FollowUpKind.SURVEY: "followup",
}


def worker_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def backoff(attempts: int) -> float:
    """5 s, 10 s, 20 s, ... capped at 5 minutes."""
    return min(MAX_BACKOFF, 5.0 * 2 ** max(0, attempts - 1))


def connection_lost(exc: BaseException) -> bool:
    """A database error worth trying again: the connection dropped or the server is busy
    (a terminated backend, a restart, SQLite's lock timeout), not a bad statement."""
    if isinstance(exc, DBAPIError) and exc.connection_invalidated:
        return True
    return isinstance(exc, OperationalError | InterfaceError)


RepCache = dict[int | None, tuple[Rep | None, list[Address]]]  # per claim: rep and addresses


@dataclass
class Job:
    """A claimed row ready to send: where (in order of preference) and what."""

    row: FollowUp
    addresses: list[Address]
    reply: Reply
    deadline: float = float("inf")  # when the lease ends, on this worker's monotonic clock

    @property
    def token(self) -> str | None:
        return self.row.claim_token


@dataclass(frozen=True)
class Defer:
    until: datetime
    reason: str


@dataclass(frozen=True)
class Skip:
    reason: str


@dataclass(frozen=True)
class Fail:
    reason: str


class Outcome(StrEnum):
    """What recording one claimed row came to (counted in TickStats)."""

    DELIVERED = "delivered"
    DEFERRED = "deferred"
    RETRIED = "retried"
    FAILED = "failed"
    LOST_CLAIMS = "lost_claims"  # another worker took the row over before we recorded
    ERRORS = "errors"  # the outcome could not be recorded


@dataclass
class TickStats:
    """One tick's counts: rows claimed, and each Outcome's tally."""

    claimed: int = 0
    counts: Counter[Outcome] = field(default_factory=Counter)

    def add(self, outcome: Outcome) -> None:
        self.counts[outcome] += 1

    @property
    def delivered(self) -> int:
        return self.counts[Outcome.DELIVERED]

    @property
    def deferred(self) -> int:
        return self.counts[Outcome.DEFERRED]

    @property
    def retried(self) -> int:
        return self.counts[Outcome.RETRIED]

    @property
    def failed(self) -> int:
        return self.counts[Outcome.FAILED]

    @property
    def lost_claims(self) -> int:
        return self.counts[Outcome.LOST_CLAIMS]

    @property
    def errors(self) -> int:
        return self.counts[Outcome.ERRORS]


class _GroupCommit:
    """Outcomes that finish while a commit is running share the next commit.

    Each send is still recorded as soon as the database can take it (a lone
    send commits alone, at once), but under load one commit covers many rows
    instead of one fsync per row.
    """

    def __init__(self, write: Callable[[list[tuple[Job, Any]]], list[Outcome]]) -> None:
        self.write = write
        self.waiting: list[tuple[Job, Any, asyncio.Future[Outcome]]] = []
        self.lock = asyncio.Lock()

    async def record(self, job: Job, outcome: Any) -> Outcome:
        done: asyncio.Future[Outcome] = asyncio.get_running_loop().create_future()
        self.waiting.append((job, outcome, done))
        async with self.lock:
            if not done.done():
                group, self.waiting = self.waiting, []
                try:
                    results = await asyncio.to_thread(self.write, [(j, o) for j, o, _ in group])
                except BaseException:  # cancelled at shutdown: never leave the others waiting
                    for _, _, future in group:
                        if not future.done():
                            future.set_result(Outcome.ERRORS)
                    raise
                for (_, _, future), result in zip(group, results, strict=True):
                    future.set_result(result)
        return await done


class Outbox:
    """One worker's drain of the outbox. Any number may run at once, in any number of
    processes: claims are atomic and leased, and outcomes are recorded only by the holder."""

    def __init__(
        self,
        services: Services,
        *,
        worker: str | None = None,
        lease: timedelta | None = None,
        limiter: RateLimiter | None = None,
        concurrency: int = 16,
        batch: int = 50,
        max_rounds: int = 40,
    ) -> None:
        self.services = services
        self.worker = worker or worker_name()
        self.lease = lease or timedelta(minutes=2)
        settings = services.settings
        self.limiter = limiter or RateLimiter(HubLimits(services.hub))
        self.quiet: QuietHours = settings.quiet_hours  # parsed (and refused if bad) at start-up
        self.hours = settings.business_hours
        self.concurrency = concurrency
        self.batch = batch
        self.max_rounds = max_rounds
        # A rate-limit slot further off than this puts the row back instead of sleeping on it;
        # sending is refused once less than this is left of the lease.
        self.guard = self.lease / 4
        # SQLite allows one writer: serialise this process's outbox transactions rather than
        # let concurrent read-then-write transactions trip over lock upgrades.
        self._db_lock: contextlib.AbstractContextManager[object] = (
            threading.Lock() if services.store.dialect == "sqlite" else contextlib.nullcontext()
        )
        self.last = TickStats()
        self.monotonic: Callable[[], float] = time.monotonic
        self.sleep: Callable[[float], None] = time.sleep

    # --- deciding, inside the claim transaction ---------------------------------------------

    def _decide(
        self, session: Session, row: FollowUp, now: datetime, reps: RepCache, book: CustomerBook
    ) -> Job | Defer | Skip | Fail:
        """What to do with a claimed row now: send (where, what), wait, skip or fail."""
        settings, hub = self.services.settings, self.services.hub
        if FollowUpKind(row.kind).to_customer:
            target = book.target(row, hub)
            contact = book.contacts.get(row.contact_id or 0)
            if target.address is None or contact is None:
                return Fail(target.problem or "no contact")
            tz = zone_name(contact.timezone, settings.timezone)
            if self.quiet.is_quiet(now, tz):
                return Defer(self.quiet.release_time(now, tz), "quiet hours")
            return Job(row, [target.address], Reply(row.text))
        if row.rep_id not in reps:  # a batch often holds many rows for one rep
            rep = session.get(Rep, row.rep_id) if row.rep_id else None
            reps[row.rep_id] = (rep, rep_addresses(session, rep, hub) if rep else [])
        rep, addresses = reps[row.rep_id]
        if rep is None or not rep.active:
            return Fail("the rep is no longer active")
        tz = zone_name(rep.timezone, settings.timezone)
        if FollowUpKind(row.kind).workday_only and not self.hours.is_open(now, tz):
            return Defer(self.hours.next_open(now, tz), "outside business hours")
        if not addresses:
            return Fail("the rep has no reachable channel")
        if row.kind == FollowUpKind.DIGEST:
            reply = render_digest(session, row, now, settings)
            return Job(row, addresses, reply) if reply else Skip("nothing to report")
        actions = reminder_actions(row.id) if row.kind == FollowUpKind.REMINDER and row.id else ()
        return Job(row, addresses, Reply(row.text, actions=actions))

    def _fail(self, session: Session, row: FollowUp, reason: str, now: datetime) -> None:
        if (
            followups.finish(
                session,
                followup_id=id_of(row),
                worker=self.worker,
                token=row.claim_token,
                now=now,
                sent=False,
                error=reason,
            )
            and FollowUpKind(row.kind).failure_told_to_rep
        ):
            claims.notify_failure(session, row=row, reason=reason, now=now)
        logger.warning("follow-up failed id=%s kind=%s reason=%s", row.id, row.kind, reason)

    def _claim(self, now: datetime, batch: int) -> list[Job]:
        jobs: list[Job] = []
        token = secrets.token_hex(16)  # this claim's fencing token
        # Read before the claim is sent: the database's lease starts later, so this
        # worker's idea of its lease ends first.
        deadline = self.monotonic() + self.lease.total_seconds()
        with self._db_lock, self.services.store.transaction() as session:
            rows = followups.claim_due(
                session, worker=self.worker, now=now, lease=self.lease, limit=batch, token=token
            )
            self.last.claimed += len(rows)
            reps: RepCache = {}
            book = CustomerBook.load(
                session, (row.contact_id for row in rows if FollowUpKind(row.kind).to_customer)
            )
            for row in rows:
                try:
                    with (
                        session.begin_nested() if row.kind == FollowUpKind.DIGEST else nullcontext()
                    ):
                        decision = self._decide(session, row, now, reps, book)
                except Exception as exc:  # noqa: BLE001 - a bad row must not block the outbox
                    if connection_lost(exc) or isinstance(exc, PendingRollbackError):
                        # The database, not the row: failing the row would drop a follow-up
                        # for good over a blip. The tick fails, the claim rolls back, and
                        # the next tick tries again.
                        raise
                    logger.exception("could not prepare follow-up id=%s kind=%s", row.id, row.kind)
                    decision = Fail(f"could not prepare it ({type(exc).__name__})")
                if isinstance(decision, Job):
                    decision.deadline = deadline
                    jobs.append(decision)
                elif isinstance(decision, Defer):
                    claims.release(
                        session,
                        followup_id=id_of(row),
                        worker=self.worker,
                        token=token,
                        due_at=decision.until,
                        now=now,
                        late=now - row.due_at > LATE_AFTER,
                    )
                    self.last.add(Outcome.DEFERRED)
                    logger.info(
                        "follow-up deferred id=%s kind=%s until=%s reason=%s",
                        row.id,
                        row.kind,
                        decision.until.isoformat(),
                        decision.reason,
                    )
                elif isinstance(decision, Skip):
                    claims.skip(
                        session,
                        followup_id=id_of(row),
                        worker=self.worker,
                        token=token,
                        now=now,
                        reason=decision.reason,
                    )
                else:
                    self._fail(session, row, decision.reason, now)
                    self.last.add(Outcome.FAILED)
        return jobs

    # --- sending ------------------------------------------------------------------------------

    def _lease_left(self, job: Job) -> timedelta:
        """What is left of the claim's lease, on this worker's monotonic clock (its wall
        clock may be off; the database's lease_until is on the database's clock)."""
        return timedelta(seconds=job.deadline - self.monotonic())

    async def _send(self, job: Job) -> SendResult | Defer | None:
        """Tries each address in turn while the failure is permanent (Slack gone -> email)."""
        result: SendResult | None = None
        for address in job.addresses:
            if self._lease_left(job) < self.guard:
                return Defer(self.services.clock.now(), "lease nearly over")
            waited = await self.limiter.acquire(
                address.channel, address.chat_id, max_wait=self.guard.total_seconds()
            )
            if waited is None:
                wait = self.limiter.wait_for(address.channel, address.chat_id)
                return Defer(self.services.clock.now() + timedelta(seconds=wait), "rate limit")
            outgoing = OutgoingMessage(
                address,
                job.reply,
                kind=MESSAGE_KIND.get(job.row.kind, "notice"),
                meta={"followup_id": job.row.id, "followup_kind": job.row.kind},
            )
            # A send must end (and be recorded) while the lease holds, or another worker
            # would take the row over and send it again.
            budget = (self._lease_left(job) - self.guard / 2).total_seconds()
            try:
                async with asyncio.timeout(max(budget, 1.0)):
                    result = await self.services.hub.send(outgoing)
            except TimeoutError:
                result = SendResult(delivered=False, error="send timed out")
            if result.retry_after:
                self.limiter.pause(address.channel, address.chat_id, result.retry_after)
            if result.delivered or not result.permanent:
                break
        return result

    def _apply(
        self, session: Session, job: Job, outcome: SendResult | Defer | None, now: datetime
    ) -> Outcome:
        """Writes one outcome; returns what happened (delivered, deferred, retried, failed)."""
        row = job.row
        if (
            claims.lock_claim(session, followup_id=id_of(row), worker=self.worker, token=job.token)
            is None
        ):
            logger.warning("claim lost before recording id=%s worker=%s", row.id, self.worker)
            return Outcome.LOST_CLAIMS
        if outcome is None:
            outcome = SendResult(delivered=False, error="no address", permanent=True)
        if isinstance(outcome, Defer):
            claims.release(
                session,
                followup_id=id_of(row),
                worker=self.worker,
                token=job.token,
                due_at=outcome.until,
                now=now,
                reason=outcome.reason,
            )
            return Outcome.DEFERRED
        late = now - row.due_at > LATE_AFTER
        if outcome.queued and FollowUpKind(row.kind).to_customer and row.contact_id:
            return self._keep_for_return(session, job, outcome, now, late)
        if outcome.delivered:
            followups.finish(
                session,
                followup_id=id_of(row),
                worker=self.worker,
                token=job.token,
                now=now,
                sent=True,
                late=late,
            )
            return Outcome.DELIVERED
        error = (outcome.error or "not delivered")[:400]
        if outcome.retry_after and not outcome.permanent:
            claims.release(
                session,
                followup_id=id_of(row),
                worker=self.worker,
                token=job.token,
                late=late,
                now=now,
                due_at=now + timedelta(seconds=outcome.retry_after),
                reason=f"rate limited, retry after {outcome.retry_after:g}s: {error}",
            )
            return Outcome.RETRIED
        if not outcome.permanent and row.attempts < MAX_ATTEMPTS:
            followups.finish(
                session,
                followup_id=id_of(row),
                worker=self.worker,
                token=job.token,
                now=now,
                sent=False,
                error=error,
                late=late,
                retry_at=now + timedelta(seconds=backoff(row.attempts)),
            )
            return Outcome.RETRIED
        if not outcome.permanent:
            error = f"gave up after {row.attempts} attempts: {error}"
        self._fail(session, row, error, now)
        return Outcome.FAILED

    def _keep_for_return(
        self, session: Session, job: Job, outcome: SendResult, now: datetime, late: bool
    ) -> Outcome:
        """The customer's client reads its messages from the store (another terminal's
        shell): the follow-up goes on their conversation, shown now if that shell is open or
        when they come back, and is done; the rep sees the note in `followups`, not a
        failure."""
        row, address = job.row, job.addresses[0]
        note = None if outcome.delivered else outcome.error or "kept until they come back"
        assert row.contact_id is not None
        conversations.keep_for_return(
            session,
            contact_id=row.contact_id,
            channel=address.channel,
            chat_id=address.chat_id,
            text=job.reply.text,
            now=now,
            note=note,
            author_rep_id=row.rep_id,
        )
        done = followups.finish(
            session,
            followup_id=id_of(row),
            worker=self.worker,
            token=job.token,
            now=now,
            sent=True,
            late=late,
        )
        if done is not None and note:
            done.last_error = note[:500]
            session.add(done)
        return Outcome.DELIVERED

    def _write(
        self, items: list[tuple[Job, SendResult | Defer | None]], *, again: bool
    ) -> list[Outcome]:
        """One transaction for outcomes that arrived together.

        Deliveries, the common case, are marked sent by one conditional UPDATE per
        claim token; anything else goes through the per-row path. `again`: an earlier
        try may have committed without us hearing, so rows this claim already marked
        sent count as delivered.
        """
        now = self.services.clock.now()
        sent: dict[str | None, list[int]] = {}
        for job, outcome in items:
            if (
                isinstance(outcome, SendResult)
                and outcome.delivered
                and not outcome.queued
                and job.row.id is not None
            ):
                sent.setdefault(job.token, []).append(job.row.id)
        to_mark = {i for ids in sent.values() for i in ids}
        with self._db_lock, self.services.store.transaction() as session:
            held: set[int] = set()
            for token, ids in sent.items():
                held |= claims.mark_sent(
                    session,
                    followup_ids=ids,
                    worker=self.worker,
                    token=token,
                    now=now,
                    late_after=LATE_AFTER,
                    already=again,
                )
            results = []
            for job, outcome in items:
                if isinstance(outcome, SendResult) and job.row.id in to_mark:
                    results.append(Outcome.DELIVERED if job.row.id in held else Outcome.LOST_CLAIMS)
                else:
                    results.append(self._apply(session, job, outcome, now))
            if len(held) < len(to_mark):
                logger.warning(
                    "claims lost before recording rows=%s worker=%s",
                    len(to_mark) - len(held),
                    self.worker,
                )
            return results

    def _record_many(
        self, items: list[tuple[Job, SendResult | Defer | None]], again: bool = False
    ) -> list[Outcome]:
        """Records outcomes; across a dropped connection tries again (short backoff) while
        the lease lasts, since a row whose lease lapses unrecorded is sent again by the
        next worker to claim it. Any other error: one by one, so a bad row stays alone."""
        deadline = min(job.deadline for job, _ in items)
        tries = 0
        while True:
            try:
                return self._write(items, again=again or tries > 0)
            except Exception as exc:  # noqa: BLE001 - sorted below: retried, split or given up
                if not connection_lost(exc):
                    failure = exc
                    break
                pause = RECORD_BACKOFF[min(tries, len(RECORD_BACKOFF) - 1)]
                if self.monotonic() + pause >= deadline:
                    logger.error(
                        "recording gave up as the lease ends rows=%s tries=%s error=%s",
                        len(items),
                        tries + 1,
                        type(exc).__name__,
                    )
                    return [Outcome.ERRORS] * len(items)
                tries += 1
                logger.warning(
                    "recording retried rows=%s try=%s error=%s",
                    len(items),
                    tries,
                    type(exc).__name__,
                )
                self.sleep(pause)
        if len(items) == 1:
            logger.error("recording failed id=%s", items[0][0].row.id, exc_info=failure)
            return [Outcome.ERRORS]
        logger.warning("group record failed rows=%s; recording one by one", len(items))
        return [self._record_many([item], again=again or tries > 0)[0] for item in items]

    def _record(self, job: Job, outcome: SendResult | Defer | None) -> Outcome:
        return self._record_many([(job, outcome)])[0]

    async def _deliver(self, job: Job, gate: asyncio.Semaphore, recorder: "_GroupCommit") -> None:
        async with gate:
            try:
                outcome = await self._send(job)
            except Exception as exc:  # noqa: BLE001 - one bad send must not stop the batch
                logger.exception("send crashed id=%s kind=%s", job.row.id, job.row.kind)
                outcome = SendResult(delivered=False, error=type(exc).__name__)
        self.last.add(await recorder.record(job, outcome))
        if isinstance(outcome, SendResult) and not outcome.delivered and not outcome.queued:
            logger.warning(
                "follow-up not sent id=%s kind=%s attempts=%s permanent=%s error=%s",
                job.row.id,
                job.row.kind,
                job.row.attempts,
                outcome.permanent,
                outcome.error,
            )

    async def tick(self, limit: int | None = None) -> int:
        """Sends everything due now (batch after batch); returns how many were delivered."""
        self.last = TickStats()
        batch = limit or self.batch
        gate = asyncio.Semaphore(self.concurrency)
        for _ in range(self.max_rounds):
            claimed_before = self.last.claimed
            jobs = await asyncio.to_thread(self._claim, self.services.clock.now(), batch)
            recorder = _GroupCommit(self._record_many)
            await asyncio.gather(*(self._deliver(job, gate, recorder) for job in jobs))
            if self.last.claimed - claimed_before < batch:
                break
        self.limiter.trim()
        if self.last.claimed:
            logger.info(
                "outbox tick worker=%s claimed=%s delivered=%s deferred=%s retried=%s failed=%s",
                self.worker,
                self.last.claimed,
                self.last.delivered,
                self.last.deferred,
                self.last.retried,
                self.last.failed,
            )
        return self.last.delivered
