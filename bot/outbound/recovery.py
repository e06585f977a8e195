"""Start-up recovery of follow-ups claimed by a process that died on this machine."""

import logging
import os
import socket

from bot.context import Services
from crm import followups

logger = logging.getLogger(__name__)


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # alive, but someone else's
        return True
    return True


def release_dead_local_claims(services: Services) -> int:
    """At start-up: claims held by processes of this machine that no longer exist (a
    SIGKILL, a crash) are released now rather than when their lease runs out. Claims of
    other machines are left to their leases; we cannot see their processes."""
    prefix = f"{socket.gethostname()}:"
    with services.store.transaction() as session:
        holders = followups.claim_holders(session, prefix=prefix)
        dead = [
            name
            for name in holders
            if name.removeprefix(prefix).isdigit()
            and int(name.removeprefix(prefix)) != os.getpid()
            and not _pid_alive(int(name.removeprefix(prefix)))
        ]
        released = followups.release_claims(session, workers=dead, now=services.clock.now())
    if released:
        logger.warning("released claims of dead workers count=%s workers=%s", released, dead)
    return released
