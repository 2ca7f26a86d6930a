"""Time-ordered ids for messages, threads and runs: UUIDv7 (RFC 9562) as 32 hex digits, the
shape ``uuid4().hex`` had. Ids sort by creation time, so storage appends them at the end of
its indexes instead of scattering inserts across them; they are unique across processes
(62 random bits per id) and strictly increasing within one."""

from __future__ import annotations

import os
import threading
import time

__all__ = ["new_id", "new_ids"]

_lock = threading.Lock()
_last = 0  # the last id's 60 bits of milliseconds and sequence (rand_a), within this process


def _stamps(count: int) -> range:
    """``count`` consecutive (milliseconds << 12 | sequence) values, each above the last one
    handed out: the sequence counts ids made within one millisecond (and, past 4096 of them,
    borrows the next millisecond), so ids stay increasing even if the clock steps back."""
    global _last
    now = time.time_ns() // 1_000_000 << 12
    with _lock:
        first = max(now, _last + 1)
        _last = first + count - 1
    return range(first, first + count)


def _format(stamp: int, random: int) -> str:
    ms, seq = stamp >> 12, stamp & 0xFFF
    value = (ms << 80) | (0x7 << 76) | (seq << 64) | (0b10 << 62) | (random >> 2)
    return f"{value:032x}"


def new_ids(count: int) -> list[str]:
    """``count`` new ids, increasing."""
    noise = os.urandom(8 * count)
    return [
        _format(stamp, int.from_bytes(noise[8 * i : 8 * i + 8], "big"))
        for i, stamp in enumerate(_stamps(count))
    ]


def new_id() -> str:
    """A new id: later than every id this process made before."""
    return _format(_stamps(1)[0], int.from_bytes(os.urandom(8), "big"))
