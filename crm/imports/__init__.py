"""Importing from other CRMs' exports and spreadsheets, and exporting back (issue 18).

aliases.py is the header table to extend; sniff.py reads the file; mapping.py decides
the columns; one module per record type does the writes; report.py says what happened.
Domain code: nothing here knows about chats or the command line.
"""

from crm.imports.engine import ImportOptions, run_import
from crm.imports.report import ImportReport

__all__ = ["ImportOptions", "ImportReport", "run_import"]
