"""cachetools' own LRUCache/TTLCache tests (vendored beside this file, unchanged) run against
mastra.cache: each vendored module is executed once more with ``cachetools`` resolving to a
stand-in module whose LRUCache/TTLCache are ours, so every one of their test methods, including
those that name the class directly, exercises our caches. The vendored modules themselves are
also collected as they are, against cachetools (the control)."""

import importlib.util
import sys
import types
from pathlib import Path

import cachetools

import mastra.cache

HERE = Path(__file__).parent


def _against_mastra(name: str) -> types.ModuleType:
    """The vendored test module ``name``, executed with ``import cachetools`` giving ours."""
    stand_in = types.ModuleType("cachetools")
    vars(stand_in).update(vars(cachetools))
    stand_in.LRUCache = mastra.cache.LRUCache
    stand_in.TTLCache = mastra.cache.TTLCache
    spec = importlib.util.spec_from_file_location(
        f"{__package__}.{name}_mastra", HERE / f"{name}.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # pickle finds the module's classes (Timer ...) by name
    real = sys.modules["cachetools"]
    sys.modules["cachetools"] = stand_in
    try:
        spec.loader.exec_module(module)
    finally:
        sys.modules["cachetools"] = real
    return module


_lru = _against_mastra("test_lru")
_ttl = _against_mastra("test_ttl")
assert _lru.LRUCache is mastra.cache.LRUCache and _ttl.TTLCache is mastra.cache.TTLCache


class TestLRUCacheAgainstMastra(_lru.LRUCacheTest):
    """Every test of cachetools' LRUCacheTest (and its CacheTestMixin) on mastra's LRUCache."""


class TestTTLCacheAgainstMastra(_ttl.TTLCacheTest):
    """Every test of cachetools' TTLCacheTest (and its CacheTestMixin) on mastra's TTLCache,
    through their TTLTestCache subclass with its manual timer."""


def test_every_vendored_test_runs_against_mastra():
    """No vendored test method is lost on the way: both suites are complete here."""
    for ours, theirs in [
        (TestLRUCacheAgainstMastra, _lru.LRUCacheTest),
        (TestTTLCacheAgainstMastra, _ttl.TTLCacheTest),
    ]:
        names = {n for n in dir(theirs) if n.startswith("test")}
        assert names and names == {n for n in dir(ours) if n.startswith("test")}
    assert issubclass(_ttl.TTLTestCache, mastra.cache.TTLCache)
