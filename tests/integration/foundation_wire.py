"""Hand-encoded Kafka frames for the foundation tests (test_foundation_*).

Just enough of the wire format to talk to the broker from a raw socket:
requests are built byte by byte with `struct`, so the tests do not share a
codec (and its bugs) with the broker. Only ApiVersions and Metadata v1 are
decoded; everything else is checked by length and correlation id.
"""
import socket
import struct
import time

API_METADATA = 3
API_API_VERSIONS = 18
UNSUPPORTED_VERSION = 35
UNKNOWN_TOPIC_OR_PARTITION = 3


# ---- encoding ----

def i8(v):
    return struct.pack(">b", v)


def i16(v):
    return struct.pack(">h", v)


def i32(v):
    return struct.pack(">i", v)


def string(s):
    """Classic (non-flexible) nullable string: int16 length, -1 = null."""
    if s is None:
        return i16(-1)
    b = s.encode() if isinstance(s, str) else s
    return i16(len(b)) + b


def uvarint(v):
    out = bytearray()
    while True:
        byte = v & 0x7F
        v >>= 7
        if v:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


def compact_string(s):
    if s is None:
        return uvarint(0)
    b = s.encode() if isinstance(s, str) else s
    return uvarint(len(b) + 1) + b


def request_header(api_key, version, correlation_id, client_id="foundation-test", flexible=False):
    """Request header v1 (v2 adds an empty tagged-field section)."""
    h = i16(api_key) + i16(version) + i32(correlation_id) + string(client_id)
    return h + (b"\x00" if flexible else b"")


def frame(payload):
    return i32(len(payload)) + payload


def api_versions_request(version, correlation_id, software=("eddy-foundation-test", "1.0")):
    flexible = version >= 3
    body = b""
    if flexible:
        body = compact_string(software[0]) + compact_string(software[1]) + b"\x00"
    return frame(request_header(API_API_VERSIONS, version, correlation_id, flexible=flexible) + body)


def metadata_v1_request(correlation_id, topics=None):
    """Metadata v1: a null topic array asks for all topics (v1 creates missing ones if allowed)."""
    if topics is None:
        body = i32(-1)
    else:
        body = i32(len(topics)) + b"".join(string(t) for t in topics)
    return frame(request_header(API_METADATA, 1, correlation_id) + body)


def metadata_v4_request(correlation_id, topics, allow_auto_create=True):
    body = i32(len(topics)) + b"".join(string(t) for t in topics) + i8(1 if allow_auto_create else 0)
    return frame(request_header(API_METADATA, 4, correlation_id) + body)


# ---- decoding ----

class Reader:
    def __init__(self, data):
        self.data = data
        self.pos = 0

    def take(self, n):
        if self.pos + n > len(self.data):
            raise ValueError("short read at %d (+%d of %d)" % (self.pos, n, len(self.data)))
        b = self.data[self.pos:self.pos + n]
        self.pos += n
        return b

    def i8(self):
        return struct.unpack(">b", self.take(1))[0]

    def i16(self):
        return struct.unpack(">h", self.take(2))[0]

    def i32(self):
        return struct.unpack(">i", self.take(4))[0]

    def i64(self):
        return struct.unpack(">q", self.take(8))[0]

    def uvarint(self):
        shift = value = 0
        while True:
            b = self.take(1)[0]
            value |= (b & 0x7F) << shift
            if not b & 0x80:
                return value
            shift += 7

    def string(self):
        n = self.i16()
        return None if n < 0 else self.take(n).decode()

    def skip_tags(self):
        for _ in range(self.uvarint()):
            self.uvarint()
            self.take(self.uvarint())

    def remaining(self):
        return len(self.data) - self.pos


def parse_api_versions(body, version):
    """-> (error_code, {api_key: (min, max)}, throttle_ms). `body` follows the v0 header."""
    r = Reader(body)
    error = r.i16()
    apis = {}
    flexible = version >= 3
    count = r.uvarint() - 1 if flexible else r.i32()
    for _ in range(count):
        key, lo, hi = r.i16(), r.i16(), r.i16()
        if flexible:
            r.skip_tags()
        apis[key] = (lo, hi)
    throttle = r.i32() if version >= 1 else None
    if flexible:
        r.skip_tags()
    if r.remaining():
        raise ValueError("%d trailing bytes in ApiVersions v%d response" % (r.remaining(), version))
    return error, apis, throttle


def parse_metadata_v1(body):
    """-> dict(brokers=[(id, host, port, rack)], controller=id, topics={name: (error, [partition...])})."""
    r = Reader(body)
    brokers = []
    for _ in range(r.i32()):
        brokers.append((r.i32(), r.string(), r.i32(), r.string()))
    controller = r.i32()
    topics = {}
    for _ in range(r.i32()):
        err, name, _internal = r.i16(), r.string(), r.i8()
        parts = []
        for _ in range(r.i32()):
            perr, index, leader = r.i16(), r.i32(), r.i32()
            replicas = [r.i32() for _ in range(r.i32())]
            isr = [r.i32() for _ in range(r.i32())]
            parts.append((perr, index, leader, replicas, isr))
        topics[name] = (err, parts)
    if r.remaining():
        raise ValueError("%d trailing bytes in Metadata v1 response" % r.remaining())
    return {"brokers": brokers, "controller": controller, "topics": topics}


# ---- sockets ----

def connect(port, timeout=5.0):
    s = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return s


def recv_exact(sock, n):
    """n bytes, or None if the peer closed first (a reset counts as closed)."""
    buf = bytearray()
    while len(buf) < n:
        try:
            chunk = sock.recv(n - len(buf))
        except ConnectionResetError:
            return None
        if not chunk:
            return None
        buf += chunk
    return bytes(buf)


def recv_response(sock):
    """-> (correlation_id, body) of the next response (v0 header), or None on close."""
    size = recv_exact(sock, 4)
    if size is None:
        return None
    (n,) = struct.unpack(">i", size)
    if n < 4:
        raise ValueError("response size %d is smaller than its header" % n)
    payload = recv_exact(sock, n)
    if payload is None:
        raise ValueError("connection closed inside a %d-byte response" % n)
    return struct.unpack(">i", payload[:4])[0], payload[4:]


def wait_closed(sock, timeout=5.0):
    """True if the broker closes the connection within timeout (data before the close is ignored)."""
    sock.settimeout(timeout)
    deadline = time.time() + timeout
    try:
        while time.time() < deadline:
            chunk = sock.recv(65536)
            if not chunk:
                return True
    except ConnectionResetError:
        return True
    except socket.timeout:
        return False
    return False


def metadata_roundtrip(port, topics=None, correlation_id=4242, timeout=5.0):
    """A fresh client's Metadata v1 request; returns the parsed answer."""
    with connect(port, timeout=timeout) as s:
        s.sendall(metadata_v1_request(correlation_id, topics))
        resp = recv_response(s)
        assert resp is not None, "broker closed a fresh client's Metadata request"
        corr, body = resp
        assert corr == correlation_id, "correlation id %d, expected %d" % (corr, correlation_id)
        return parse_metadata_v1(body)


def assert_alive(broker, label=""):
    """The process runs and a new client gets a sensible Metadata answer."""
    assert broker.proc.poll() is None, "broker died %s (exit %s):\n%s" % (
        label, broker.proc.returncode, broker.output()[-3000:])
    md = metadata_roundtrip(broker.port)
    assert md["brokers"] and md["brokers"][0][0] == 1, "bad broker list after %s: %r" % (label, md)
    assert md["brokers"][0][2] == broker.port, "bad advertised port after %s: %r" % (label, md)
