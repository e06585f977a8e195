"""slack-manifest.yml agrees with the code: the command, the shortcut's callback id,
the events the app listens to (DMs included), one request URL for everything, the
scopes it needs."""

from pathlib import Path

import pytest

from bot.runtime.slack import EVENTS_PATH
from channels.slack.app import SlackAppConfig

yaml = pytest.importorskip("yaml")

MANIFEST = Path(__file__).resolve().parents[2] / "slack-manifest.yml"


def test_the_manifest_matches_what_the_app_listens_to() -> None:
    manifest = yaml.safe_load(MANIFEST.read_text(encoding="utf-8"))
    config = SlackAppConfig(signing_secret=None)
    features, settings = manifest["features"], manifest["settings"]
    [command] = features["slash_commands"]
    [shortcut] = features["shortcuts"]
    assert command["command"] == config.command
    assert (shortcut["type"], shortcut["callback_id"]) == ("message", config.shortcut_callback_id)
    assert features["app_home"]["home_tab_enabled"] is True
    # Reps type commands in their DM with Rapport: the Messages tab must accept text.
    assert features["app_home"]["messages_tab_enabled"] is True
    assert features["app_home"]["messages_tab_read_only_enabled"] is False
    assert set(settings["event_subscriptions"]["bot_events"]) == {
        "app_home_opened",
        "message.channels",
        "message.im",
    }
    urls = {
        command["url"],
        settings["event_subscriptions"]["request_url"],
        settings["interactivity"]["request_url"],
        settings["interactivity"]["message_menu_options_url"],
    }
    assert len(urls) == 1 and urls.pop().endswith(EVENTS_PATH)
    assert set(manifest["oauth_config"]["scopes"]["bot"]) == {
        "commands",
        "chat:write",
        "channels:history",
        "im:history",
        "users:read",
        "im:write",
        "files:write",
        "files:read",
    }
    assert settings["socket_mode_enabled"] is False  # HTTP by default; docs explain the switch
