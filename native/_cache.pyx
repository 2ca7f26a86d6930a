# cython: language_level=3, boundscheck=False, wraparound=False, embedsignature=True
"""The compiled core of mastra.cache.LRUCache / TTLCache and of cached() (private; use
mastra.cache).

The cache's own hash table maps each key to a node in a slab (native/include/mastra_cache.h): a
hit is one probe of the table and a few index-linked writes, and an entry costs a 40-byte node
(56 with a time to live) and 8 bytes for each of the table's slots (at most two thirds full).

Thread safety: every public operation runs as one critical section. With the GIL held, only
Python code that an operation calls out to (a key's __hash__/__eq__) can let another thread
in; a `busy` flag makes that thread wait (without the GIL) until the section ends. User code
that can run arbitrary Python (getsizeof, the timer, __missing__, an overridden popitem, and the
destructors of evicted keys and values) runs outside the section: removed entries wait in the
slab's limbo and are released after it.

Deadlines are doubles: seconds of the timer, or, with a timedelta ttl (a timer of datetimes),
seconds since the first reading the cache saw (its origin).
"""

cimport cython
from cpython.object cimport PyObject, PyObject_Call, PyTypeObject
from cpython.pythread cimport PyThread_get_thread_ident
from cpython.ref cimport Py_XDECREF
from libc.math cimport isnan
from libc.stdint cimport int64_t, uint32_t, uint64_t

import copy
import math
import reprlib
import time
from datetime import timedelta
from types import GenericAlias, MethodType

from mastra.errors import MastraError, ValidationError

cdef extern from "Python.h":
    int Py_ReprEnter(object obj) except -1
    void Py_ReprLeave(object obj)
    void Py_INCREF(PyObject *obj)
    PyTypeObject *Py_TYPE(PyObject *obj)
    Py_ssize_t PyTuple_GET_SIZE(PyObject *tuple)
    Py_ssize_t Py_REFCNT(PyObject *obj)
    Py_ssize_t PyVectorcall_NARGS(size_t nargsf)
    object PyObject_Vectorcall(object callable, PyObject **args, size_t nargsf, PyObject *kwnames)

cdef extern from "mastra_cache.h":
    ctypedef struct mc_node:
        PyObject *key
        PyObject *value
        uint32_t prev
        uint32_t next
        uint32_t inext
        uint32_t tprev
        uint32_t tnext
        double expires
    ctypedef struct mc_slab:
        int sized
        uint32_t free
        uint32_t count
    int mc_slab_init(mc_slab *s, int timed, int sized, uint64_t want) except -1
    void mc_slab_release(mc_slab *old)
    void mc_slab_zero(mc_slab *s)
    mc_node *mc_at(const mc_slab *s, uint32_t i)
    mc_node *mc_root(const mc_slab *s)
    Py_ssize_t *mc_size_slot(const mc_slab *s, uint32_t i)
    Py_ssize_t mc_size(const mc_slab *s, uint32_t i)
    bint mc_empty(const mc_slab *s)
    void mc_touch(const mc_slab *s, uint32_t i, mc_node *n)
    void mc_tunlink(const mc_slab *s, mc_node *n)
    void mc_tappend(const mc_slab *s, uint32_t i, mc_node *n)
    uint32_t mc_take(mc_slab *s) except 0
    mc_node *mc_fill(mc_slab *s, uint32_t i, PyObject *key, Py_hash_t hash, PyObject *value,
                     Py_ssize_t size, double expires, int timed)
    int mc_reserve(mc_slab *s) except -1
    void mc_enter(mc_slab *s, uint32_t i, mc_node *n)
    Py_hash_t mc_hash(object key) except -1
    uint32_t mc_get(const mc_slab *s, object key) except? 0
    int64_t mc_find(const mc_slab *s, object key, Py_hash_t hash) except -1
    void mc_retire(mc_slab *s, uint32_t i, mc_node *n, int timed)
    void mc_settle(mc_slab *s)
    bint mc_plain(PyObject *key)
    PyObject *mc_lookup(const mc_slab *s, object key, int timed, double now,
                        int touch_expired, unsigned long long *hits,
                        unsigned long long *misses) except? NULL
    int mc_install_gc(PyTypeObject *type, Py_ssize_t offset,
                      int (*clear_entries)(PyObject *) noexcept) except -1
    bint mc_plain_fast_type(PyTypeObject *type)
    void mc_install_vectorcall(PyTypeObject *type, Py_ssize_t offset)
    object mc_args_tuple(PyObject **args, Py_ssize_t n)
    bint mc_plain_args(PyObject **args, Py_ssize_t n)
    void mc_probe_load(object probe, PyObject **args, Py_ssize_t n)
    void mc_probe_unload(object probe, Py_ssize_t n)
    void mc_clock_init()
    double mc_monotonic()
    double mc_monotonic_resolution()
    int MC_FAST_CLOCK
    void mc_pause() nogil

