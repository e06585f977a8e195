"""The one error a file that cannot be read raises (its own module: sniff and xlsx both
raise it, and sniff opens xlsx)."""

from crm.errors import CRMError


class FileRefused(CRMError):
    """The file cannot be read as a table; the message says why and how to fix it."""
