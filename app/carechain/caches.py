"""What this process has decrypted for a reader (record summaries, profiles), per (reader, digest):
in memory only, never on disk, the least recently used dropped beyond a budget. A digest names one
immutable object, so entries never go stale; access is checked before a cache is asked."""

import threading
from collections import OrderedDict
from collections.abc import Callable


class ReaderCache:
    """At most `budget` of weight (`weight(value)`: 1 each unless said otherwise), and always the
    latest entry."""

    def __init__(self, budget: int, weight: Callable[[object], int] = lambda value: 1):
        self.budget = budget
        self._weight = weight
        self._entries: OrderedDict[tuple[str, bytes], object] = OrderedDict()
        self._size = 0
        self._lock = threading.Lock()

    def get(self, reader: str, digest: bytes):
        with self._lock:
            value = self._entries.get((reader, digest))
            if value is not None:
                self._entries.move_to_end((reader, digest))
            return value

    def put(self, reader: str, digest: bytes, value) -> None:
        with self._lock:
            replaced = self._entries.pop((reader, digest), None)
            if replaced is not None:
                self._size -= self._weight(replaced)
            self._entries[reader, digest] = value
            self._size += self._weight(value)
            while self._size > self.budget and len(self._entries) > 1:
                _, dropped = self._entries.popitem(last=False)
                self._size -= self._weight(dropped)
