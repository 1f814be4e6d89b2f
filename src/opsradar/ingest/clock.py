"""Timestamps -> UTC: naive times take the source's zone; missing years come from the interval."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

HALF_YEAR = timedelta(days=183)
_CACHE_MAX = 4096


class Clock:
    """Parses timestamp text for one source and one data interval.

    `reference` (the interval's midpoint) decides a missing year: of the previous,
    same and next year, the one that puts the time nearest the reference wins, so
    "Dec 31" lines read in a January interval belong to the previous year.
    """

    def __init__(self, tz: str, reference: datetime) -> None:
        self.zone = ZoneInfo(tz)
        self.reference = reference
        self._cache: dict[tuple[str, str], datetime] = {}

    def localize(self, naive: datetime) -> datetime:
        if naive.tzinfo is None:
            naive = naive.replace(tzinfo=self.zone)
        return naive.astimezone(timezone.utc)

    def strptime(self, text: str, fmt: str) -> datetime:
        key = (text, fmt)
        hit = self._cache.get(key)
        if hit is None:
            hit = self._parse(text, fmt)
            if len(self._cache) >= _CACHE_MAX:
                self._cache.clear()
            self._cache[key] = hit
        return hit

    def _parse(self, text: str, fmt: str) -> datetime:
        if fmt == "epoch":
            return self.epoch(text)
        if fmt == "iso":
            return self.iso(text)
        if "%Y" in fmt or "%y" in fmt or "%s" in fmt:
            return self.localize(datetime.strptime(text, fmt))
        # No year: parse with a year given (strptime alone rejects Feb 29), then pick the nearest.
        year = self.reference.year
        best = self.localize(datetime.strptime(f"{year} {text}", f"%Y {fmt}"))
        if abs(best - self.reference) > HALF_YEAR:
            for y in (year - 1, year + 1):
                try:
                    cand = self.localize(datetime.strptime(f"{y} {text}", f"%Y {fmt}"))
                except ValueError:
                    continue
                if abs(cand - self.reference) < abs(best - self.reference):
                    best = cand
        return best

    def iso(self, text: str) -> datetime:
        return self.localize(datetime.fromisoformat(text.strip()))

    def epoch(self, value: str | float | int) -> datetime:
        """Unix time in s, ms, us or ns (by magnitude)."""
        x = float(value)
        for scale in (1, 1e3, 1e6, 1e9):
            if abs(x) < 1e11 * scale:
                return datetime.fromtimestamp(x / scale, tz=timezone.utc)
        raise ValueError(f"epoch value {value!r} out of range")

    def auto(self, value: str | float | int, fmt: str | None = None) -> datetime:
        """A configured format, else ISO 8601 text or epoch numbers."""
        if fmt:
            return self.strptime(str(value).strip(), fmt)
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return self.epoch(value)
        text = str(value).strip()
        try:
            return self.iso(text)
        except ValueError:
            try:
                return self.epoch(text)
            except ValueError:
                raise ValueError(f"{text!r} is neither ISO 8601 nor epoch time") from None
