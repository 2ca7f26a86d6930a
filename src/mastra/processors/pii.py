"""PII detection: emails, phone numbers, payment cards (Luhn), IBANs (mod-97), US social
security numbers and API keys, as a processor that redacts, blocks or warns.

Every finder is a compiled regular expression behind a cheap pre-check (no ``@``, no digit
run: skipped), and the shapes that carry a checksum are only reported when it holds, so
an order number is not a card. Overlaps go to the more specific kind (an API key beats a
phone number found inside it).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import TYPE_CHECKING, AnyStr, Literal, TypeAlias

import msgspec

from mastra.errors import ValidationError
from mastra.llm.types import TextDelta
from mastra.messages import Message
from mastra.processors.base import Processor, ProcessorContext, StreamOutput, latest_turn
from mastra.processors.text import map_result_text, map_text
from mastra.telemetry import get_logger

if TYPE_CHECKING:
    from mastra.agent.results import AgentEvent, AgentResult

__all__ = [
    "PII_KINDS",
    "PIIDetector",
    "PIIKind",
    "PIIMatch",
    "detect_pii",
    "iban_valid",
    "luhn_valid",
    "redact_pii",
]

PIIKind: TypeAlias = Literal["api_key", "iban", "credit_card", "ssn", "email", "phone"]
# Priority order: when two findings overlap, the earlier kind wins.
PII_KINDS: tuple[PIIKind, ...] = ("api_key", "iban", "credit_card", "ssn", "email", "phone")

_log = get_logger("processors")


class PIIMatch(msgspec.Struct, frozen=True):
    """One finding: its kind and where it is (``text[start:end]``). The value itself is not
    kept, so a match can be logged or returned safely."""

    kind: str
    start: int
    end: int


# -- checksums ---------------------------------------------------------------------------


def luhn_valid(digits: str) -> bool:
    """The Luhn check every payment card number passes (``digits``: only 0-9)."""
    total = 0
    for position, char in enumerate(reversed(digits)):
        value = ord(char) - 48
        if position & 1:
            value = value * 2 - 9 if value > 4 else value * 2
        total += value
    return total % 10 == 0


def iban_valid(iban: str) -> bool:
    """ISO 13616 IBAN check: 15-34 letters and digits, two-letter country, the mod-97 of the
    rearranged number is 1 (spaces are ignored)."""
    compact = iban.replace(" ", "")
    if not 15 <= len(compact) <= 34 or not compact[:2].isalpha() or not compact[2:4].isdigit():
        return False
    remainder = 0
    for char in compact[4:] + compact[:4]:
        if "0" <= char <= "9":
            remainder = (remainder * 10 + ord(char) - 48) % 97
        elif "A" <= char <= "Z":
            remainder = (remainder * 100 + ord(char) - 55) % 97
        else:
            return False
    return remainder == 1


# -- finders -----------------------------------------------------------------------------
#
# Python's regular expressions scan a character class at a few ns per character, too slow to
# run six patterns over every message. So each text is first reduced to a byte mask (one
# byte per character: digit "d", separator "s", "(" ")" "+" "p", capital letter "A",
# anything else "."); literal searches in the mask (fast) find the few places that could
# hold PII, and the patterns run only there.

_API_KEY = re.compile(
    r"(?<![\w-])(?:"
    r"sk-(?:proj-|ant-(?:api\d\d-)?|svcacct-)?[A-Za-z0-9_-]{20,}"  # OpenAI, Anthropic ...
    r"|[sr]k_(?:live|test)_[A-Za-z0-9]{16,}"  # Stripe
    r"|A(?:KIA|SIA)[0-9A-Z]{16}"  # AWS access key id
    r"|gh[pousr]_[A-Za-z0-9]{36,}|github_pat_[A-Za-z0-9_]{22,}"  # GitHub
    r"|xox[abprs]-[A-Za-z0-9-]{10,}"  # Slack
    r"|AIza[0-9A-Za-z_-]{35}"  # Google
    r"|glpat-[A-Za-z0-9_-]{20,}"  # GitLab
    r"|gsk_[A-Za-z0-9]{20,}"  # Groq
    r"|eyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}"  # JWT
    r")"
)
# Where a key can start, found from a rare character inside its prefix (a dash, an
# underscore, a "J"), or from two capitals in a row (AKIA..., AIza...).
_ANCHORED: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("-", ("sk-", "glpat-", "xoxa-", "xoxb-", "xoxp-", "xoxr-", "xoxs-")),
    ("_", ("sk_", "rk_", "ghp_", "gho_", "ghu_", "ghs_", "ghr_", "github_", "gsk_")),
    ("J", ("eyJ",)),
)
_CAPITALS = ("AKIA", "ASIA", "AIza")
_IBAN = re.compile(r"(?<![A-Za-z0-9])[A-Z]{2}[0-9]{2}(?: ?[A-Z0-9]{1,4}){3,8}(?![A-Za-z0-9])")
_CARD = re.compile(r"(?<![0-9.-])[0-9](?:[ -]?[0-9]){12,18}(?![0-9])")
_SSN = re.compile(
    r"(?<![0-9-])(?!000|666|9[0-9][0-9])[0-9]{3}-(?!00)[0-9]{2}-(?!0000)[0-9]{4}(?![0-9-])"
)
_PHONE = re.compile(
    r"(?<![\w+])(?<![0-9][ -])(?:\+[0-9]{1,3}[ -]?)?(?:\([0-9]{1,4}\)[ -]?)?[0-9]{2,4}"
    r"(?:[ -]?[0-9]{2,4}){1,4}(?!\w)(?![ -][0-9])"
)
_NOT_DIGIT = re.compile(r"[^0-9]")
_EMAIL_LOCAL = re.compile(r"[A-Za-z0-9._%+-]{1,64}$")
_EMAIL_DOMAIN = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,62}\.)+[A-Za-z]{2,24}(?![A-Za-z0-9-])")

_MASK = bytes(
    ord("d") if chr(b).isdigit() and b < 128
    else ord("s") if chr(b) in " -"
    else ord("p") if chr(b) in "()+"
    else ord("A") if "A" <= chr(b) <= "Z"
    else ord(".")
    for b in range(256)
)  # fmt: skip
_NUMBER = re.compile(rb"d[dsp]*")
_IBAN_START = re.compile(rb"AAdd[Ads]*")

Span: TypeAlias = tuple[int, int]


def _mask(text: str) -> bytes:
    """One byte per character of ``text`` (non-ASCII characters count as "other")."""
    return text.encode("ascii", "replace").translate(_MASK)


def _shrinking(text: str, start: int, end: int, check: Callable[[str], bool]) -> Span | None:
    """The longest prefix of ``text[start:end]`` ending at a group boundary (a space or
    dash) whose value passes ``check``: a number followed by more digit groups ("... 1111
    12/25") is still found."""
    while end > start:
        if check(text[start:end]):
            return start, end
        cut = max(text.rfind(" ", start, end), text.rfind("-", start, end))
        if cut <= start:
            return None
        end = cut
    return None


def _card(candidate: str) -> bool:
    digits = _NOT_DIGIT.sub("", candidate)
    return 13 <= len(digits) <= 19 and luhn_valid(digits)


def _phone(candidate: str) -> bool:
    digits = len(_NOT_DIGIT.sub("", candidate))
    formatted = candidate[0] in "+(" or " " in candidate or "-" in candidate
    return formatted and 10 <= digits <= 15


# A run of digits and separators: (start, end, digit count, first digit, after the last
# digit), start..end widened to whole whitespace-separated words.
_Number: TypeAlias = tuple[int, int, int, int, int]


def _numbers(text: str, mask: bytes) -> list[_Number]:
    found: list[_Number] = []
    for match in _NUMBER.finditer(mask):
        first, last = match.start(), mask.rfind(b"d", 0, match.end()) + 1
        start = text.rfind(" ", 0, first) + 1
        end = text.find(" ", last)
        if end < 0:
            end = len(text)
        if found and start <= found[-1][1]:
            start, _, _, first, _ = found.pop()
        found.append((start, end, mask.count(b"d", start, end), first, last))
    return found


_NUMBER_KINDS: dict[str, tuple[re.Pattern[str], Callable[[str], bool] | None, int]] = {
    "credit_card": (_CARD, _card, 13),
    "ssn": (_SSN, None, 9),
    "phone": (_PHONE, _phone, 10),
}


def _in_numbers(
    kind: str, text: str, numbers: list[_Number], taken: list[PIIMatch]
) -> Iterator[Span]:
    """``kind`` in the number runs that have enough digits for it and whose digits no
    earlier finding covers already (an IBAN's digits are not also tried as a card)."""
    pattern, check, least = _NUMBER_KINDS[kind]
    for start, end, digits, first, last in numbers:
        if digits < least or any(m.start <= first and last <= m.end for m in taken):
            continue
        for match in pattern.finditer(text, start, end):
            if check is None:
                yield match.span()
            elif (span := _shrinking(text, match.start(), match.end(), check)) is not None:
                yield span


def _ibans(text: str, mask: bytes) -> Iterator[Span]:
    for candidate in _IBAN_START.finditer(mask):
        for match in _IBAN.finditer(text, candidate.start(), candidate.end()):
            span = _shrinking(text, match.start(), match.end(), iban_valid)
            if span is not None:
                yield span


def _key_starts(text: str, mask: bytes) -> Iterator[int]:
    for anchor, prefixes in _ANCHORED:
        for at in _occurrences(text, anchor):
            window = text[max(0, at - 7) : at + 1]
            for prefix in prefixes:
                if window.endswith(prefix):
                    yield at + 1 - len(prefix)
    for at in _occurrences(mask, b"AA"):
        if text.startswith(_CAPITALS, at):
            yield at


def _api_keys(text: str, mask: bytes) -> Iterator[Span]:
    for at in sorted(set(_key_starts(text, mask))):
        match = _API_KEY.match(text, at)
        if match is not None:
            yield match.span()


def _occurrences(text: AnyStr, needle: AnyStr) -> Iterator[int]:
    at = text.find(needle)
    while at >= 0:
        yield at
        at = text.find(needle, at + 1)


def _emails(text: str) -> Iterator[Span]:
    at = text.find("@")
    while at > 0:
        local = _EMAIL_LOCAL.search(text, max(0, at - 64), at)
        domain = _EMAIL_DOMAIN.match(text, at + 1)
        if local is not None and domain is not None and text[local.start()] not in ".-":
            yield local.start(), domain.end()
        at = text.find("@", at + 1)


def _kinds(kinds: Iterable[str]) -> tuple[str, ...]:
    wanted = set(kinds)
    unknown = wanted - set(PII_KINDS)
    if unknown:
        raise ValidationError(
            f"unknown PII kind(s) {sorted(unknown)}; expected some of {', '.join(PII_KINDS)}"
        )
    return tuple(kind for kind in PII_KINDS if kind in wanted)


def _spans(
    kind: str,
    text: str,
    mask: bytes,
    numbers: list[_Number],
    taken: list[PIIMatch],
) -> Iterator[Span]:
    if kind == "api_key":
        return _api_keys(text, mask)
    if kind == "iban":
        return _ibans(text, mask)
    if kind == "email":
        return _emails(text)
    return _in_numbers(kind, text, numbers, taken)


def detect_pii(text: str, kinds: Iterable[str] = PII_KINDS) -> list[PIIMatch]:
    """The PII in ``text``, in order of position; where findings overlap the more specific
    kind wins (API key, IBAN, card, SSN, email, phone)."""
    return _detect(text, PII_KINDS if kinds is PII_KINDS else _kinds(kinds))


def _detect(text: str, chosen: Sequence[str]) -> list[PIIMatch]:
    mask = _mask(text)
    # The shortest number worth a look has 9 digits (an SSN); IBANs are found on their own.
    numbers = _numbers(text, mask) if mask.count(b"d") >= 9 else []
    most = max([number[2] for number in numbers]) if numbers else 0
    taken: list[PIIMatch] = []
    for kind in chosen:
        if not _possible(kind, text, mask, most):
            continue
        for start, end in list(_spans(kind, text, mask, numbers, taken)):
            if not any(start < m.end and m.start < end for m in taken):
                taken.append(PIIMatch(kind, start, end))
    taken.sort(key=lambda m: m.start)
    return taken


def _possible(kind: str, text: str, mask: bytes, most_digits: int) -> bool:
    """Whether ``text`` has what ``kind`` needs: an "@"; two capitals and two digits; a
    key prefix's dash, underscore, "J" or two capitals; a run of enough digits."""
    if kind == "email":
        return "@" in text
    if kind == "iban":
        return b"AAdd" in mask
    if kind == "api_key":
        return "-" in text or "_" in text or "J" in text or b"AA" in mask
    return most_digits >= _NUMBER_KINDS[kind][2]


def redact_pii(text: str, matches: Sequence[PIIMatch], placeholder: str = "[{KIND}]") -> str:
    """``text`` with each match replaced by ``placeholder`` (``{KIND}`` becomes ``EMAIL``,
    ``CREDIT_CARD`` ...)."""
    pieces: list[str] = []
    last = 0
    for match in matches:
        pieces.append(text[last : match.start])
        pieces.append(placeholder.replace("{KIND}", match.kind.upper()))
        last = match.end
    pieces.append(text[last:])
    return "".join(pieces)


# -- the processor ------------------------------------------------------------------------

Strategy = Literal["redact", "block", "warn"]
Where = Literal["input", "output", "both"]
# Text held back in a stream so that PII split across chunks is still seen whole: longer
# than any card, IBAN, phone number or key prefix we look for.
_HOLD = 96


def _summary(matches: Sequence[PIIMatch]) -> str:
    counts: dict[str, int] = {}
    for match in matches:
        counts[match.kind] = counts.get(match.kind, 0) + 1
    return ", ".join(f"{kind} x{count}" for kind, count in counts.items())


class PIIDetector(Processor):
    """Finds PII in the new user messages (input), the answer (output) and, streaming, the
    text deltas.

    Args:
        strategy: ``"redact"`` replaces each finding with ``[EMAIL]``, ``[CREDIT_CARD]``
            ... (what the model sees, what memory saves and what the caller gets);
            ``"block"`` trips the wire; ``"warn"`` logs the kinds and counts found (never the
            values) on the ``mastra.processors`` logger and lets the text through.
        kinds: which kinds to look for (default all of ``PII_KINDS``).
        apply_to: ``"input"``, ``"output"`` or ``"both"``.
        placeholder: the replacement, ``{KIND}`` standing for the upper-case kind.
    """

    __slots__ = ("apply_to", "kinds", "placeholder", "strategy")

    def __init__(
        self,
        strategy: Strategy = "redact",
        *,
        kinds: Iterable[PIIKind] = PII_KINDS,
        apply_to: Where = "both",
        placeholder: str = "[{KIND}]",
    ) -> None:
        if strategy not in ("redact", "block", "warn"):
            raise ValidationError(
                f"PIIDetector strategy must be 'redact', 'block' or 'warn', got {strategy!r}"
            )
        if apply_to not in ("input", "output", "both"):
            raise ValidationError(f"apply_to must be 'input', 'output' or 'both', got {apply_to!r}")
        self.strategy = strategy
        self.kinds = _kinds(kinds)
        self.apply_to = apply_to
        self.placeholder = placeholder

    def _handle(self, text: str, where: str, ctx: ProcessorContext) -> str:
        matches = _detect(text, self.kinds)
        if not matches:
            return text
        found = _summary(matches)
        if self.strategy == "block":
            ctx.abort(f"PII in the {where}: {found}")
        if self.strategy == "warn":
            _log.warning("PII in the %s of run %s: %s", where, ctx.run_id, found)
            return text
        return redact_pii(text, matches, self.placeholder)

    async def process_input(self, messages: list[Message], ctx: ProcessorContext) -> list[Message]:
        if self.apply_to == "output":
            return messages
        start = latest_turn(messages)
        out = messages[:start]
        for message in messages[start:]:
            if message.role == "user":
                message = map_text(message, lambda t: self._handle(t, "input", ctx))
            out.append(message)
        return out

    async def process_output(self, result: AgentResult, ctx: ProcessorContext) -> AgentResult:
        if self.apply_to == "input":
            return result
        return map_result_text(result, lambda t: self._handle(t, "output", ctx))

    async def process_output_stream(self, event: AgentEvent, ctx: ProcessorContext) -> StreamOutput:
        """Text deltas are held back until ``_HOLD`` characters follow them (or the step
        ends), then checked: PII split across chunks is found whole."""
        if self.apply_to == "input":
            return event
        held: str = ctx.state.get("held", "")
        if isinstance(event, TextDelta):
            held += event.text
            cut = len(held) - _HOLD
            if cut <= 0:
                ctx.state["held"] = held
                return None
            matches = _detect(held, self.kinds)
            for match in matches:
                if match.start < cut < match.end:
                    cut = match.start
            ctx.state["held"] = held[cut:]
            return TextDelta(self._handle(held[:cut], "output", ctx)) if cut else None
        if not held:
            return event
        ctx.state["held"] = ""
        return [TextDelta(self._handle(held, "output", ctx)), event]
