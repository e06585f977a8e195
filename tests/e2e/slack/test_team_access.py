"""Who is a rep: Slack guests and deactivated accounts are refused (unless guests are
allowed), a revoked rep is locked out at once, admins manage the team (audited), and a
rep's private reminders are not shown to other reps."""

from pathlib import Path

from sqlmodel import select

from crm.models import AuditLog, Contact
from tests.standins.slack_harness import ADMIN, REP, SlackWorld

GUEST = "U0GUEST"


def answer(world: SlackWorld, key: str) -> str:
    return "\n".join(str(r.get("text", "")) + str(r.get("blocks", ""))
                     for r in world.standin.responded(key))  # fmt: skip


def contact_names(world: SlackWorld) -> list[str]:
    with world.rapport.store.transaction() as session:
        return [c.name for c in session.exec(select(Contact)).all()]


async def test_guests_and_deactivated_accounts_cannot_act(tmp_path: Path) -> None:
    async with SlackWorld.running(tmp_path) as world:
        world.standin.add_user(GUEST, "Gus Guest")
        world.standin.users[GUEST]["is_restricted"] = True
        world.standin.add_user("U0GONE", "Gone Person")
        world.standin.users["U0GONE"]["deleted"] = True
        await world.command("add Guest Made", user=GUEST, key="g1")
        await world.command("add Gone Made", user="U0GONE", key="g2")
        assert "no access to Rapport" in answer(world, "g1")
        assert "no access to Rapport" in answer(world, "g2")
        assert contact_names(world) == []
        await world.command(f"restore <@{GUEST}|gus>", user=ADMIN, key="a1")
        await world.command("add Guest Made", user=GUEST, key="g3")  # restored on purpose
        assert contact_names(world) == ["Guest Made"]


async def test_a_setting_lets_guests_in(tmp_path: Path) -> None:
    async with SlackWorld.running(tmp_path, RAPPORT_SLACK_ALLOW_GUESTS=True) as world:
        world.standin.add_user(GUEST, "Gus Guest")
        world.standin.users[GUEST]["is_ultra_restricted"] = True
        await world.command("add Guest Made", user=GUEST)
        assert contact_names(world) == ["Guest Made"]


async def test_admins_list_revoke_restore_and_grant_and_it_is_audited(tmp_path: Path) -> None:
    async with SlackWorld.running(tmp_path) as world:
        await world.command("add First Contact", user=REP)
        await world.command(f"revoke <@{REP}>", user=REP, key="self")  # not an admin
        assert "Only an admin" in answer(world, "self")
        await world.command("reps", user=ADMIN, key="r1")
        assert "Alice Martin (rep)" in answer(world, "r1")
        await world.command(f"revoke <@{REP}>", user=ADMIN, key="r2")
        await world.command("add Locked Out", user=REP, key="r3")
        assert "no access to Rapport" in answer(world, "r3")
        await world.command("reps", user=ADMIN, key="r4")
        assert "Alice Martin (rep, access revoked)" in answer(world, "r4")
        await world.command("restore @Alice Martin", user=ADMIN, key="r5")
        await world.command("admin @alice", user=ADMIN, key="r6")
        await world.command("reps", user=REP, key="r7")  # now an admin herself
        assert "Alice Martin (admin)" in answer(world, "r7")
        await world.command("admin @alice", user=ADMIN, key="r8")  # typed twice
        assert "Alice Martin is an admin already; nothing changed." in answer(world, "r8")
        assert contact_names(world) == ["First Contact"]
        with world.rapport.store.transaction() as session:
            actions = [a.action for a in session.exec(select(AuditLog)).all()]
        assert [a for a in actions if a in ("rep.revoke", "rep.restore", "rep.admin")] == [
            "rep.revoke",
            "rep.restore",
            "rep.admin",
        ]


async def test_private_reminders_are_hidden_from_other_reps(tmp_path: Path) -> None:
    async with SlackWorld.running(tmp_path) as world:
        await world.command("remind me to call my doctor about the test results tomorrow 9am")
        await world.command("followups all", user=ADMIN, key="f1")
        seen = answer(world, "f1")
        assert "private reminder of Alice Martin" in seen and "doctor" not in seen
        await world.command("followups all", user=REP, key="f2")
        assert "doctor" in answer(world, "f2")