mc_clock_init()

cdef object _MARKER = object()
cdef object _PROBE = object()  # a call's key is the probe (Memoised)
cdef Py_ssize_t _UNBOUNDED = <Py_ssize_t>((<size_t>-1) >> 1)
cdef uint64_t _MOST_COUNTED = 1 << 31  # a larger maxsize gives no hint of the node count
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


cdef inline double _now(CacheCore cache) except? -1.0:
    """Now, as the cache counts time: the C clock when the timer is time.monotonic."""
    if cache._fast_clock and not cache._clock._nesting:
        return mc_monotonic()
    return cache._reading()


cdef inline PyObject *_value(CacheCore cache, object key, bint touch_expired) except? NULL:
    """The live value for key (borrowed: it stays alive until the caller runs Python code),
    made most recent and counted as a hit; NULL on a miss. Plain keys in a cache of plain keys
    skip the section: their lookups run no Python code."""
    cdef double now = _now(cache) if cache._timed else 0.0
    if cache._plain_keys and mc_plain(<PyObject *>key):
        return mc_lookup(&cache._slab, key, cache._timed, now, touch_expired, &cache._hits,
                         &cache._misses)
    return cache._lookup(key, now, touch_expired)


def clock_resolution():
    """Seconds between ticks of the C clock behind the default timer (0.0 when the timer is
    called through Python instead)."""
    return mc_monotonic_resolution()


