# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True, embedsignature=True
"""Incremental Server-Sent Events decoder (private; the public face is mastra.sse).

Implements the WHATWG "interpreting an event stream" rules on bytes: lines end at CRLF, LF or
CR (a CR at the end of one chunk and an LF at the start of the next are one line end), field
values are decoded as UTF-8 with replacement, one leading BOM is dropped, and an event is
dispatched at a blank line when its data buffer is not empty. Line ends are ASCII, so splitting
the bytes before decoding gives the same text as decoding the whole stream first.
"""

from libc.stdlib cimport free, realloc
from libc.string cimport memchr, memcmp, memcpy
from cpython.unicode cimport PyUnicode_DecodeUTF8

from mastra.errors import StreamError

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

    ``max_event_bytes`` bounds one event's data (and any single line): a stream that exceeds
    it raises :class:`mastra.errors.StreamError` naming the limit, instead of growing memory
    without bound.
    """

    cdef char *_line
    cdef Py_ssize_t _line_len
    cdef Py_ssize_t _line_cap
    cdef char *_data
    cdef Py_ssize_t _data_len
    cdef Py_ssize_t _data_cap
    cdef object _event_type
    cdef object _event_retry
    cdef str _last_id
    cdef object _retry
    cdef readonly Py_ssize_t max_event_bytes
    cdef bint _skip_lf
    cdef bint _bom_checked

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

    cdef void _reset_stream(self):
        self._line_len = 0
        self._data_len = 0
        self._event_type = None
        self._event_retry = None
        self._skip_lf = False
        self._bom_checked = False

    @property
    def last_event_id(self):
        """The last event id seen (persists across events; "" before any)."""
        return self._last_id

    @property
    def retry(self):
        """The last reconnection time (ms) the stream asked for, or None."""
        return self._retry

    @property
    def pending(self):
        """True when bytes of an unfinished event are buffered."""
        return self._line_len > 0 or self._data_len > 0 or self._event_type is not None

    def feed(self, chunk):
        """Decode the next bytes of the stream; returns the events they complete, in order."""
        cdef const unsigned char[::1] view = chunk
        cdef list out = []
        cdef Py_ssize_t n = view.shape[0]
        if n == 0:
            return out
        cdef const char *p = <const char *>&view[0]
        cdef const char *end = p + n
        if not self._bom_checked:
            p = self._strip_bom(p, end)
            if p is NULL:
                return out
        self._scan(p, end, out)
        return out

    def close(self):
        """End of stream: an unfinished event is discarded, as the specification says.
        Returns the events still to deliver (always none) and readies the decoder for a new
        stream; ``last_event_id`` and ``retry`` are kept for reconnecting."""
        self._reset_stream()
        return []

    cdef const char *_strip_bom(self, const char *p, const char *end) except? NULL:
        """Drop a leading UTF-8 BOM, which may arrive split over chunks. Returns where the
        stream proper starts, or NULL when more bytes are needed to decide."""
        cdef Py_ssize_t have = self._line_len
        while have < 3 and p < end:
            if p[0] != _BOM[have]:
                break
            self._append_line(p, 1)
            have += 1
            p += 1
        if have == 3:
            self._line_len = 0
            self._bom_checked = True
            return p
        if have > 0 and p == end:
            return NULL  # a BOM prefix so far: wait for more bytes
        self._bom_checked = True  # not a BOM: the buffered bytes are ordinary line bytes
        return p

    cdef int _append_line(self, const char *p, Py_ssize_t n) except -1:
        if self._line_len + n > self.max_event_bytes:
            self._line_len = 0
            raise StreamError(
                f"a server-sent event line exceeds max_event_bytes={self.max_event_bytes} bytes")
        if self._line_len + n > self._line_cap:
            _grow(&self._line, &self._line_cap, self._line_len + n)
        memcpy(self._line + self._line_len, p, n)
        self._line_len += n
        return 0

    cdef int _scan(self, const char *p, const char *end, list out) except -1:
        cdef const char *lf
        cdef const char *cr
        cdef const char *stop
        cdef Py_ssize_t total
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
                self._append_line(p, end - p)  # no line end yet
                return 0
            if self._line_len:
                # the line began in an earlier chunk: complete it in the line buffer, which
                # stays valid while it is processed (processing never appends to it)
                self._append_line(p, stop - p)
                total = self._line_len
                self._line_len = 0
                self._process(self._line, total, out)
            else:
                self._process(p, stop - p, out)
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
            if self._data_len + value_len + 1 > self.max_event_bytes:
                self._data_len = 0
                self._event_type = None
                raise StreamError(
                    f"a server-sent event exceeds max_event_bytes={self.max_event_bytes} bytes")
            if self._data_len + value_len + 1 > self._data_cap:
                _grow(&self._data, &self._data_cap, self._data_len + value_len + 1)
            memcpy(self._data + self._data_len, value, value_len)
            self._data_len += value_len
            self._data[self._data_len] = b'\n'
            self._data_len += 1
        elif name_len == 5 and memcmp(line, b"event", 5) == 0:
            self._event_type = PyUnicode_DecodeUTF8(value, value_len, "replace")
        elif name_len == 2 and memcmp(line, b"id", 2) == 0:
            if memchr(value, 0, value_len) is NULL:
                self._last_id = PyUnicode_DecodeUTF8(value, value_len, "replace")
        elif name_len == 5 and memcmp(line, b"retry", 5) == 0:
            if value_len and _all_digits(value, value_len):
                self._retry = self._event_retry = int(value[:value_len])
        return 0

    cdef int _dispatch(self, list out) except -1:
        cdef ServerSentEvent event
        if self._data_len == 0:
            self._event_type = None
            self._event_retry = None
            return 0
        event = ServerSentEvent.__new__(ServerSentEvent)
        event.data = PyUnicode_DecodeUTF8(self._data, self._data_len - 1, "replace")
        event.event = _MESSAGE if self._event_type is None else self._event_type
        event.id = self._last_id
        event.retry = self._event_retry
        out.append(event)
        self._data_len = 0
        self._event_type = None
        self._event_retry = None
        return 0


cdef inline bint _all_digits(const char *p, Py_ssize_t n):
    cdef Py_ssize_t i
    for i in range(n):
        if p[i] < b'0' or p[i] > b'9':
            return False
    return True
