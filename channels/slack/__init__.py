"""The reps' Slack workspace: a bolt AsyncApp, Block Kit rendering and the hub adapter.

Like every channel this package imports only the neutral types (`channels.base`,
`channels.render`, `channels.http`) and the Slack SDKs; what needs the CRM is
handed in as callbacks (see `callbacks.py`) by `bot/runtime/slack.py`.
"""
