"""Which interval owns a record, decided from the file alone (so every run agrees).

- A record with a timestamp belongs to the hour of that timestamp.
- A bad record (no usable time) belongs to the hour of the last accepted timestamp
  before it in the same file (the first one after it, at the top of a file; the
  file's modification time if the file has none).
- A timestamp further than `tolerance` from the file's running timeline (the last
  accepted timestamp) is a clock outlier: it is quarantined as `timestamp_out_of_range`
  in the hour of that last accepted timestamp. After REANCHOR consecutive outliers that
  agree with each other the timeline moves to them (a real gap or clock change): those
  REANCHOR-1 first lines stay quarantined, the rest is accepted.
Because all of this depends only on the file, any split of time into intervals
quarantines every bad record exactly once and accepts every good one exactly once.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

REANCHOR = 3


class Timeline:
    def __init__(self, tolerance: timedelta) -> None:
        self.tolerance = tolerance
        self.ref: datetime | None = None
        self._pending: list[Any] = []
        self._streak = 0
        self._streak_last: datetime | None = None

    def observe(self, ts: datetime) -> tuple[bool, datetime | None, list[tuple[datetime, Any]]]:
        """(accepted, owner time if rejected, bad records now attributable)."""
        if self.ref is None:
            self.ref = ts
            flushed = [(ts, rec) for rec in self._pending]
            self._pending.clear()
            return True, None, flushed
        if abs(ts - self.ref) <= self.tolerance:
            self.ref = ts
            self._streak = 0
            return True, None, []
        if self._streak and abs(ts - self._streak_last) <= self.tolerance:
            self._streak += 1
        else:
            self._streak = 1
        self._streak_last = ts
        if self._streak >= REANCHOR:
            self.ref = ts
            self._streak = 0
            return True, None, []
        return False, self.ref, []

    def bad(self, record: Any) -> list[tuple[datetime, Any]]:
        if self.ref is None:
            self._pending.append(record)
            return []
        return [(self.ref, record)]

    def finish(self, fallback: datetime | None) -> list[tuple[datetime | None, Any]]:
        out = [(fallback, rec) for rec in self._pending]
        self._pending.clear()
        return out
