# cython: language_level=3, boundscheck=False, wraparound=False, embedsignature=True
"""The compiled core of mastra.cache.LRUCache / TTLCache (private; use mastra.cache).

A dict maps each key to a _Node that embeds its ring links (native/include/mastra_cache.h), so
a hit is one dict lookup and four pointer writes.

Thread safety: every public operation runs as one critical section. With the GIL held, only
Python code that an operation calls out to (a key's __hash__/__eq__) can let another thread
in; a `busy` flag makes that thread wait (without the GIL) until the section ends. User code
that can run arbitrary Python (getsizeof, the timer, __missing__, an overridden popitem, and the
destructors of evicted keys and values) runs outside the section: evicted entries are held in
local variables and released after it.

Deadlines are doubles: seconds of the timer, or, with a timedelta ttl (a timer of datetimes),
seconds since the first reading the cache saw (its origin).
"""

cimport cython
from cpython.dict cimport PyDict_DelItem, PyDict_GetItemWithError, PyDict_SetItem
from cpython.object cimport PyObject
from cpython.pythread cimport PyThread_get_thread_ident
from libc.math cimport isnan

import copy
import math
import reprlib
import time
from datetime import timedelta
from types import GenericAlias

from mastra.errors import MastraError, ValidationError

cdef extern from "Python.h":
    int Py_ReprEnter(object obj) except -1
    void Py_ReprLeave(object obj)

cdef extern from "mastra_cache.h":
    ctypedef struct mc_link:
        mc_link *prev
        mc_link *next
        mc_link *tprev
        mc_link *tnext
        PyObject *owner
        double expires
        Py_ssize_t size
    void mc_init(mc_link *root)
    void mc_unlink(mc_link *n)
    void mc_append(mc_link *root, mc_link *n)
    void mc_touch(mc_link *root, mc_link *n)
    void mc_tunlink(mc_link *n)
    void mc_tappend(mc_link *root, mc_link *n)
    bint mc_empty(const mc_link *root)
    double mc_monotonic()
    double mc_monotonic_resolution()
    int MC_FAST_CLOCK
    void mc_pause() nogil

cdef object _MARKER = object()
cdef Py_ssize_t _UNBOUNDED = <Py_ssize_t>((<size_t>-1) >> 1)
cdef object _SECOND = timedelta(seconds=1)
cdef object _COUNTER_END = 2 ** 64


def _rebuild(cls, maxsize, sizer, ttl, timer, origin=None):
    """A cache of class ``cls`` set up like the one pickled, without calling a subclass's
    ``__init__`` (whose signature may differ); its attributes come back through the state.
    ``origin``: the first timer reading of a cache with a timedelta ttl."""
    cache = cls.__new__(cls)
    CacheCore.__init__(cache, maxsize, sizer, ttl=ttl, timer=timer)
    (<CacheCore?>cache)._origin = origin
    return cache


@cython.final
cdef class Timer:
    """A cache's timer (``cache.timer``): calling it calls the timer function it wraps, except
    inside ``with cache.timer as now:``, where every reading, the cache's own included, is
    ``now``, taken when the outermost block began. Other attributes are the function's."""

    cdef object _function
    cdef Py_ssize_t _nesting
    cdef object _time

    def __cinit__(self, function):
        self._function = function

    def __call__(self):
        return self._time if self._nesting else self._function()

    def __enter__(self):
        if not self._nesting:
            self._time = self._function()
        self._nesting += 1
        return self._time

    def __exit__(self, *exc_info):
        if self._nesting > 0:
            self._nesting -= 1

    def __copy__(self):
        return Timer(self._function)

    def __deepcopy__(self, memo):
        return Timer(copy.deepcopy(self._function, memo))

    def __reduce__(self):
        return Timer, (self._function,)

    def __getattr__(self, name):
        return getattr(self._function, name)


@cython.final
@cython.freelist(256)
cdef class _Node:
    cdef mc_link link
    cdef object key
    cdef object value


