"""`.env.example` lists every setting, and every line in it is a real setting."""

from pathlib import Path

from bot.settings import Settings

ROOT = Path(__file__).resolve().parents[2]


def documented() -> set[str]:
    names = set()
    for line in (ROOT / ".env.example").read_text().splitlines():
        if line and not line.startswith("#") and "=" in line:
            names.add(line.split("=", 1)[0].strip())
    return names


def settings_names() -> set[str]:
    return {str(field.validation_alias) for field in Settings.model_fields.values()}


def test_every_setting_is_documented_and_nothing_else() -> None:
    assert documented() == settings_names()


def test_every_documented_setting_has_a_comment() -> None:
    """Each setting, or the group of settings it stands in, is preceded by a comment."""
    lines = (ROOT / ".env.example").read_text().splitlines()
    for index, line in enumerate(lines):
        if not line or line.startswith("#"):
            continue
        above = index - 1
        while above >= 0 and lines[above] and not lines[above].startswith("#"):
            above -= 1  # another setting of the same group
        assert above >= 0 and lines[above].startswith("#"), f"no comment for {line}"
