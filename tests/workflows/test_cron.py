"""Cron against croniter (the reference) on random expressions and moments, and its errors."""

from datetime import UTC, datetime, timedelta

import pytest
from croniter import CroniterBadDateError, croniter
from hypothesis import given, settings
from hypothesis import strategies as st

from mastra.errors import ConfigError
from mastra.workflows import Cron

LIMITS = [(0, 59), (0, 23), (1, 31), (1, 12), (0, 6)]


@st.composite
def field(draw, low, high, day):
    # A day field written "*/n" is unrestricted for classic cron (both day fields must then
    # match); croniter counts it as restricted (either may match), so day fields here are
    # "*" or explicit; test_a_starred_step_leaves_a_day_field_unrestricted covers the rest.
    kinds = ["star", "value", "range", "range-step", "list"] + ([] if day else ["step"])
    kind = draw(st.sampled_from(kinds))
    if kind == "star":
        return "*"
    if kind == "step":
        return f"*/{draw(st.integers(1, high - low + 1))}"
    first = draw(st.integers(low, high))
    if kind == "value":
        return str(first)
    if first == high:
        return str(first)
    # croniter reads a one-value range "a-a" as "*" (classic cron: as "a"); ranges here span 2+
    last = draw(st.integers(first + 1, high))
    if kind == "range":
        return f"{first}-{last}"
    if kind == "range-step":
        return f"{first}-{last}/{draw(st.integers(1, 5))}"
    values = draw(st.lists(st.integers(low, high), min_size=2, max_size=4, unique=True))
    return ",".join(map(str, values))


@st.composite
def expressions(draw):
    return " ".join(
        draw(field(low, high, index in (2, 4))) for index, (low, high) in enumerate(LIMITS)
    )


moments = st.datetimes(
    min_value=datetime(2000, 1, 1), max_value=datetime(2060, 1, 1), timezones=st.just(UTC)
)


@settings(max_examples=300, deadline=None)
@given(expressions(), moments)
def test_next_after_matches_croniter(expression, moment):
    try:
        ours = Cron(expression).next_after(moment)
    except ConfigError as exc:  # e.g. 30 February: croniter finds no date either
        assert "never matches" in str(exc)
        with pytest.raises(CroniterBadDateError):
            croniter(expression, moment).get_next(datetime)
        return
    theirs = croniter(expression, moment).get_next(datetime)
    assert ours == theirs, (expression, moment)


@pytest.mark.parametrize(
    ("expression", "moment", "expected"),
    [
        ("@hourly", datetime(2026, 3, 1, 10, 0, tzinfo=UTC), datetime(2026, 3, 1, 11, 0)),
        ("0 0 29 2 *", datetime(2026, 3, 1, tzinfo=UTC), datetime(2028, 2, 29)),
        ("0 12 * jan,jul sun", datetime(2026, 1, 1, tzinfo=UTC), datetime(2026, 1, 4, 12)),
        ("0 0 13 * 5", datetime(2026, 2, 1, tzinfo=UTC), datetime(2026, 2, 6)),  # 13th or Fri
        (
            "59 23 31 12 7",
            datetime(2026, 12, 31, 23, 59, tzinfo=UTC),
            datetime(2027, 12, 5, 23, 59),
        ),
        ("* * 5-5 * *", datetime(2026, 1, 1, tzinfo=UTC), datetime(2026, 1, 5)),  # as "5"
    ],
)
def test_known_ticks(expression, moment, expected):
    assert Cron(expression).next_after(moment) == expected.replace(tzinfo=UTC)


def test_a_starred_step_leaves_a_day_field_unrestricted():
    """As classic (Vixie) cron: "*/1" in day-of-month starts with "*", so day-of-week alone
    decides: Sundays only, not every day."""
    assert Cron("0 0 */1 * 0").next_after(datetime(2000, 1, 1, tzinfo=UTC)) == datetime(
        2000, 1, 2, tzinfo=UTC
    )
    assert Cron("0 0 1 * 0").next_after(datetime(2000, 1, 1, tzinfo=UTC)) == datetime(
        2000, 1, 2, tzinfo=UTC
    )  # restricted both: the 1st or a Sunday, whichever comes first


def test_a_time_zone_skips_the_hour_daylight_saving_removes():
    cron = Cron("30 2 * * *", "Europe/Paris")  # 2:30 does not exist on 2026-03-29
    tick = cron.next_after(datetime(2026, 3, 27, 12, tzinfo=UTC))
    assert tick.astimezone(UTC) == datetime(2026, 3, 28, 1, 30, tzinfo=UTC)  # CET: UTC+1
    after = cron.next_after(tick)
    assert after.astimezone(UTC) == datetime(2026, 3, 30, 0, 30, tzinfo=UTC)  # CEST: UTC+2
    assert after - tick > timedelta(days=1)


@pytest.mark.parametrize(
    ("expression", "fragment"),
    [
        ("* * * *", "has 4 fields"),
        ("60 * * * *", "out of range"),
        ("*/0 * * * *", "step"),
        ("5-1 * * * *", "backwards"),
        ("* * * foo *", "not a number"),
        ("0 0 31 2 *", "never matches"),
    ],
)
def test_bad_expressions_say_what_is_wrong(expression, fragment):
    with pytest.raises(ConfigError, match=fragment):
        Cron(expression).next_after(datetime(2026, 1, 1, tzinfo=UTC))


def test_unknown_time_zone_and_naive_moments():
    with pytest.raises(ConfigError, match="time zone"):
        Cron("* * * * *", "Mars/Olympus")
    with pytest.raises(ConfigError, match="aware"):
        Cron("* * * * *").next_after(datetime(2026, 1, 1))