cdef inline _Node _node_of(mc_link *link):
    return <_Node>link.owner


cdef inline bint _is_plain(object key):
    """Keys whose hashing and comparison run no Python code."""
    return type(key) is str or type(key) is int


def clock_resolution():
    """Seconds between ticks of the C clock behind the default timer (0.0 when the timer is
    called through Python instead)."""
    return mc_monotonic_resolution()


cdef class CacheCore:
    """Least-recently-used cache with optional per-item time to live."""

    cdef dict _data
    cdef mc_link _root
    cdef Py_ssize_t _maxsize
    cdef Py_ssize_t _currsize
    cdef object _sizer
    cdef bint _sizer_given
    cdef bint _timed
    cdef bint _fast_clock
    cdef bint _ttl_delta
    cdef double _ttl
    cdef object _ttl_object
    cdef object _timer
    cdef Timer _clock
    cdef object _origin
    cdef unsigned long long _hits
    cdef unsigned long long _misses
    cdef unsigned long long _evictions
    cdef unsigned long long _expirations
    cdef unsigned long long _removals
    cdef bint _busy
    cdef long _owner
    cdef bint _own_missing
    cdef bint _own_popitem
    cdef bint _plain_keys
    cdef object __weakref__

    # CacheCore[K, V] in a class's bases types it for checkers; at run time it is CacheCore.
    __class_getitem__ = classmethod(GenericAlias)

    def __cinit__(self, *args, **kwargs):
        self._data = {}
        mc_init(&self._root)
        self._plain_keys = True

    def __init__(self, maxsize, getsizeof=None, *, ttl=None, timer=None):
        cdef bint ttl_delta = isinstance(ttl, timedelta)
        cdef double ttl_seconds = 0.0
        if isinstance(maxsize, bool) or not isinstance(maxsize, (int, float)) or maxsize != maxsize:
            raise TypeError(f"maxsize must be a number, got {maxsize!r}")
        if maxsize < 0:
            raise ValueError("maxsize must be non-negative")
        if ttl is not None and not ttl_delta:
            if isinstance(ttl, bool) or not isinstance(ttl, (int, float)) or not ttl == ttl:
                raise TypeError(
                    f"ttl must be a number of seconds or a datetime.timedelta, got {ttl!r}")
            ttl_seconds = ttl
        # Checked: from here on nothing fails halfway. Called again on a cache (as a subclass
        # may), __init__ starts it afresh, as cachetools does.
        if self._data:
            CacheCore.clear(self)
            self.reset_stats()
        self._configure(maxsize, getsizeof, ttl, ttl_seconds, timer)

    cdef int _configure(self, maxsize, getsizeof, ttl, double ttl_seconds,
                        timer) except -1:
        cls = type(self)
        self._maxsize = _UNBOUNDED if maxsize >= _UNBOUNDED else <Py_ssize_t>math.floor(maxsize)
        self._sizer_given = getsizeof is not None
        if self._sizer_given:
            self._sizer = getsizeof
        elif cls.getsizeof is not CacheCore.getsizeof:
            self._sizer = self.getsizeof
        else:
            self._sizer = None
        self._own_missing = cls.__missing__ is not CacheCore.__missing__
        self._own_popitem = cls.popitem is not CacheCore.popitem
        self._timed = ttl is not None
        self._ttl_delta = isinstance(ttl, timedelta)
        self._ttl = ttl_seconds
        self._ttl_object = ttl
        self._timer = (time.monotonic if timer is None else timer) if self._timed else None
        self._clock = Timer(self._timer) if self._timed else None
        self._fast_clock = MC_FAST_CLOCK and self._timer is time.monotonic and not self._ttl_delta
        self._origin = None
        return 0

    # -- the critical section --------------------------------------------------------------

    cdef inline int _enter(self) except -1:
        cdef long me = PyThread_get_thread_ident()
        if self._busy:
            if self._owner == me:
                raise RuntimeError(
                    "cache re-entered from a key's __hash__/__eq__ while it was being updated; "
                    "keys must not use the cache they are stored in")
            while self._busy:
                # The holder is running a key's Python __hash__/__eq__ and needs the GIL to
                # finish: step aside for a moment rather than fight over it.
                with nogil:
                    mc_pause()
        self._busy = True
        self._owner = me
        return 0

    cdef inline void _exit(self):
        self._busy = False

    cdef inline double _now(self) except? -1.0:
        if self._clock._nesting:
            return self._seconds(self._clock._time)
        if self._fast_clock:
            return mc_monotonic()
        return self._seconds(self._timer())

    cdef double _seconds(self, object reading) except? -1.0:
        """A timer reading as deadlines count time: the reading itself, or with a timedelta
        ttl, seconds since the origin (the first reading seen)."""
        if not self._ttl_delta:
            return reading
        if self._origin is None:
            self._origin = reading
        return (reading - self._origin) / _SECOND

    cdef double _now_and_deadline(self, double *deadline) except? -1.0:
        """Now, and (in deadline) when an item set now expires."""
        cdef double now
        if not self._ttl_delta:
            now = self._now()
            deadline[0] = now + self._ttl
            return now
        reading = self._clock._time if self._clock._nesting else self._timer()
        now = self._seconds(reading)
        deadline[0] = self._seconds(reading + self._ttl_object)  # may overflow: nothing stored
        return now

    cdef Py_ssize_t _size_of(self, object value) except -1:
        if self._sizer is None:
            if self._maxsize < 1:
                raise ValueError("value too large")
            return 1
        size = self._sizer(value)
        if size > self._maxsize:
            raise ValueError("value too large")
        if size < 0:
            raise ValueError("value size must be non-negative")
        return size

    cdef int _remove(self, _Node node) except -1:
        """Take node out of the dict and the rings (caller holds a reference to it)."""
        PyDict_DelItem(self._data, node.key)
        mc_unlink(&node.link)
        if self._timed:
            mc_tunlink(&node.link)
        self._currsize -= node.link.size
        self._removals += 1
        return 0

    cdef list _expire(self, double now, list removed):
        """Remove items whose deadline is not after now; append them to removed."""
        cdef mc_link *root = &self._root
        cdef _Node node
        while root.tnext != root and not (now < root.tnext.expires):
            node = _node_of(root.tnext)
            self._remove(node)
            self._expirations += 1
            if removed is None:
                removed = []
            removed.append(node)
        return removed

    # -- mapping ---------------------------------------------------------------------------

    def __getitem__(self, key):
        cdef double now = self._now() if self._timed else 0.0
        cdef bint plain = _is_plain(key) and self._plain_keys
        if not plain:
            self._enter()
        try:
            value = self._lookup(key, _MARKER, now, True)
        finally:
            if not plain:
                self._exit()
        if value is not _MARKER:
            return value
        if self._own_missing:
            return self.__missing__(key)
        raise KeyError(key)

    def __missing__(self, key):
        raise KeyError(key)

    def __setitem__(self, key, value):
        cdef Py_ssize_t size = self._size_of(value)
        cdef double now = 0.0
        cdef double deadline = 0.0
        hash(key)  # an unhashable key fails here, before anything is evicted
        if self._timed:
            now = self._now_and_deadline(&deadline)
        if self._own_popitem:
            self._make_room_with_popitem(key, size)
        self._store(key, value, size, now, deadline)

    cdef int _make_room_with_popitem(self, object key, Py_ssize_t size) except -1:
        """Evict through an overridden popitem() (a subclass hook, so outside any section)."""
        cdef PyObject *found
        cdef Py_ssize_t needed
        cdef unsigned long long removals
        while True:
            self._enter()
            try:
                found = PyDict_GetItemWithError(self._data, key)
                needed = size - ((<_Node>found).link.size if found is not NULL else 0)
                if self._currsize + needed <= self._maxsize or mc_empty(&self._root):
                    return 0
                removals = self._removals
            finally:
                self._exit()
            self.popitem()
            self._evictions += 1
            if self._removals == removals:
                raise MastraError(
                    f"{type(self).__name__}.popitem() did not free space: it returned without "
                    "removing an item, so the new one cannot be stored. An overridden popitem() "
                    "must remove the item it returns (super().popitem() does) or raise KeyError")

    cdef int _store(self, object key, object value, Py_ssize_t size, double now,
                    double deadline) except -1:
        cdef PyObject *found
        cdef _Node node = None
        cdef _Node victim
        cdef _Node first_victim = None
        cdef list removed = None
        cdef object old_value = None
        cdef Py_ssize_t needed
        cdef mc_link *root = &self._root
        self._enter()
        try:
            if self._timed:
                removed = self._expire(now, removed)
            found = PyDict_GetItemWithError(self._data, key)
            if found is not NULL:
                node = <_Node>found
            needed = size - (node.link.size if node is not None else 0)
            while self._currsize + needed > self._maxsize and not mc_empty(root):
                victim = _node_of(root.next)
                self._remove(victim)
                self._evictions += 1
                if victim is node:  # the key itself was the oldest: it is stored anew
                    node = None
                    needed = size
                if first_victim is None:
                    first_victim = victim
                else:
                    if removed is None:
                        removed = []
                    removed.append(victim)
            if node is not None:
                old_value = node.value
                node.value = value
                self._currsize += needed
                node.link.size = size
                mc_touch(root, &node.link)
            else:
                node = _Node.__new__(_Node)
                if not _is_plain(key):
                    self._plain_keys = False  # from now on every lookup takes the section
                node.key = key
                node.value = value
                node.link.owner = <PyObject *>node
                node.link.size = size
                PyDict_SetItem(self._data, key, node)
                mc_append(root, &node.link)
                if self._timed:
                    mc_tappend(root, &node.link)
                self._currsize += size
                return 0
            if self._timed:
                mc_tunlink(&node.link)
                mc_tappend(root, &node.link)
        finally:
            if node is not None and self._timed:
                node.link.expires = deadline
            self._exit()
        return 0
        # first_victim, removed and old_value are released here, outside the section

    def __delitem__(self, key):
        cdef double now = self._now() if self._timed else 0.0
        cdef PyObject *found
        cdef _Node node
        self._enter()
        try:
            found = PyDict_GetItemWithError(self._data, key)
            if found is NULL:
                raise KeyError(key)
            node = <_Node>found
            self._remove(node)
        finally:
            self._exit()
        if self._timed and not (now < node.link.expires):
            raise KeyError(key)  # it had expired: gone, but not there to delete

    def __contains__(self, key):
        cdef double now = self._now() if self._timed else 0.0
        cdef PyObject *found
        self._enter()
        try:
            found = PyDict_GetItemWithError(self._data, key)
            return found is not NULL and (not self._timed or now < (<_Node>found).link.expires)
        finally:
            self._exit()

    def __len__(self):
        if self._timed:
            self.expire()
        return len(self._data)

    def __iter__(self):
        if not self._timed:
            return iter(self._data)
        return self._live_keys()

    def _live_keys(self):
        """A snapshot of the keys in insertion order, skipping those expired when reached."""
        for key in list(self._data):
            if key in self:
                yield key

    def get(self, key, default=None):
        """The value for key, counted as a hit and made most recent; default on a miss
        (``__missing__`` is not called, as in cachetools)."""
        cdef double now = self._now() if self._timed else 0.0
        cdef bint plain = _is_plain(key) and self._plain_keys
        if not plain:
            self._enter()
        try:
            return self._lookup(key, default, now, False)
        finally:
            if not plain:
                self._exit()

    cdef inline object _lookup(self, object key, object default, double now,
                               bint touch_expired):
        """The live value for key (made most recent, counted as a hit) or default (a miss).
        With plain keys the caller may skip the section: this runs no Python code then.
        ``touch_expired``: an expired entry still becomes most recent (``cache[key]`` does
        that in cachetools; ``get`` does not)."""
        cdef PyObject *found = PyDict_GetItemWithError(self._data, key)
        cdef _Node node
        if found is not NULL:
            node = <_Node>found
            if not self._timed or now < node.link.expires:
                mc_touch(&self._root, &node.link)
                self._hits += 1
                return node.value
            if touch_expired:
                mc_touch(&self._root, &node.link)
        self._misses += 1
        return default

    def pop(self, key, default=_MARKER):
        """Remove key and return its value; default (or KeyError) when absent or expired."""
        cdef double now = self._now() if self._timed else 0.0
        cdef PyObject *found
        cdef _Node node = None
        self._enter()
        try:
            found = PyDict_GetItemWithError(self._data, key)
            if found is not NULL and (not self._timed or now < (<_Node>found).link.expires):
                node = <_Node>found
                self._remove(node)
        finally:
            self._exit()
        if node is not None:
            return node.value
        if default is _MARKER:
            raise KeyError(key)
        return default

    def setdefault(self, key, default=None):
        """The value for key if present (a hit); otherwise store and return default."""
        value = self.get(key, _MARKER)
        if value is _MARKER:
            self[key] = default
            return default
        return value

    def popitem(self):
        """Remove and return the least recently used (key, value) that has not expired."""
        cdef double now = self._now() if self._timed else 0.0
        cdef list removed = None
        cdef _Node node
        self._enter()
        try:
            if self._timed:
                removed = self._expire(now, removed)
            if mc_empty(&self._root):
                raise KeyError(f"{type(self).__name__} is empty") from None
            node = _node_of(self._root.next)
            self._remove(node)
        finally:
            self._exit()
        return (node.key, node.value)

    def clear(self):
        cdef dict old
        self._enter()
        try:
            old = self._data
            self._data = {}
            mc_init(&self._root)
            self._currsize = 0
            self._removals += 1
        finally:
            self._exit()
        old.clear()  # entries' destructors run here, outside the section

    def expire(self, time=None):
        """Remove expired items and return them as a list of (key, value) pairs. ``time``
        defaults to the timer's now."""
        if not self._timed:
            return []
        cdef double now = self._now() if time is None else self._seconds(time)
        cdef list removed = None
        self._enter()
        try:
            removed = self._expire(now, removed)
        finally:
            self._exit()
        return [] if removed is None else [((<_Node>n).key, (<_Node>n).value) for n in removed]

    # -- attributes and statistics ---------------------------------------------------------

    @property
    def maxsize(self):
        """The maximum total size of the items."""
        return math.inf if self._maxsize == _UNBOUNDED else self._maxsize

    @property
    def currsize(self):
        """The total size of the items now held (expired items are removed first)."""
        if self._timed:
            self.expire()
        return self._currsize

    @staticmethod
    def getsizeof(value):
        """The size of one value: 1 unless getsizeof was given or overridden."""
        return 1

    def _stats(self):
        """(hits, misses, evictions, expirations, size, maxsize)."""
        return (self._hits, self._misses, self._evictions, self._expirations, len(self._data),
                self.maxsize)

    def reset_stats(self):
        """Set the hit, miss, eviction and expiration counters to zero."""
        self._hits = self._misses = self._evictions = self._expirations = 0

    def _ttl_value(self):
        return self._ttl_object if self._timed else None

    def _timer_object(self):
        return self._clock

    def _entries(self):
        """(key, value, size, deadline) from least to most recently used."""
        cdef mc_link *link = self._root.next
        cdef _Node node
        entries = []
        while link != &self._root:
            node = _node_of(link)
            entries.append((node.key, node.value, node.link.size, node.link.expires))
            link = link.next
        return entries

    def __reduce__(self):
        """Pickle and copy support: the constructor arguments, then the state: the entries (in
        recency order, with sizes and deadlines), the statistics, the instance attributes and
        the iteration order."""
        attributes = dict(getattr(self, "__dict__", {}))
        sizer = self._sizer if self._sizer_given else None  # else a method of the class
        stats = (self._hits, self._misses, self._evictions, self._expirations)
        args = (type(self), self.maxsize, sizer, self._ttl_value(),
                self._timer if self._timed else None, self._origin)
        return (_rebuild, args, (self._entries(), stats, attributes, list(self._data)))

    def __copy__(self):
        rebuild, args, state = self.__reduce__()
        copied = rebuild(*args)
        copied.__setstate__(state)
        return copied

    def __setstate__(self, state):
        """Fill a new, empty cache from the state ``__reduce__`` gave. The whole state is
        checked before the cache changes: a malformed one raises ValidationError and leaves
        the cache empty and usable."""
        if not isinstance(state, tuple) or not 2 <= len(state) <= 4:
            raise ValidationError(
                "cache state must be a tuple (entries, stats[, attributes[, order]]) as "
                f"__reduce__() gives, got {_described(state)}")
        entries, stats, attributes, order = (*state, None, None)[:4]
        nodes = self._checked_nodes(entries)
        data = _in_order(nodes, order)
        counters = _checked_counters(stats)
        attributes = self._checked_attributes(attributes)
        self._adopt(nodes, data, counters)
        if attributes:
            self.__dict__.update(attributes)

    cdef dict _checked_nodes(self, object entries):
        """Unlinked nodes for the entries, by key in recency order; every entry checked."""
        cdef _Node node
        cdef Py_ssize_t total = 0
        if not isinstance(entries, (list, tuple)):
            raise ValidationError(
                "cache state: entries must be a list of (key, value, size, deadline), got "
                f"{_described(entries)}")
        nodes = {}
        for position, entry in enumerate(entries):
            if not isinstance(entry, tuple) or len(entry) != 4:
                raise ValidationError(
                    f"cache state: entry {position} must be a tuple (key, value, size, deadline),"
                    f" got {_described(entry)}")
            key, value, size, deadline = entry
            node = _Node.__new__(_Node)
            node.link.size = self._checked_size(size, position)
            node.link.expires = _checked_deadline(deadline, position)
            if key in nodes:
                raise ValidationError(
                    f"cache state: key {reprlib.repr(key)} has two entries ({position} and an "
                    "earlier one); each key has one")
            node.key = key
            node.value = value
            node.link.owner = <PyObject *>node
            nodes[key] = node
            if node.link.size > self._maxsize - total:
                raise ValidationError(
                    f"cache state: the entries' sizes add up to more than maxsize {self.maxsize}")
            total += node.link.size
        if nodes and self._ttl_delta and self._origin is None:
            raise ValidationError(
                "cache state: a cache with a timedelta ttl needs the time origin its deadlines "
                "count from (the last argument of the reconstructor); it is missing")
        return nodes

    cdef Py_ssize_t _checked_size(self, object size, Py_ssize_t position) except -1:
        if type(size) is not int:
            raise ValidationError(
                f"cache state: the size of entry {position} must be an int, got "
                f"{_described(size)}")
        if not 0 <= size <= self._maxsize:
            raise ValidationError(
                f"cache state: the size of entry {position} must be from 0 to maxsize "
                f"{self.maxsize}, got {size}")
        if self._sizer is None and size != 1:
            raise ValidationError(
                f"cache state: the size of entry {position} must be 1 in a cache without "
                f"getsizeof, got {size}")
        return size

    cdef object _checked_attributes(self, object attributes):
        if attributes is None:
            return None
        if not isinstance(attributes, dict) or not all(type(k) is str for k in attributes):
            raise ValidationError(
                "cache state: attributes must be None or a dict of attribute names, got "
                f"{_described(attributes)}")
        if attributes and not hasattr(self, "__dict__"):
            raise ValidationError(
                f"cache state: {type(self).__name__} has no instance attributes to restore")
        return attributes

    cdef int _adopt(self, dict nodes, dict data, tuple counters) except -1:
        """Link checked nodes in: recency in ``nodes`` order, expiry in deadline order (ties in
        recency order). Runs no Python code once the cache is found empty."""
        cdef _Node node
        cdef mc_link *root = &self._root
        cdef list by_deadline = sorted(nodes.values(), key=_deadline_of) if self._timed else None
        self._enter()
        try:
            if self._data:
                raise ValidationError(
                    f"cache state: only a new, empty cache can be filled; this "
                    f"{type(self).__name__} holds {len(self._data)} items")
            for node in nodes.values():
                mc_append(root, &node.link)
                self._currsize += node.link.size
                if not _is_plain(node.key):
                    self._plain_keys = False
            if by_deadline is not None:
                for node in by_deadline:
                    mc_tappend(root, &node.link)
            self._data = data
            self._hits, self._misses, self._evictions, self._expirations = counters
        finally:
            self._exit()
        return 0

    def _order(self):
        """Keys from least to most recently used (for tests and repr)."""
        cdef mc_link *link = self._root.next
        keys = []
        while link != &self._root:
            keys.append(_node_of(link).key)
            link = link.next
        return keys

    def __repr__(self):
        if Py_ReprEnter(self):
            return "..."  # the cache holds itself, as dict shows it
        try:
            if self._timed:
                self.expire()
            items = ", ".join(f"{k!r}: {v!r}" for k, v in
                              [(k, (<_Node>self._data[k]).value) for k in self._data])
            return (f"{type(self).__name__}({{{items}}}, maxsize={self.maxsize!r}, "
                    f"currsize={self._currsize!r})")
        finally:
            Py_ReprLeave(self)


