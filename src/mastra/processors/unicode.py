"""Unicode normalisation of the new user text: one form (NFKC), no invisible characters."""

from __future__ import annotations

import re
import unicodedata
from typing import Literal

from mastra.errors import ValidationError
from mastra.messages import Message
from mastra.processors.base import Processor, ProcessorContext, latest_turn
from mastra.processors.text import map_text

__all__ = ["UnicodeNormalizer"]

# Control characters but tab, newline and carriage return; zero-width characters and the
# bidirectional overrides that hide or reorder text ("Trojan Source").
_INVISIBLE = re.compile(
    "[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u2069"
    "\ufeff]"
)
_SPACES = re.compile(r"[ \t]+")


class UnicodeNormalizer(Processor):
    """Brings the new user messages to one Unicode ``form`` (NFKC folds full-width letters,
    ligatures and other look-alikes), removes control, zero-width and bidirectional-override
    characters, and with ``collapse_whitespace`` folds runs of spaces and tabs into one."""

    __slots__ = ("collapse_whitespace", "form", "strip_invisible")

    def __init__(
        self,
        form: Literal["NFC", "NFKC", "NFD", "NFKD"] = "NFKC",
        *,
        strip_invisible: bool = True,
        collapse_whitespace: bool = False,
    ) -> None:
        if form not in ("NFC", "NFKC", "NFD", "NFKD"):
            raise ValidationError(f"form must be NFC, NFKC, NFD or NFKD, got {form!r}")
        self.form: Literal["NFC", "NFKC", "NFD", "NFKD"] = form
        self.strip_invisible = strip_invisible
        self.collapse_whitespace = collapse_whitespace

    def normalize(self, text: str) -> str:
        """``text`` normalised as configured."""
        if text.isascii():
            if text.isprintable() and not self.collapse_whitespace:
                return text  # nothing to fold, nothing invisible
        else:
            text = unicodedata.normalize(self.form, text)
        if self.strip_invisible:
            text = _INVISIBLE.sub("", text)
        if self.collapse_whitespace:
            text = _SPACES.sub(" ", text)
        return text

    async def process_input(self, messages: list[Message], ctx: ProcessorContext) -> list[Message]:
        start = latest_turn(messages)
        out = messages[:start]
        for message in messages[start:]:
            out.append(map_text(message, self.normalize) if message.role == "user" else message)
        return out
