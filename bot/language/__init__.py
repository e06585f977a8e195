"""Rep text -> Command: pure, no I/O, no clock.

Importing the package loads the verb table (bot.language.verbs), which names every
Command type (`Command.name`), so a command built by a button or a form has its name
even in a process that has parsed nothing yet.
"""

from bot.language import verbs as verbs  # noqa: F401 - loaded for its table