def _deadline_of(_Node node):
    return node.link.expires


cdef dict _in_order(dict nodes, object order):
    """The nodes keyed in iteration order ``order``, which must list each key once."""
    if order is None:
        return dict(nodes)
    if not isinstance(order, (list, tuple)):
        raise ValidationError(
            f"cache state: the iteration order must be a list of keys, got {_described(order)}")
    data = {}
    for key in order:
        node = nodes.get(key)
        if node is None:
            raise ValidationError(
                f"cache state: the iteration order names key {reprlib.repr(key)}, which has no "
                "entry")
        if (<_Node>node).key in data:
            raise ValidationError(
                f"cache state: the iteration order lists key {reprlib.repr(key)} twice")
        data[(<_Node>node).key] = node
    for key in nodes:
        if key not in data:
            raise ValidationError(
                f"cache state: the iteration order leaves out key {reprlib.repr(key)}, which "
                "has an entry")
    return data


cdef tuple _checked_counters(object stats):
    if (not isinstance(stats, (tuple, list)) or len(stats) != 4
            or not all(type(c) is int and 0 <= c < _COUNTER_END for c in stats)):
        raise ValidationError(
            "cache state: stats must be 4 counts (hits, misses, evictions, expirations) from 0 "
            f"to 2**64 - 1, got {_described(stats)}")
    return tuple(stats)


cdef double _checked_deadline(object deadline, Py_ssize_t position) except? -1.0:
    cdef double value
    if type(deadline) is not float and type(deadline) is not int:
        raise ValidationError(
            f"cache state: the deadline of entry {position} must be a number, got "
            f"{_described(deadline)}")
    try:
        value = deadline
    except OverflowError:
        raise ValidationError(
            f"cache state: the deadline of entry {position} is out of the range of a float")
    if isnan(value):
        raise ValidationError(f"cache state: the deadline of entry {position} is NaN")
    return value


cdef str _described(object value):
    """The type of a malformed state part (and a container's length), never its contents."""
    if isinstance(value, (tuple, list, dict)):
        return f"{type(value).__name__} of length {len(value)}"
    return type(value).__name__
