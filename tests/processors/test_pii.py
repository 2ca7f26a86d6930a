"""PII detectors against plain references: Luhn and IBAN mod-97 written the textbook way
(big integers), and the SSA's rules for social security numbers."""

import logging
import string

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mastra.errors import ValidationError
from mastra.processors import PIIDetector, detect_pii, iban_valid, luhn_valid, redact_pii

FAST = settings(max_examples=150, deadline=None)


def luhn_reference(number: str) -> bool:
    digits = [int(c) for c in number]
    checksum = 0
    for i, d in enumerate(reversed(digits)):
        if i % 2 == 1:
            d *= 2
            if d > 9:
                d -= 9
        checksum += d
    return checksum % 10 == 0


def iban_reference(iban: str) -> bool:
    rearranged = iban[4:] + iban[:4]
    as_number = "".join(str(int(c, 36)) for c in rearranged)
    return int(as_number) % 97 == 1


def with_check_digits(country: str, bban: str) -> str:
    """A valid IBAN for ``country`` and ``bban`` (ISO 7064 check digits, by big integers)."""
    as_number = "".join(str(int(c, 36)) for c in bban + country + "00")
    return f"{country}{98 - int(as_number) % 97:02d}{bban}"


def kinds(text, only):
    return [(m.kind, text[m.start : m.end]) for m in detect_pii(text, [only])]


@FAST
@given(st.text(alphabet=string.digits, min_size=13, max_size=19))
def test_card_numbers_are_found_exactly_when_luhn_holds(number):
    assert luhn_valid(number) == luhn_reference(number)
    text = f"pay with {number} please"
    found = kinds(text, "credit_card")
    assert found == ([("credit_card", number)] if luhn_reference(number) else [])


@FAST
@given(st.text(alphabet=string.digits, min_size=15, max_size=16))
def test_grouped_card_numbers_followed_by_an_expiry(number):
    if not luhn_reference(number):
        number = number[:-1] + str((10 - sum_without_check(number[:-1])) % 10)
    grouped = " ".join(number[i : i + 4] for i in range(0, len(number), 4))
    text = f"card {grouped} 12/29 thanks"
    assert kinds(text, "credit_card") == [("credit_card", grouped)]
    redacted = redact_pii(text, detect_pii(text))
    assert redacted == "card [CREDIT_CARD] 12/29 thanks"


def sum_without_check(payload: str) -> int:
    """The Luhn sum of ``payload`` as if a check digit followed it."""
    total = 0
    for i, char in enumerate(reversed(payload)):
        d = int(char)
        if i % 2 == 0:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return total


bban = st.text(alphabet=string.ascii_uppercase + string.digits, min_size=11, max_size=30)
country = st.text(alphabet=string.ascii_uppercase, min_size=2, max_size=2)


@FAST
@given(country, st.text(alphabet=string.digits, min_size=2, max_size=2), bban)
def test_ibans_are_found_exactly_when_mod97_holds(cc, check, rest):
    iban = cc + check + rest
    assert iban_valid(iban) == iban_reference(iban)
    found = kinds(f"send it to {iban} today", "iban")
    assert found == ([("iban", iban)] if iban_reference(iban) else [])


@FAST
@given(country, bban)
def test_valid_ibans_printed_in_groups_are_found(cc, rest):
    iban = with_check_digits(cc, rest)
    assert iban_reference(iban) and iban_valid(iban)
    printed = " ".join(iban[i : i + 4] for i in range(0, len(iban), 4))
    text = f"IBAN: {printed}. Thanks"
    assert kinds(text, "iban") == [("iban", printed)]


@FAST
@given(st.integers(0, 999), st.integers(0, 99), st.integers(0, 9999))
def test_ssns_follow_the_ssa_rules(area, group, serial):
    ssn = f"{area:03d}-{group:02d}-{serial:04d}"
    valid = area not in (0, 666) and area < 900 and group != 0 and serial != 0
    assert kinds(f"ssn {ssn}.", "ssn") == ([("ssn", ssn)] if valid else [])


local = st.text(alphabet=string.ascii_lowercase + string.digits + "._+", min_size=1, max_size=20)
label = st.text(alphabet=string.ascii_lowercase + string.digits, min_size=1, max_size=12)


@FAST
@given(local.filter(lambda s: s[0] not in "._+"), label, st.sampled_from(["com", "org", "io"]))
def test_emails_are_found_with_their_exact_span(user, domain, tld):
    email = f"{user}@{domain}.{tld}"
    assert kinds(f"write to {email}, soon", "email") == [("email", email)]


@pytest.mark.parametrize(
    ("text", "kind", "value"),
    [
        ("call +1 (555) 123-4567 now", "phone", "+1 (555) 123-4567"),
        ("or 555-123-4567.", "phone", "555-123-4567"),
        ("UK +44 20 7946 0958", "phone", "+44 20 7946 0958"),
        ("key sk-proj-abcDEF1234567890abcXYZ ok", "api_key", "sk-proj-abcDEF1234567890abcXYZ"),
        ("aws AKIAIOSFODNN7EXAMPLE x", "api_key", "AKIAIOSFODNN7EXAMPLE"),
        ("gh ghp_" + "a" * 36, "api_key", "ghp_" + "a" * 36),
    ],
)
def test_phone_and_key_shapes(text, kind, value):
    assert kinds(text, kind) == [(kind, value)]


@pytest.mark.parametrize(
    "text",
    [
        "order 1234567890123 shipped",  # 13 digits, Luhn fails
        "on 2024-01-15 at 10:30",
        "ip 192.168.100.200",
        "version 1.2.3-4",
        "no pii here at all",
    ],
)
def test_ordinary_numbers_are_not_pii(text):
    assert detect_pii(text) == []


def test_overlaps_go_to_the_more_specific_kind_and_unknown_kinds_are_refused():
    text = "key sk-ant-api03-5551234567aaaaaaaaaaaaaaaaaaaa"
    assert [m.kind for m in detect_pii(text)] == ["api_key"]
    with pytest.raises(ValidationError, match="unknown PII kind"):
        detect_pii(text, ["passport"])
    with pytest.raises(ValidationError, match="strategy must be"):
        PIIDetector("shred")


async def test_warn_logs_kinds_and_counts_never_the_values(caplog):
    from mastra.messages import Message
    from mastra.processors import ProcessorContext

    secret = "sk-proj-" + "Q" * 40
    detector = PIIDetector("warn")
    message = Message.user(f"my key is {secret} and mail a@b.io")
    with caplog.at_level(logging.WARNING, logger="mastra.processors"):
        out = await detector.process_input([message], ProcessorContext(run_id="r1"))
    assert out == [message]
    logged = "\n".join(r.getMessage() for r in caplog.records)
    assert "api_key x1" in logged and "email x1" in logged
    assert secret not in logged and "a@b.io" not in logged
