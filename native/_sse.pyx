# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True, embedsignature=True
"""Incremental Server-Sent Events decoder (private; the public face is mastra.sse).

Implements the WHATWG "interpreting an event stream" rules on bytes: lines end at CRLF, LF or
CR (a CR at the end of one chunk and an LF at the start of the next are one line end), field
values are decoded as UTF-8 with replacement, one leading BOM is dropped, and an event is
dispatched at a blank line when its data buffer is not empty. Line ends are ASCII, so splitting
the bytes before decoding gives the same text as decoding the whole stream first.
"""

cimport cython
from libc.stdlib cimport free, realloc
from libc.string cimport memchr, memcmp, memcpy
from cpython.unicode cimport PyUnicode_DecodeUTF8

from mastra.errors import EventTooLargeError

cdef str _MESSAGE = "message"
cdef const char *_BOM = b"\xef\xbb\xbf"


cdef class ServerSentEvent:
    """One dispatched event: ``event`` type (default "message"), ``data`` (data lines joined
    by LF), ``id`` (the last event id, which persists across events) and ``retry`` (the
    reconnection time in ms when this event's block set one, else None)."""

    cdef readonly str event
    cdef readonly str data
    cdef readonly str id
    cdef readonly object retry

    def __init__(self, str event="message", str data="", str id="", retry=None):
        self.event = event
        self.data = data
        self.id = id
        self.retry = retry

    def __repr__(self):
        return (f"ServerSentEvent(event={self.event!r}, data={self.data!r}, id={self.id!r}, "
                f"retry={self.retry!r})")

    def __eq__(self, other):
        if not isinstance(other, ServerSentEvent):
            return NotImplemented
        cdef ServerSentEvent o = other
        return (self.event == o.event and self.data == o.data and self.id == o.id
                and self.retry == o.retry)

    def __hash__(self):
        return hash((self.event, self.data, self.id, self.retry))

    def __reduce__(self):
        return (ServerSentEvent, (self.event, self.data, self.id, self.retry))


cdef int _grow(char **buf, Py_ssize_t *cap, Py_ssize_t needed) except -1:
    cdef Py_ssize_t new_cap = cap[0] if cap[0] else 256
    while new_cap < needed:
        new_cap *= 2
    cdef char *grown = <char *>realloc(buf[0], new_cap)
    if grown is NULL:
        raise MemoryError()
    buf[0] = grown
    cap[0] = new_cap
    return 0


