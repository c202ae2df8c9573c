"""The daily budget of LLM calls: what was spent per UTC day, and whether another call may start.

Spend is recorded per input partition, so that a stage run by several workers splits the budget
by the partitions each one owns (one worker owning every partition has all of it) and the whole
never goes past it by more than the calls already in flight.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

__all__ = ["DailyBudget", "utc_day", "next_utc_midnight"]


def utc_day(now_s: float) -> str:
    """'2025-03-24' for a time in seconds since the epoch."""
    return datetime.fromtimestamp(now_s, UTC).strftime("%Y-%m-%d")


def next_utc_midnight(now_s: float) -> float:
    day = datetime.fromtimestamp(now_s, UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    return (day + timedelta(days=1)).timestamp()


class DailyBudget:
    def __init__(self, limit_usd: float | None, partitions: int) -> None:
        self.limit_usd, self.partitions = limit_usd, partitions
        self._spent: dict[tuple[int, str], float] = {}  # (partition, day) -> USD
        self.dirty: set[tuple[int, str]] = set()

    def load(self, partition: int, day: str, usd: float) -> None:
        self._spent[(partition, day)] = usd

    def add(self, partition: int, now_s: float, usd: float) -> None:
        key = (partition, utc_day(now_s))
        self._spent[key] = self._spent.get(key, 0.0) + usd
        self.dirty.add(key)

    def spent(self, now_s: float, owned: set[int] | None = None) -> float:
        """USD spent today (UTC) on the partitions `owned` (None: every partition known)."""
        day = utc_day(now_s)  # a copy of the items: the status thread reads while calls add
        return sum(usd for (p, d), usd in list(self._spent.items()) if d == day and (owned is None or p in owned))

    def allowance(self, owned: set[int]) -> float | None:
        """Today's allowance of the partitions `owned`, or None without a budget."""
        if self.limit_usd is None:
            return None
        return self.limit_usd * len(owned) / self.partitions

    def exhausted(self, now_s: float, owned: set[int], in_flight_usd: float = 0.0) -> bool:
        allowance = self.allowance(owned)
        return allowance is not None and self.spent(now_s, owned) + in_flight_usd >= allowance

    def old_days(self, now_s: float) -> list[tuple[int, str]]:
        """Records of days before today (yesterday's is kept for the status), forgotten here."""
        keep = {utc_day(now_s), utc_day(now_s - 86_400)}
        old = [key for key in self._spent if key[1] not in keep]
        for key in old:
            del self._spent[key]
            self.dirty.discard(key)
        return old

    def drop(self, partitions: set[int]) -> None:
        for key in [k for k in self._spent if k[0] in partitions]:
            del self._spent[key]
            self.dirty.discard(key)

    def take_dirty(self) -> list[tuple[int, str, float]]:
        out = [(p, d, self._spent[(p, d)]) for p, d in sorted(self.dirty) if (p, d) in self._spent]
        self.dirty.clear()
        return out