cdef class CacheCore:
    """Least-recently-used cache with optional per-item time to live."""

    cdef mc_slab _slab
    cdef size_t _version  # counts inserts and removals: iterators check it
    cdef uint64_t _counted  # most items when each counts 1 (the slab's hint), else 0
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
        mc_slab_init(&self._slab, 0, 0, 0)
        self._plain_keys = True

    def __dealloc__(self):
        cdef mc_slab old = self._slab
        mc_slab_zero(&self._slab)
        mc_slab_release(&old)

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
        if self._slab.count:
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
        counted = self._sizer is None and self._maxsize < <Py_ssize_t>_MOST_COUNTED
        self._counted = <uint64_t>self._maxsize if counted else 0
        return self._renew_slab()

    cdef int _renew_slab(self) except -1:
        """A new empty slab shaped for this cache (which must be empty)."""
        cdef mc_slab fresh
        cdef mc_slab old
        mc_slab_init(&fresh, self._timed, self._sizer is not None, self._counted)
        old = self._slab
        self._slab = fresh
        mc_slab_release(&old)
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

    cdef inline void _exit(self) noexcept:
        """End the section, then release what it removed (destructors may run)."""
        self._busy = False
        mc_settle(&self._slab)

    cdef double _reading(self) except? -1.0:
        """Now, through the timer (or the time a ``with cache.timer`` block holds)."""
        if self._clock._nesting:
            return self._seconds(self._clock._time)
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
            now = _now(self)
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

    cdef int _remove(self, uint32_t i, mc_node *node) except -1:
        """Take node i out of the table and the rings; its key and value wait in limbo until
        the section ends."""
        self._currsize -= mc_size(&self._slab, i)
        mc_retire(&self._slab, i, node, self._timed)
        self._removals += 1
        self._version += 1
        return 0

    cdef int _expire(self, double now, list removed) except -1:
        """Remove items whose deadline is not after now; append them to removed (when given)
        as (key, value) pairs."""
        cdef mc_slab *slab = &self._slab
        cdef uint32_t i
        cdef mc_node *node
        while True:
            i = mc_root(slab).tnext
            if i == 0:
                return 0
            node = mc_at(slab, i)
            if now < node.expires:
                return 0
            if removed is not None:
                removed.append((<object>node.key, <object>node.value))
            self._remove(i, node)
            self._expirations += 1

    # -- mapping ---------------------------------------------------------------------------

    def __getitem__(self, key):
        cdef PyObject *value = _value(self, key, True)
        if value is not NULL:
            return <object>value
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
        cdef uint32_t i
        cdef Py_ssize_t needed
        cdef unsigned long long removals
        while True:
            self._enter()
            try:
                i = mc_get(&self._slab, key)
                needed = size
                if i != 0:
                    needed -= mc_size(&self._slab, i)
                if self._currsize + needed <= self._maxsize or mc_empty(&self._slab):
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
        cdef mc_slab *slab = &self._slab
        cdef PyObject *old_value = NULL
        cdef mc_node *node = NULL
        cdef mc_node *victim
        cdef uint32_t i = 0
        cdef uint32_t j
        cdef Py_ssize_t needed = size
        cdef Py_hash_t hash
        self._enter()
        try:
            if self._timed:
                self._expire(now, None)
            hash = mc_hash(key)
            i = <uint32_t>mc_find(slab, key, hash)
            if i != 0:
                node = mc_at(slab, i)
                needed -= mc_size(slab, i)
            else:
                mc_reserve(slab)  # a table too full to grow fails here, before any eviction
            while self._currsize + needed > self._maxsize and not mc_empty(slab):
                j = mc_root(slab).next
                victim = mc_at(slab, j)
                if victim == node:  # the key itself was the oldest: it is stored anew
                    node = NULL
                    needed = size
                self._remove(j, victim)
                self._evictions += 1
            if node is NULL:
                self._insert(key, hash, value, size, deadline)
                return 0
            old_value = node.value  # released with the section's other leftovers, below
            Py_INCREF(<PyObject *>value)
            node.value = <PyObject *>value
            self._currsize += needed
            if slab.sized:
                mc_size_slot(slab, i)[0] = size
            mc_touch(slab, i, node)
            if self._timed:
                node.expires = deadline
                mc_tunlink(slab, node)
                mc_tappend(slab, i, node)
        finally:
            self._exit()
            Py_XDECREF(old_value)
        return 0

    cdef int _insert(self, object key, Py_hash_t hash, object value, Py_ssize_t size,
                     double deadline) except -1:
        """Store a key that is not in the cache (inside the section)."""
        cdef mc_slab *slab = &self._slab
        cdef uint32_t i
        cdef mc_node *node
        mc_reserve(slab)  # done already unless the key was evicted to be stored anew
        i = mc_take(slab)
        node = mc_fill(slab, i, <PyObject *>key, hash, <PyObject *>value, size, deadline,
                       self._timed)
        mc_enter(slab, i, node)
        self._version += 1
        if not mc_plain(<PyObject *>key):
            self._plain_keys = False  # from now on every lookup takes the section
        if self._timed:
            mc_tappend(slab, i, node)
        self._currsize += size
        return 0

    def __delitem__(self, key):
        cdef double now = _now(self) if self._timed else 0.0
        cdef uint32_t i
        cdef mc_node *node
        cdef bint expired
        self._enter()
        try:
            i = mc_get(&self._slab, key)
            if i == 0:
                raise KeyError(key)
            node = mc_at(&self._slab, i)
            expired = self._timed and not (now < node.expires)
            self._remove(i, node)
        finally:
            self._exit()
        if expired:
            raise KeyError(key)  # it had expired: gone, but not there to delete

    def __contains__(self, key):
        cdef double now = _now(self) if self._timed else 0.0
        cdef uint32_t i
        self._enter()
        try:
            i = mc_get(&self._slab, key)
            return i != 0 and (not self._timed or now < mc_at(&self._slab, i).expires)
        finally:
            self._exit()

    def __len__(self):
        if self._timed:
            self.expire()
        return self._slab.count

    def __iter__(self):
        """The keys in insertion order. Without a ttl, as a dict's: adding or removing a key
        while iterating raises RuntimeError. With one, over a snapshot, skipping the keys
        expired when reached."""
        if not self._timed:
            return _Keys(self)
        return self._live_keys()

    def _live_keys(self):
        for key in self._inserted(False):
            if key in self:
                yield key

    cdef list _inserted(self, bint items):
        """The keys, or (key, value) pairs, in insertion order."""
        cdef mc_slab *slab = &self._slab
        cdef uint32_t i = mc_root(slab).inext
        cdef mc_node *node
        found = []
        while i != 0:
            node = mc_at(slab, i)
            found.append((<object>node.key, <object>node.value) if items else <object>node.key)
            i = node.inext
        return found

    def get(self, key, default=None):
        """The value for key, counted as a hit and made most recent; default on a miss
        (``__missing__`` is not called, as in cachetools)."""
        return self._get(key, default)

    cdef inline object _get(self, object key, object default):
        cdef PyObject *value = _value(self, key, False)
        if value is not NULL:
            return <object>value
        return default

    cdef PyObject *_lookup(self, object key, double now, bint touch_expired) except? NULL:
        """mc_lookup inside the section (the key's __hash__/__eq__ may run Python code). The
        value is borrowed: it stays alive until the caller runs Python code. ``touch_expired``:
        an expired entry still becomes most recent (``cache[key]`` does that in cachetools;
        ``get`` does not)."""
        self._enter()
        try:
            return mc_lookup(&self._slab, key, self._timed, now, touch_expired, &self._hits,
                             &self._misses)
        finally:
            self._exit()

    def pop(self, key, default=_MARKER):
        """Remove key and return its value; default (or KeyError) when absent or expired."""
        cdef double now = _now(self) if self._timed else 0.0
        cdef uint32_t i
        cdef mc_node *node
        value = _MARKER
        self._enter()
        try:
            i = mc_get(&self._slab, key)
            if i != 0:
                node = mc_at(&self._slab, i)
                if not self._timed or now < node.expires:
                    value = <object>node.value
                    self._remove(i, node)
        finally:
            self._exit()
        if value is not _MARKER:
            return value
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
        cdef double now = _now(self) if self._timed else 0.0
        cdef mc_slab *slab = &self._slab
        cdef uint32_t i
        cdef mc_node *node
        self._enter()
        try:
            if self._timed:
                self._expire(now, None)
            if mc_empty(slab):
                raise KeyError(f"{type(self).__name__} is empty") from None
            i = mc_root(slab).next
            node = mc_at(slab, i)
            item = (<object>node.key, <object>node.value)
            self._remove(i, node)
        finally:
            self._exit()
        return item

    def clear(self):
        cdef mc_slab fresh
        cdef mc_slab old
        mc_slab_init(&fresh, self._timed, self._sizer is not None, self._counted)
        self._enter()
        try:
            old = self._slab
            self._slab = fresh
            self._currsize = 0
            self._removals += 1
            self._version += 1
            self._plain_keys = True
        finally:
            self._exit()
        mc_slab_release(&old)  # entries' destructors run here, outside the section

    def expire(self, time=None):
        """Remove expired items and return them as a list of (key, value) pairs. ``time``
        defaults to the timer's now."""
        if not self._timed:
            return []
        cdef double now = _now(self) if time is None else self._seconds(time)
        cdef list removed = []
        self._enter()
        try:
            self._expire(now, removed)
        finally:
            self._exit()
        return removed

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
        return (self._hits, self._misses, self._evictions, self._expirations, self._slab.count,
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
        cdef mc_slab *slab = &self._slab
        cdef uint32_t i = mc_root(slab).next
        cdef mc_node *node
        entries = []
        while i != 0:
            node = mc_at(slab, i)
            entries.append((<object>node.key, <object>node.value, mc_size(slab, i),
                            node.expires if self._timed else 0.0))
            i = node.next
        return entries

    def _order(self):
        """Keys from least to most recently used (for tests and repr)."""
        return [entry[0] for entry in self._entries()]

    def __reduce__(self):
        """Pickle and copy support: the constructor arguments, then the state: the entries (in
        recency order, with sizes and deadlines), the statistics, the instance attributes and
        the iteration order."""
        attributes = dict(getattr(self, "__dict__", {}))
        sizer = self._sizer if self._sizer_given else None  # else a method of the class
        stats = (self._hits, self._misses, self._evictions, self._expirations)
        args = (type(self), self.maxsize, sizer, self._ttl_value(),
                self._timer if self._timed else None, self._origin)
        return (_rebuild, args, (self._entries(), stats, attributes, self._inserted(False)))

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
        checked = self._checked_entries(entries)
        order = _in_order(checked, order)
        counters = _checked_counters(stats)
        attributes = self._checked_attributes(attributes)
        self._adopt(checked, order, counters)
        if attributes:
            self.__dict__.update(attributes)

    cdef dict _checked_entries(self, object entries):
        """The entries by key, in recency order, each a checked (key, value, size, deadline)."""
        cdef Py_ssize_t total = 0
        if not isinstance(entries, (list, tuple)):
            raise ValidationError(
                "cache state: entries must be a list of (key, value, size, deadline), got "
                f"{_described(entries)}")
        checked = {}
        for position, entry in enumerate(entries):
            if not isinstance(entry, tuple) or len(entry) != 4:
                raise ValidationError(
                    f"cache state: entry {position} must be a tuple (key, value, size, deadline),"
                    f" got {_described(entry)}")
            key, value, size, deadline = entry
            size = self._checked_size(size, position)
            deadline = _checked_deadline(deadline, position)
            if key in checked:
                raise ValidationError(
                    f"cache state: key {reprlib.repr(key)} has two entries ({position} and an "
                    "earlier one); each key has one")
            checked[key] = (key, value, size, deadline)
            if size > self._maxsize - total:
                raise ValidationError(
                    f"cache state: the entries' sizes add up to more than maxsize {self.maxsize}")
            total += size
        if checked and self._ttl_delta and self._origin is None:
            raise ValidationError(
                "cache state: a cache with a timedelta ttl needs the time origin its deadlines "
                "count from (the last argument of the reconstructor); it is missing")
        return checked

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

    cdef int _adopt(self, dict checked, list order, tuple counters) except -1:
        """Fill the cache with checked entries: recency in ``checked`` order, iteration in
        ``order``, expiry in deadline order (ties in recency order). The entries go into a
        slab of their own first, which replaces the cache's only if it is still empty."""
        cdef mc_slab fresh
        cdef mc_slab old
        cdef dict nodes = {}
        cdef uint32_t i
        cdef mc_node *node
        cdef Py_ssize_t total = 0
        cdef bint plain = True
        mc_slab_init(&fresh, self._timed, self._sizer is not None, self._counted)
        try:
            for key, value, size, deadline in checked.values():
                i = mc_take(&fresh)
                node = mc_fill(&fresh, i, <PyObject *>key, mc_hash(key), <PyObject *>value, size,
                               deadline, self._timed)
                nodes[key] = i
                total += size
                plain = plain and mc_plain(<PyObject *>key)
            if self._timed:
                for key in sorted(checked, key=lambda k: checked[k][3]):
                    i = nodes[key]
                    mc_tappend(&fresh, i, mc_at(&fresh, i))
            for key in order:
                i = nodes[key]
                mc_reserve(&fresh)
                mc_enter(&fresh, i, mc_at(&fresh, i))
            self._enter()
            try:
                if self._slab.count:
                    raise ValidationError(
                        f"cache state: only a new, empty cache can be filled; this "
                        f"{type(self).__name__} holds {self._slab.count} items")
                old = self._slab
                self._slab = fresh
                mc_slab_zero(&fresh)
                self._version += 1
                self._currsize = total
                self._plain_keys = plain
                self._hits, self._misses, self._evictions, self._expirations = counters
            finally:
                self._exit()
            mc_slab_release(&old)
        finally:
            mc_slab_release(&fresh)  # when not adopted
        return 0

    def __repr__(self):
        if Py_ReprEnter(self):
            return "..."  # the cache holds itself, as dict shows it
        try:
            if self._timed:
                self.expire()
            items = ", ".join(f"{k!r}: {v!r}" for k, v in self._inserted(True))
            return (f"{type(self).__name__}({{{items}}}, maxsize={self.maxsize!r}, "
                    f"currsize={self._currsize!r})")
        finally:
            Py_ReprLeave(self)


cdef int _clear_entries(PyObject *self) noexcept:
    """The cache type's tp_clear, before the attributes: drop every entry (breaks cycles
    through values), leaving an empty cache."""
    cdef CacheCore cache = <CacheCore>self
    cdef mc_slab fresh
    cdef mc_slab old
    try:
        mc_slab_init(&fresh, cache._timed, cache._sizer is not None, cache._counted)
    except MemoryError:
        return 0  # the entries stay until the cache is freed
    old = cache._slab
    cache._slab = fresh
    cache._version += 1
    cache._currsize = 0
    mc_slab_release(&old)
    return 0


@cython.final
cdef class _Keys:
    """An iterator over a cache's keys in insertion order (a cache without a ttl), which, as a
    dict's, fails once a key is added or removed."""

    cdef CacheCore _cache
    cdef uint32_t _next
    cdef size_t _version

    def __cinit__(self, CacheCore cache):
        self._cache = cache
        self._next = mc_root(&cache._slab).inext
        self._version = cache._version

    def __iter__(self):
        return self

    def __next__(self):
        cdef CacheCore cache = self._cache
        cdef mc_node *node
        if cache is None:
            raise StopIteration
        if cache._version != self._version:
            self._cache = None
            raise RuntimeError(f"{type(cache).__name__} changed size during iteration")
        if self._next == 0:
            self._cache = None
            raise StopIteration
        node = mc_at(&cache._slab, self._next)
        self._next = node.inext
        return <object>node.key


cdef CacheCore _probe = CacheCore.__new__(CacheCore)
mc_install_gc(<PyTypeObject *>CacheCore, <char *>&_probe._slab - <char *><PyObject *>_probe,
              _clear_entries)
_probe = None


cdef list _in_order(dict checked, object order):
    """The keys in iteration order ``order``, which must list each key of ``checked`` once."""
    if order is None:
        return list(checked)
    if not isinstance(order, (list, tuple)):
        raise ValidationError(
            f"cache state: the iteration order must be a list of keys, got {_described(order)}")
    keys = []
    seen = set()
    for key in order:
        entry = checked.get(key)
        if entry is None:
            raise ValidationError(
                f"cache state: the iteration order names key {reprlib.repr(key)}, which has no "
                "entry")
        if id(entry) in seen:
            raise ValidationError(
                f"cache state: the iteration order lists key {reprlib.repr(key)} twice")
        seen.add(id(entry))
        keys.append(entry[0])
    for key in checked:
        if id(checked[key]) not in seen:
            raise ValidationError(
                f"cache state: the iteration order leaves out key {reprlib.repr(key)}, which "
                "has an entry")
    return keys
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


# -- memoised functions ------------------------------------------------------------------------

ctypedef object (*_vectorcall_entry)(object, PyObject **, size_t, PyObject *)


@cython.final
cdef class Memoised:
    """A sync function memoised in a cache (what ``mastra.cache.cached`` returns for one).
    The key of a call is ``key(*args, **kwargs)``; with ``hashkey`` and no keyword arguments
    it is made in C from the arguments as they arrive (one int or str argument is its own
    key, as hashkey makes it). A cache of ours is read without a Python call; any other
    mapping through its ``get``."""

    cdef void *_vectorcall  # the type's calls go through this (tp_vectorcall_offset)
    cdef object _function
    cdef object _cache
    cdef object _key
    cdef CacheCore _core  # the cache, when its lookups are CacheCore's own
    cdef bint _args_are_key
    cdef tuple _probe  # the key tuple of hits with plain arguments (mc_probe_load)
    cdef dict __dict__
    cdef object __weakref__

    def __cinit__(self, *args, **kwargs):
        cdef _vectorcall_entry entry = _memoised_vectorcall
        self._vectorcall = <void *>entry

    def __init__(self, function, cache, key, args_are_key):
        self._function = function
        self._cache = cache
        self._key = key
        self._args_are_key = args_are_key
        ours = isinstance(cache, CacheCore) and type(cache).get is CacheCore.get
        self._core = cache if ours else None

    def __call__(self, *args, **kwargs):
        return PyObject_Call(self, args, kwargs)  # the vectorcall entry (tp_call is it too)

    cdef inline object _cached(self, object key):
        cdef PyObject *value
        if self._core is not None:
            value = _value(self._core, key, False)
            return _MARKER if value is NULL else <object>value
        return self._cache.get(key, _MARKER)

    cdef bint _probe_ready(self, PyObject **args, Py_ssize_t nargs) except -1:
        """Whether a lookup of these positional arguments (two or more) can use the probe,
        made ready: the arguments are plain, nobody else holds the probe, and the cache is
        ours, holds plain keys only and reads no timer through Python. The cache is checked
        last: making a probe may run the GC, and so Python code that changes it."""
        cdef CacheCore core = self._core
        if nargs < 2 or core is None or not mc_plain_args(args, nargs):
            return False
        if (self._probe is None or len(self._probe) != nargs
                or Py_REFCNT(<PyObject *>self._probe) != 1):
            self._probe = (None,) * nargs
        return core._plain_keys and (core._fast_clock or not core._timed)

    cdef object _probed(self, PyObject **args, Py_ssize_t nargs):
        """The cached value for these arguments, looked up through the probe (_probe_ready
        said it can be), or _MARKER on a miss."""
        cdef CacheCore core = self._core
        cdef double now = _now(core) if core._timed else 0.0
        cdef PyObject *value
        probe = self._probe
        mc_probe_load(probe, args, nargs)
        try:
            value = mc_lookup(&core._slab, probe, core._timed, now,
                              False, &core._hits, &core._misses)
        finally:
            mc_probe_unload(probe, nargs)
        return _MARKER if value is NULL else <object>value

    cdef object _store(self, object key, object value):
        try:
            self._cache[key] = value
        except ValueError:
            pass  # larger than the whole cache: returned uncached
        return value

    def __get__(self, instance, owner):
        """Bound to an instance, as a function is when it is a method."""
        if instance is None:
            return self
        return MethodType(self, instance)

    def __reduce__(self):
        return self.__qualname__  # pickled by name, as the function it replaces

    def __repr__(self):
        return f"<cached {self._function!r}>"


cdef object _memoised_vectorcall(object self, PyObject **args, size_t nargsf, PyObject *kwnames):
    """Every call of a Memoised (installed as its type's vectorcall entry)."""
    cdef Memoised memo = <Memoised>self
    cdef Py_ssize_t nargs = PyVectorcall_NARGS(nargsf)
    key = _call_key(memo, args, nargs, nargsf, kwnames)
    value = memo._probed(args, nargs) if key is _PROBE else memo._cached(key)
    if value is not _MARKER:
        return value
    if key is _PROBE:
        key = mc_args_tuple(args, nargs)  # to be stored: a tuple of its own
    return memo._store(key, PyObject_Vectorcall(memo._function, args, nargsf, kwnames))


cdef inline object _call_key(Memoised memo, PyObject **args, Py_ssize_t nargs, size_t nargsf,
                             PyObject *kwnames):
    """The key of a call, as the key function makes it. For hashkey without keyword arguments
    it is made here: one int or str argument is its own key, else the tuple of the arguments,
    for which the probe stands in (_PROBE) when it can."""
    if not memo._args_are_key or (kwnames is not NULL and PyTuple_GET_SIZE(kwnames) != 0):
        return PyObject_Vectorcall(memo._key, args, nargsf, kwnames)
    if nargs == 1 and mc_plain_fast_type(Py_TYPE(args[0])):
        return <object>args[0]
    if memo._probe_ready(args, nargs):
        return _PROBE
    return mc_args_tuple(args, nargs)


cdef Memoised _memo_probe = Memoised.__new__(Memoised)
mc_install_vectorcall(<PyTypeObject *>Memoised,
                      <char *>&_memo_probe._vectorcall - <char *><PyObject *>_memo_probe)
_memo_probe = None
