"""``AsyncCloseable``: the one shape of every object that owns connections, files or
threads — ``async with obj:`` or ``await obj.aclose()`` releases them (``close()`` too)."""

from __future__ import annotations

from typing import Self

__all__ = ["AsyncCloseable"]


class AsyncCloseable:
    """Mixin: subclasses implement :meth:`aclose` (idempotent); ``async with`` and
    ``close()`` come with it."""

    async def aclose(self) -> None:
        """Release what this object holds; safe to call more than once."""

    async def close(self) -> None:
        """The same as :meth:`aclose`."""
        await self.aclose()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()
