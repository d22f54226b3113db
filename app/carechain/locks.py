"""Named locks of this process. The web app serves every user from one process (unlocked keys live
in its memory), so these serialize what must not run twice at once: one account's transactions,
and two identical submissions (a double click, two tabs) of one record or one grant."""

import threading

_LOCKS: dict[tuple, threading.Lock] = {}
_GUARD = threading.Lock()


def named_lock(*name) -> threading.Lock:
    """The one lock of this process for `name` (any hashable parts)."""
    with _GUARD:
        return _LOCKS.setdefault(name, threading.Lock())
