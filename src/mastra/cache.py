"""LRU and TTL caches on a compiled core, drop-in compatible with ``cachetools``, plus a
``cached`` decorator for sync and async functions.

>>> from mastra.cache import TTLCache, cached
>>> cache = TTLCache(maxsize=10_000, ttl=300)
>>> @cached(cache)
... async def embed(text: str) -> list[float]: ...

What is atomic: each single call (``cache[k]``, ``cache[k] = v``, ``del cache[k]``, ``get``,
``pop``, ``setdefault``, ``popitem``, ``expire``, ``clear``, ``in``) runs as one critical
section, so threads never corrupt the cache or lose an item that was not evicted or expired.
A sequence of calls is not atomic. See docs/cache.md.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import inspect
import time
from collections.abc import Awaitable, Callable, Hashable, MutableMapping
from datetime import timedelta
from typing import Any, ParamSpec, TypeVar, cast

import msgspec

from mastra._native._cache import CacheCore, Memoised, Timer

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")

__all__ = ["CacheStats", "LRUCache", "TTLCache", "cached", "hashkey"]

P = ParamSpec("P")
R = TypeVar("R")


class CacheStats(msgspec.Struct, frozen=True):
    """Counters since creation or the last ``reset_stats()``. ``evictions`` counts items
    removed to make room, ``expirations`` items removed because their time to live ran out;
    ``hit_rate`` is hits / (hits + misses), 0.0 before any lookup."""

    hits: int
    misses: int
    evictions: int
    expirations: int
    size: int
    maxsize: float
    hit_rate: float


class _StatsMixin:
    def stats(self: Any) -> CacheStats:
        """Hit, miss, eviction and expiration counts, the item count and the maxsize."""
        hits, misses, evictions, expirations, size, maxsize = self._stats()
        lookups = hits + misses
        return CacheStats(
            hits, misses, evictions, expirations, size, maxsize, hits / lookups if lookups else 0.0
        )


class LRUCache(CacheCore[K, V], _StatsMixin, MutableMapping[K, V]):
    """A least-recently-used cache holding items up to a total size of ``maxsize``.

    Like ``cachetools.LRUCache``: ``getsizeof(value)`` gives each item's size (1 by default),
    an item larger than ``maxsize`` raises ValueError, ``popitem()`` removes the least recently
    used item, and subclasses may define ``__missing__`` or override ``popitem``.
    """

    def __init__(self, maxsize: float, getsizeof: Callable[[V], int] | None = None) -> None:
        CacheCore.__init__(self, maxsize, getsizeof)
        if getsizeof is not None:
            vars(self)["getsizeof"] = getsizeof  # as cachetools: an instance attribute


class TTLCache(CacheCore[K, V], _StatsMixin, MutableMapping[K, V]):
    """An LRU cache whose items also expire ``ttl`` (of ``timer``) after they were last set,
    like ``cachetools.TTLCache``.

    Expired items are invisible to lookups, ``in``, iteration and ``len`` and are removed by
    ``expire()``, by ``len``/``currsize``, and before every insertion. The default timer,
    ``time.monotonic``, is read in C without a Python call. ``ttl`` is a number of seconds
    (then the timer must return numbers) or a ``datetime.timedelta`` (then the timer returns
    datetimes, or anything whose differences are timedeltas).
    """

    def __init__(
        self,
        maxsize: float,
        ttl: float | timedelta,
        timer: Callable[[], Any] = time.monotonic,
        getsizeof: Callable[[V], int] | None = None,
    ) -> None:
        CacheCore.__init__(self, maxsize, getsizeof, ttl=ttl, timer=timer)
        if getsizeof is not None:
            vars(self)["getsizeof"] = getsizeof  # as cachetools: an instance attribute

    @property
    def ttl(self) -> float | timedelta:
        """How long an item lives after it was set, as given."""
        return cast(float | timedelta, self._ttl_value())

    @property
    def timer(self) -> Timer:
        """The cache's timer: call it for the time the cache reads; ``with cache.timer as
        now:`` holds that time at ``now`` for every reading inside the block (several
        operations at one instant). Each cache, copies included, has its own."""
        return cast(Timer, self._timer_object())


_KWARGS_MARK = object()


_SELF_KEYED = (int, str)


def hashkey(*args: Hashable, **kwargs: Hashable) -> Hashable:
    """The cache key of a call: the tuple of its positional arguments, then its keyword
    arguments sorted by name (like ``cachetools.keys.hashkey``). A single positional argument
    whose type is exactly ``int`` or ``str`` is its own key (as in ``functools.lru_cache``):
    ``hashkey(3) == 3`` but ``hashkey(3.0) == (3.0,)``."""
    if not kwargs:
        if len(args) == 1 and type(args[0]) in _SELF_KEYED:
            return args[0]
        return args
    return (*args, _KWARGS_MARK, *sorted(kwargs.items()))


_MISSING = object()


def cached(
    cache: MutableMapping[Any, Any], key: Callable[..., Hashable] = hashkey
) -> Callable[[Callable[P, R]], Callable[P, R]]:
    """Memoise a sync or async function in ``cache``.

    For async functions, concurrent calls with the same key share one computation: the first
    call computes, the others await its result. Exceptions are never cached (every waiter gets
    the exception, and the next call computes again). Values too large for the cache are
    returned without being stored. The wrapper has ``cache``, ``cache_key`` and
    ``cache_clear()``.
    """

    def decorate(fn: Callable[P, R]) -> Callable[P, R]:
        wrapper: Callable[..., Any]
        if inspect.iscoroutinefunction(fn):
            wrapper = _async_cached(cache, key, fn)
        else:  # compiled: a hit costs about what functools.lru_cache's does
            wrapper = functools.update_wrapper(Memoised(fn, cache, key, key is hashkey), fn)
        vars(wrapper).update(cache=cache, cache_key=key, cache_clear=cache.clear)
        return cast(Callable[P, R], wrapper)

    return decorate


def _store(cache: MutableMapping[Any, Any], k: Hashable, value: Any) -> None:
    with contextlib.suppress(ValueError):  # larger than the whole cache: returned uncached
        cache[k] = value


def _async_cached(
    cache: MutableMapping[Any, Any],
    key: Callable[..., Hashable],
    fn: Callable[..., Awaitable[Any]],
) -> Callable[..., Awaitable[Any]]:
    # One task per key and event loop computes; every caller awaits it through a shield, so
    # a caller that is cancelled (a client went away) cancels neither the others nor the
    # computation, whose result still lands in the cache.
    inflight: dict[tuple[int, Hashable], asyncio.Task[Any]] = {}

    async def compute(k: Hashable, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        value = await fn(*args, **kwargs)
        _store(cache, k, value)
        return value

    def finished(slot: tuple[int, Hashable], task: asyncio.Task[Any]) -> None:
        inflight.pop(slot, None)
        if not task.cancelled():
            task.exception()  # retrieved: no "never retrieved" warning when nobody waits

    @functools.wraps(fn)
    async def wrapper(*args: Any, **kwargs: Any) -> Any:
        k = key(*args, **kwargs)
        value = cache.get(k, _MISSING)
        if value is not _MISSING:
            return value
        loop = asyncio.get_running_loop()
        slot = (id(loop), k)
        task = inflight.get(slot)
        if task is None:
            task = loop.create_task(compute(k, args, kwargs))
            inflight[slot] = task
            task.add_done_callback(functools.partial(finished, slot))
        return await asyncio.shield(task)

    return wrapper
