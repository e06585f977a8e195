"""A restarted process releases the claims of dead processes of its own machine at once."""

import os
import socket
import subprocess
import sys
from datetime import timedelta

from sqlmodel import select

from bot.context import Services
from bot.outbound.recovery import release_dead_local_claims
from bot.settings import Settings
from channels.hub import ChannelHub
from crm import followups
from crm.deals import Pipeline
from crm.models import FollowUp


def dead_pid() -> int:
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


def test_claims_of_dead_local_workers_are_released_others_are_kept(store, clock, rep):  # type: ignore[no-untyped-def]
    host = socket.gethostname()
    owners = [f"{host}:{dead_pid()}", f"{host}:{os.getpid()}", "elsewhere:1"]
    with store.transaction() as session:
        for n, owner in enumerate(owners):
            row = followups.schedule(
                session,
                actor=rep,
                kind="reminder",
                due_at=clock.now(),
                text=f"r{n}",
                rep_id=rep.id,
                now=clock.now(),
            )
            row.status, row.claimed_by = "claimed", owner
            row.lease_until = clock.now() + timedelta(minutes=2)
            session.add(row)
    services = Services(
        settings=Settings(),
        store=store,
        clock=clock,
        hub=ChannelHub(),
        pipeline=Pipeline([("lead", 10)]),
    )
    assert release_dead_local_claims(services) == 1
    with store.transaction() as session:
        states = {f.text: (f.status, f.claimed_by) for f in session.exec(select(FollowUp))}
    assert states["r0"] == ("pending", None)  # its process is gone: claimable now
    assert states["r1"][0] == "claimed" and states["r2"][0] == "claimed"
