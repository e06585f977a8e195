"""`report <name> [period]`: a short text answer everywhere, plus a chart where it helps.

Slack uploads the chart (Reply.image); the shell has nowhere to show a picture,
so the chart is saved under the data directory and its path is printed.
"""

from pathlib import Path

from sqlmodel import Session

from bot.context import HandlerContext
from bot.language.commands import Report
from bot.rep.router import Router
from channels.base import Reply


def report(ctx: HandlerContext, session: Session, cmd: Report) -> Reply:
    # The analytics stack (numpy, scipy's models) loads with the first report, not with
    # every start of `rapport` (benchmarks/startup.py measures that).
    from bot.reports import Assumptions, run_report

    settings = ctx.settings
    result = run_report(
        session,
        name=cmd.report,
        period_text=cmd.period,
        tz=ctx.tz,
        now=ctx.now,
        pipeline=ctx.services.pipeline,
        assumptions=Assumptions.from_settings(settings),
    )
    text = f"{result.title}\n{result.text}"
    if result.chart is None:
        return Reply(text)
    if not ctx.services.hub.traits(ctx.actor.channel or "").shows_images:
        path = save_chart(Path(settings.data_dir) / "charts", cmd.report, ctx, result.chart)
        return Reply(f"{text}\nChart saved to {path}")
    return Reply(text, image=result.chart, image_title=result.title)


def save_chart(folder: Path, name: str, ctx: HandlerContext, png: bytes) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}-{ctx.now:%Y%m%d-%H%M%S}.png"
    path.write_bytes(png)
    return path.resolve()


def register(router: Router) -> None:
    router.add(Report, report, report=True)
