"""Cron expressions: five fields (minute hour day-of-month month day-of-week) with ``*``,
lists, ranges, steps and names, or ``@hourly``-style macros, evaluated on a time zone's
wall clock. As classic cron: when both day fields are restricted, a day matching either
one is a match."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from mastra.errors import ConfigError

__all__ = ["Cron"]

_MACROS = {
    "@yearly": "0 0 1 1 *",
    "@annually": "0 0 1 1 *",
    "@monthly": "0 0 1 * *",
    "@weekly": "0 0 * * 0",
    "@daily": "0 0 * * *",
    "@midnight": "0 0 * * *",
    "@hourly": "0 * * * *",
}
_MONTHS = ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec")
_DAYS = ("sun", "mon", "tue", "wed", "thu", "fri", "sat")
# (name, lowest, highest, names for lowest.. in order)
_FIELDS = (
    ("minute", 0, 59, ()),
    ("hour", 0, 23, ()),
    ("day of month", 1, 31, ()),
    ("month", 1, 12, _MONTHS),
    ("day of week", 0, 7, _DAYS),
)
_SEARCH_DAYS = 366 * 8  # a Feb 29 that is also a given weekday recurs within 28 years


class Cron:
    """A parsed cron expression in ``timezone`` (an IANA name; UTC by default).

    >>> Cron("*/15 9-17 * * mon-fri").next_after(datetime(2026, 1, 5, 9, 7, tzinfo=UTC))
    datetime.datetime(2026, 1, 5, 9, 15, tzinfo=datetime.timezone.utc)
    """

    def __init__(self, expression: str, timezone: str = "UTC") -> None:
        self.expression = expression
        try:
            self.zone = ZoneInfo(timezone)
        except (ValueError, LookupError) as exc:
            raise ConfigError(f"unknown time zone {timezone!r}: {exc}") from None
        text = _MACROS.get(expression.strip().lower(), expression)
        parts = text.split()
        if len(parts) != 5:
            raise ConfigError(
                f"cron expression {expression!r} has {len(parts)} fields; expected 5 "
                "(minute hour day-of-month month day-of-week) or a macro such as @hourly"
            )
        fields = [_field(part, *spec) for part, spec in zip(parts, _FIELDS, strict=True)]
        self.minutes, self.hours, self.days, self.months, weekdays = fields
        self.weekdays = {d % 7 for d in weekdays}  # 7 is Sunday too
        self._either_day = not parts[2].startswith("*") and not parts[4].startswith("*")

    def _day_matches(self, day: datetime) -> bool:
        in_month = day.day in self.days
        in_week = (day.isoweekday() % 7) in self.weekdays
        return (in_month or in_week) if self._either_day else (in_month and in_week)

    def next_after(self, moment: datetime) -> datetime:
        """The first time strictly after ``moment`` (an aware datetime) that matches, as an
        aware datetime in the expression's time zone."""
        if moment.tzinfo is None:
            raise ConfigError(f"next_after needs an aware datetime, got {moment!r}")
        local = moment.astimezone(self.zone).replace(second=0, microsecond=0, tzinfo=None)
        candidate = local + timedelta(minutes=1)
        limit = local + timedelta(days=_SEARCH_DAYS)
        while candidate <= limit:
            if candidate.month not in self.months:
                candidate = _next_month(candidate)
            elif not self._day_matches(candidate):
                candidate = (candidate + timedelta(days=1)).replace(hour=0, minute=0)
            elif candidate.hour not in self.hours:
                candidate = (candidate + timedelta(hours=1)).replace(minute=0)
            elif candidate.minute not in self.minutes:
                candidate += timedelta(minutes=1)
            else:
                found = candidate.replace(tzinfo=self.zone)
                exists = found.astimezone(UTC).astimezone(self.zone).replace(tzinfo=None)
                if exists == candidate and found > moment:  # not skipped by a DST change
                    return found
                candidate += timedelta(minutes=1)
        raise ConfigError(f"cron expression {self.expression!r} never matches")

    def __repr__(self) -> str:
        return f"Cron({self.expression!r}, {str(self.zone)!r})"


def _next_month(moment: datetime) -> datetime:
    first = moment.replace(day=1, hour=0, minute=0)
    return (
        first.replace(year=first.year + 1, month=1)
        if first.month == 12
        else first.replace(month=first.month + 1)
    )


def _value(text: str, name: str, low: int, high: int, names: tuple[str, ...]) -> int:
    lowered = text.lower()
    if lowered in names:
        return low + names.index(lowered)
    if not text.isdigit():
        raise ConfigError(f"cron {name} {text!r} is not a number from {low} to {high}")
    value = int(text)
    if not low <= value <= high:
        raise ConfigError(f"cron {name} {value} is out of range; expected {low} to {high}")
    return value


def _field(text: str, name: str, low: int, high: int, names: tuple[str, ...]) -> set[int]:
    values: set[int] = set()
    for item in text.split(","):
        spread, _, step_text = item.partition("/")
        step = 1
        if step_text:
            if not step_text.isdigit() or int(step_text) == 0:
                raise ConfigError(f"cron {name} step {step_text!r} must be a whole number >= 1")
            step = int(step_text)
        if spread == "*":
            start, end = low, high
        elif "-" in spread:
            first, _, last = spread.partition("-")
            start, end = (_value(v, name, low, high, names) for v in (first, last))
            if start > end:
                raise ConfigError(f"cron {name} range {spread!r} runs backwards")
        else:
            start = _value(spread, name, low, high, names)
            end = high if step_text else start
        values.update(range(start, end + 1, step))
    return values