cdef class SSEDecoder:
    """Feed bytes as they arrive; get back the events they complete.

    ``max_event_bytes`` bounds one event: the bytes of all its lines (fields and comments,
    line ends not counted) from its first line to the blank line that ends it. An event over
    it is skipped whole: the lines it had and every line until the blank line that ends it are
    discarded (even over many ``feed()`` calls) and none of its fields take effect. ``feed()``
    then raises :class:`EventTooLargeError` after decoding its whole chunk; the error carries
    the chunk's other events, in order, and the decoder goes on with the next chunk.
    """

    cdef char *_line
    cdef Py_ssize_t _line_len
    cdef Py_ssize_t _line_cap
    cdef char *_data
    cdef Py_ssize_t _data_len
    cdef Py_ssize_t _data_cap
    cdef Py_ssize_t _event_bytes  # bytes of the complete lines of the event being read
    cdef object _event_type
    cdef object _event_retry
    cdef object _retry_before  # the reconnection time before the event's first retry field
    cdef str _id_buffer  # the spec's last event ID buffer
    cdef str _last_id  # the spec's last event ID string: set when an event is dispatched
    cdef object _retry
    cdef readonly Py_ssize_t max_event_bytes
    cdef bint _skip_lf
    cdef bint _bom_checked
    cdef int _bom_have
    cdef bint _skipping  # inside an oversized event: discard lines up to its blank line
    cdef bint _skip_line_open  # ... and the line being discarded has bytes already
    cdef Py_ssize_t _skipped  # oversized events found by the current feed()
    cdef Py_ssize_t _skipped_size

    def __init__(self, Py_ssize_t max_event_bytes=16 * 2**20):
        if max_event_bytes <= 0:
            raise ValueError(f"max_event_bytes must be positive, got {max_event_bytes}")
        self.max_event_bytes = max_event_bytes
        self._last_id = ""
        self._retry = None
        self._reset_stream()

    def __dealloc__(self):
        free(self._line)
        free(self._data)

    @cython.final
    cdef inline void _reset_event(self):
        self._data_len = 0
        self._event_bytes = 0
        self._event_type = None
        self._event_retry = None

    cdef void _reset_stream(self):
        self._reset_event()
        self._line_len = 0
        self._id_buffer = self._last_id  # an id never dispatched is forgotten
        self._skip_lf = False
        self._bom_checked = False
        self._bom_have = 0
        self._skipping = False
        self._skip_line_open = False

    @property
    def last_event_id(self):
        """The id of the last dispatched event (persists across events; "" before any).

        An ``id`` field takes effect at the blank line that ends its event, even when that
        event has no data and so is not delivered; an id in an unfinished or oversized event
        never does."""
        return self._last_id

    @property
    def retry(self):
        """The last reconnection time (ms) the stream asked for, or None."""
        return self._retry

    @property
    def pending(self):
        """True when part of an unfinished event has been read."""
        return (self._line_len > 0 or self._event_bytes > 0 or self._skipping
                or self._bom_have > 0)

    def feed(self, chunk):
        """Decode the next bytes of the stream; returns the events they complete, in order.

        Raises :class:`EventTooLargeError` (carrying those events) when the chunk made an
        event exceed ``max_event_bytes``; that event is skipped and decoding can go on."""
        if chunk is None:
            raise TypeError("SSEDecoder.feed() takes bytes (or another buffer), got None")
        cdef const unsigned char[::1] view = chunk
        cdef list out = []
        cdef Py_ssize_t n = view.shape[0]
        if n == 0:
            return out
        cdef const char *p = <const char *>&view[0]
        cdef const char *end = p + n
        self._skipped = 0
        if not self._bom_checked:
            p = self._strip_bom(p, end, out)
        if p is not NULL:
            self._scan(p, end, out)
        if self._skipped:
            raise self._too_large(out)
        return out

    def close(self):
        """End of stream: an unfinished event is discarded, as the specification says.
        Returns the events still to deliver (always none) and readies the decoder for a new
        stream; ``last_event_id`` and ``retry`` are kept for reconnecting."""
        self._reset_stream()
        return []

    cdef object _too_large(self, list out):
        cdef str what
        if self._skipped == 1:
            what = (f"a server-sent event reached {self._skipped_size} bytes, over "
                    f"max_event_bytes={self.max_event_bytes}, and was skipped")
        else:
            what = (f"{self._skipped} server-sent events went over max_event_bytes="
                    f"{self.max_event_bytes} (the first reached {self._skipped_size} bytes) "
                    f"and were skipped")
        return EventTooLargeError(
            f"{what}; the chunk's {len(out)} other events are in the error's .events",
            events=out, skipped=self._skipped, size=self._skipped_size,
            limit=self.max_event_bytes)

    cdef const char *_strip_bom(self, const char *p, const char *end, list out) except? NULL:
        """Drop a leading UTF-8 BOM, which may arrive split over chunks. Returns where the
        stream proper starts, or NULL when more bytes are needed to decide."""
        while self._bom_have < 3 and p < end and p[0] == _BOM[self._bom_have]:
            self._bom_have += 1
            p += 1
        if self._bom_have < 3 and p == end:
            return NULL  # a BOM prefix so far: wait for more bytes
        self._bom_checked = True
        if self._bom_have < 3:  # not a BOM: the bytes held back are ordinary line bytes
            self._scan(_BOM, _BOM + self._bom_have, out)
        self._bom_have = 0
        return p

    cdef int _over(self, Py_ssize_t size) except -1:
        """The event being read reached ``size`` bytes, over the limit: forget it and skip the
        rest of it, undoing the reconnection time it set."""
        if self._event_retry is not None:
            self._retry = self._retry_before
        self._reset_event()
        self._line_len = 0
        self._id_buffer = self._last_id
        self._skipping = True
        if self._skipped == 0:
            self._skipped_size = size
        self._skipped += 1
        return 0

    cdef int _hold(self, const char *p, Py_ssize_t n) except -1:
        """Keep the start of a line whose end has not arrived yet."""
        cdef Py_ssize_t size
        if self._skipping:
            self._skip_line_open = True
            return 0
        size = self._event_bytes + self._line_len + n
        if size > self.max_event_bytes:
            self._over(size)
            self._skip_line_open = True
            return 0
        if self._line_len + n > self._line_cap:
            _grow(&self._line, &self._line_cap, self._line_len + n)
        memcpy(self._line + self._line_len, p, n)
        self._line_len += n
        return 0

    cdef int _complete(self, const char *p, Py_ssize_t n, list out) except -1:
        """A line ends after ``p[:n]``, and either its start is held from earlier chunks or
        it belongs to an oversized event."""
        cdef Py_ssize_t total
        if self._skipping:
            if n == 0 and not self._skip_line_open:
                self._skipping = False  # the blank line that ends the oversized event
            self._skip_line_open = False
            return 0
        # the line began in an earlier chunk: complete it in the line buffer, which stays
        # valid while it is processed (processing never appends to it)
        total = self._line_len + n
        if self._event_bytes + total > self.max_event_bytes:
            return self._over(self._event_bytes + total)
        self._hold(p, n)
        self._line_len = 0
        return self._process(self._line, total, out)

    cdef int _scan(self, const char *p, const char *end, list out) except -1:
        cdef const char *lf
        cdef const char *cr
        cdef const char *stop
        if self._skip_lf and p < end:
            self._skip_lf = False
            if p[0] == b'\n':
                p += 1
        while p < end:
            lf = <const char *>memchr(p, b'\n', end - p)
            stop = lf if lf is not NULL else end
            cr = <const char *>memchr(p, b'\r', stop - p)
            if cr is not NULL:
                stop = cr
            elif lf is NULL:
                return self._hold(p, end - p)  # no line end yet
            if self._line_len == 0 and not self._skipping:
                self._process(p, stop - p, out)  # the common case: a whole line in this chunk
            else:
                self._complete(p, stop - p, out)
            if stop[0] == b'\r':
                if stop + 1 < end:
                    if stop[1] == b'\n':
                        stop += 1
                else:
                    self._skip_lf = True
            p = stop + 1
        return 0

    cdef int _process(self, const char *line, Py_ssize_t n, list out) except -1:
        cdef const char *colon
        cdef const char *value
        cdef Py_ssize_t name_len, value_len
        if n == 0:
            return self._dispatch(out)
        self._event_bytes += n
        if self._event_bytes > self.max_event_bytes:
            return self._over(self._event_bytes)
        if line[0] == b':':
            return 0
        colon = <const char *>memchr(line, b':', n)
        if colon is NULL:
            name_len = n
            value = line + n
            value_len = 0
        else:
            name_len = colon - line
            value = colon + 1
            value_len = n - name_len - 1
            if value_len and value[0] == b' ':
                value += 1
                value_len -= 1
        if name_len == 4 and memcmp(line, b"data", 4) == 0:
            # the data buffer stays within the limit: each data line adds at most its length
            if self._data_len + value_len + 1 > self._data_cap:
                _grow(&self._data, &self._data_cap, self._data_len + value_len + 1)
            memcpy(self._data + self._data_len, value, value_len)
            self._data_len += value_len
            self._data[self._data_len] = b'\n'
            self._data_len += 1
        elif name_len == 5 and memcmp(line, b"event", 5) == 0:
            # an empty type buffer means "message"
            self._event_type = (PyUnicode_DecodeUTF8(value, value_len, "replace")
                                if value_len else None)
        elif name_len == 2 and memcmp(line, b"id", 2) == 0:
            if memchr(value, 0, value_len) is NULL:
                self._id_buffer = PyUnicode_DecodeUTF8(value, value_len, "replace")
        elif name_len == 5 and memcmp(line, b"retry", 5) == 0:
            if value_len and _all_digits(value, value_len):
                if self._event_retry is None:
                    self._retry_before = self._retry
                self._retry = self._event_retry = int(value[:value_len])
        return 0

    cdef int _dispatch(self, list out) except -1:
        """A blank line: the spec's "dispatch the event" steps. The last event ID string is
        set first, even when the data buffer is empty and no event is fired."""
        cdef ServerSentEvent event
        if self._last_id is not self._id_buffer:
            self._last_id = self._id_buffer
        if self._data_len:
            event = ServerSentEvent.__new__(ServerSentEvent)
            event.data = PyUnicode_DecodeUTF8(self._data, self._data_len - 1, "replace")
            event.event = _MESSAGE if self._event_type is None else self._event_type
            event.id = self._last_id
            event.retry = self._event_retry
            out.append(event)
        self._reset_event()
        return 0


cdef inline bint _all_digits(const char *p, Py_ssize_t n):
    cdef Py_ssize_t i
    for i in range(n):
        if p[i] < b'0' or p[i] > b'9':
            return False
    return True
