"""Shared pieces of the cache tests: a key type that runs Python code, and threads that
interleave inside each other's operations."""

import sys
import threading
from collections.abc import Callable


class Opaque:
    """A hashable key whose hashing and comparison run Python code (not a plain key)."""

    def __init__(self, n):
        self.n = n

    def __hash__(self):
        return hash(self.n)

    def __eq__(self, other):
        return isinstance(other, Opaque) and other.n == self.n

    def __repr__(self):
        return f"Opaque({self.n!r})"


def in_threads(work: Callable[[int], None], count: int = 4) -> list[tuple[int, Exception]]:
    """Run ``work(0)`` ... ``work(count - 1)`` on as many threads at once, switching between
    them every microsecond (so they interleave inside each other's operations); the
    exceptions they raised, with the argument of the call that raised each."""
    errors: list[tuple[int, Exception]] = []

    def run(n: int) -> None:
        try:
            work(n)
        except Exception as exc:  # reported to the caller
            errors.append((n, exc))

    old = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)
    threads = [threading.Thread(target=run, args=(n,)) for n in range(count)]
    try:
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    finally:
        sys.setswitchinterval(old)
    return errors
