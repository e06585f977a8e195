"""`python -m bot` is the same as the `rapport` command."""

from bot.cli import app

app(prog_name="rapport")
