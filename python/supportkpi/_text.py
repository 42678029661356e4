"""Text from the data made safe for the medium it reaches: a terminal, a CSV cell.

(HTML is escaped where it is written, in ``_report``; matplotlib labels in ``_plot``.)
"""

from __future__ import annotations

from typing import Any

#: A CSV cell starting with one of these is read as a formula by spreadsheet programs
#: (OWASP "CSV injection": =, +, -, @, tab, carriage return).
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def terminal_safe(text: object) -> str:
    """``text`` with control characters shown as escapes, so data cannot move the cursor,
    recolour or clear a terminal (raw ESC sequences) or break a one-line message.

    Example:
        >>> terminal_safe("a\\x1b[2Jb\\nc é")
        'a\\\\x1b[2Jb\\\\nc é'
    """
    return "".join(
        c if c.isprintable() else c.encode("unicode_escape").decode("ascii") for c in str(text)
    )


def csv_safe(value: Any) -> Any:
    """A CSV cell that a spreadsheet shows as text: a string starting like a formula gets a
    leading ``'`` (as OWASP recommends); other values pass unchanged.

    Example:
        >>> csv_safe("=1+2"), csv_safe("@SUM(A1)"), csv_safe("web"), csv_safe(-1.5)
        ("'=1+2", "'@SUM(A1)", 'web', -1.5)
    """
    if isinstance(value, str) and value.startswith(_FORMULA_STARTS):
        return "'" + value
    return value
