"""A Kafka wire codec driven by Kafka's JSON message schemas, independent of
Eddy's generated C codec, for tests that check the broker against the schemas.

    schemas = Schemas()   # tests/integration/kafka_schemas
    frame = schemas.encode_request(3, 12, {"Topics": None}, correlation_id=7)
    header, body = schemas.decode_response(3, 12, payload)

Values are dicts keyed by the schemas' field names. A request field left out
gets its schema default. Decoding is strict: a short read, a null where the
schema does not allow one, a bool byte other than 0/1, tags out of order, a
tagged field with bytes left over, or any byte left after the body raises
DecodeError. Known tagged fields found in a response are listed under
"_present_tags", unknown ones kept under "_unknown_tags".
"""
import json
import os
import struct
import uuid

SCHEMA_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "kafka_schemas")
UNBOUNDED = 1 << 30
INT_TYPES = {"int8": ">b", "int16": ">h", "uint16": ">H", "int32": ">i", "uint32": ">I", "int64": ">q",
             "float64": ">d"}
PRIMITIVES = set(INT_TYPES) | {"string", "bytes", "bool", "uuid", "records"}
MAX_ARRAY = 1000000


class DecodeError(Exception):
    pass


class MissingSchema(Exception):
    pass


def parse_versions(text):
    """'0+' -> (0, UNBOUNDED); '1-3' -> (1, 3); '5' -> (5, 5); 'none' or absent -> None."""
    if text is None or text.strip() in ("", "none"):
        return None
    text = text.strip()
    if text.endswith("+"):
        return int(text[:-1]), UNBOUNDED
    if "-" in text:
        low, high = text.split("-")
        return int(low), int(high)
    return int(text), int(text)


def in_range(versions, v):
    return versions is not None and versions[0] <= v <= versions[1]


def strip_comments(text):
    """The schemas are JSON plus // comments (never inside a string on the same line as code)."""
    lines = []
    for line in text.splitlines():
        in_string = False
        for i, c in enumerate(line):
            if c == '"' and (i == 0 or line[i - 1] != "\\"):
                in_string = not in_string
            elif not in_string and line.startswith("//", i):
                line = line[:i]
                break
        lines.append(line)
    return "\n".join(lines)


class Writer:
    def __init__(self):
        self.buf = bytearray()

    def pack(self, fmt, value):
        self.buf += struct.pack(fmt, value)

    def raw(self, data):
        self.buf += data

    def uvarint(self, value):
        while True:
            byte = value & 0x7F
            value >>= 7
            if not value:
                self.buf.append(byte)
                return
            self.buf.append(byte | 0x80)

    def length(self, n, compact, null_marker):
        """A string/bytes/array length: compact n+1 (0 = null), else fixed width (-1 = null)."""
        if compact:
            self.uvarint(0 if n is None else n + 1)
        else:
            self.pack(null_marker, -1 if n is None else n)


class Reader:
    def __init__(self, data, pos=0, end=None):
        self.data = bytes(data)
        self.pos = pos
        self.end = len(self.data) if end is None else end

    def take(self, n):
        if n < 0 or self.pos + n > self.end:
            raise DecodeError("short read: %d bytes wanted at %d, %d left" % (n, self.pos, self.end - self.pos))
        out = self.data[self.pos:self.pos + n]
        self.pos += n
        return out

    def unpack(self, fmt):
        return struct.unpack(fmt, self.take(struct.calcsize(fmt)))[0]

    def uvarint(self):
        shift = value = 0
        while True:
            byte = self.take(1)[0]
            value |= (byte & 0x7F) << shift
            if not byte & 0x80:
                return value
            shift += 7
            if shift > 28:
                raise DecodeError("unsigned varint longer than 5 bytes")

    def length(self, compact, width_fmt):
        return self.uvarint() - 1 if compact else self.unpack(width_fmt)

    def remaining(self):
        return self.end - self.pos


class Field:
    """One field of a schema; a struct field carries its children (or the name of a common struct)."""

    def __init__(self, spec, structs):
        self.name = spec["name"]
        self.type = spec["type"]
        self.versions = parse_versions(spec.get("versions"))
        self.nullable = parse_versions(spec.get("nullableVersions"))
        self.tagged = parse_versions(spec.get("taggedVersions"))
        self.tag = spec.get("tag")
        self.never_flexible = spec.get("flexibleVersions") == "none"  # the header's ClientId
        self.default = spec.get("default")
        self.is_array = self.type.startswith("[]")
        self.elem = self.type[2:] if self.is_array else self.type
        self.children = None
        if self.elem not in PRIMITIVES:
            if "fields" in spec:
                self.children = [Field(c, structs) for c in spec["fields"]]
                structs[self.elem] = self.children
            else:
                self.children = self.elem  # a commonStruct, resolved on use

    def default_value(self):
        if self.is_array:
            return None if self.default == "null" else []
        if self.default == "null":
            return None
        if self.elem in INT_TYPES:
            if self.default is None:
                return 0
            if self.elem == "float64":
                return float(self.default)
            return int(self.default, 0) if isinstance(self.default, str) else int(self.default)
        if self.elem == "bool":
            return self.default in ("true", True)
        if self.elem == "string":
            return self.default if self.default is not None else ""
        if self.elem == "bytes":
            return b""
        if self.elem == "records":
            return None
        if self.elem == "uuid":
            return bytes(16)
        return {}


class Message:
    """One schema file: a request, a response or a header."""

    def __init__(self, path):
        with open(path) as f:
            spec = json.loads(strip_comments(f.read()))
        self.name = spec["name"]
        self.api_key = spec.get("apiKey")
        self.kind = spec["type"]
        self.valid = parse_versions(spec.get("validVersions"))
        self.flexible = parse_versions(spec.get("flexibleVersions"))
        self.structs = {}
        for common in spec.get("commonStructs", []):
            self.structs[common["name"]] = [Field(c, self.structs) for c in common["fields"]]
        self.fields = [Field(c, self.structs) for c in spec["fields"]]

    def is_flexible(self, v):
        return in_range(self.flexible, v)

    def children(self, field):
        return self.structs[field.children] if isinstance(field.children, str) else field.children

    # ---- encoding

    def encode(self, v, value, writer=None):
        writer = writer or Writer()
        self._encode_struct(writer, self.fields, v, value or {}, self.is_flexible(v))
        return bytes(writer.buf)

    def _encode_struct(self, w, fields, v, value, flexible):
        tagged = []
        for f in fields:
            if not in_range(f.versions, v):
                continue
            val = value.get(f.name, f.default_value())
            if flexible and in_range(f.tagged, v):
                if f.name in value or val != f.default_value():
                    tw = Writer()
                    self._encode_field(tw, f, v, val, flexible)
                    tagged.append((f.tag, bytes(tw.buf)))
                continue
            self._encode_field(w, f, v, val, flexible)
        if not flexible:
            return
        w.uvarint(len(tagged))
        for tag, data in sorted(tagged):
            w.uvarint(tag)
            w.uvarint(len(data))
            w.raw(data)

    def _encode_field(self, w, f, v, val, flexible):
        compact = flexible and not f.never_flexible
        if not f.is_array:
            self._encode_one(w, f, v, val, compact)
            return
        if val is None and not in_range(f.nullable, v):
            raise ValueError("%s: null for an array not nullable at v%d" % (f.name, v))
        w.length(None if val is None else len(val), compact, ">i")
        for element in val or []:
            self._encode_one(w, f, v, element, compact)

    def _encode_one(self, w, f, v, val, compact):
        t = f.elem
        if t in INT_TYPES:
            w.pack(INT_TYPES[t], val)
        elif t == "bool":
            w.pack(">b", 1 if val else 0)
        elif t == "uuid":
            w.raw(val if isinstance(val, bytes) else uuid.UUID(val).bytes)
        elif t == "string":
            if val is None and not in_range(f.nullable, v):
                raise ValueError("%s: null for a string not nullable at v%d" % (f.name, v))
            data = None if val is None else val.encode()
            w.length(None if data is None else len(data), compact, ">h")
            w.raw(data or b"")
        elif t in ("bytes", "records"):
            w.length(None if val is None else len(val), compact, ">i")
            w.raw(val or b"")
        elif val is None:  # a nullable struct
            w.pack(">b", -1)
        else:
            if in_range(f.nullable, v) and not f.is_array:  # an array's nullability is its length's
                w.pack(">b", 1)
            self._encode_struct(w, self.children(f), v, val, compact)

    # ---- decoding

    def decode_prefix(self, v, reader):
        """Decode one message at the reader's position, leaving what follows it (a header)."""
        return self._decode_struct(reader, self.fields, v, self.is_flexible(v), self.name)

    def decode(self, v, reader):
        """Decode the whole rest of reader; raise DecodeError on any byte left over."""
        out = self.decode_prefix(v, reader)
        if reader.remaining():
            raise DecodeError("%s v%d: %d bytes left over: %s" % (
                self.name, v, reader.remaining(), reader.data[reader.pos:reader.pos + 32].hex()))
        return out

    def _decode_struct(self, r, fields, v, flexible, path):
        out = {}
        by_tag = {}
        for f in fields:
            if not in_range(f.versions, v):
                continue
            if flexible and in_range(f.tagged, v):
                by_tag[f.tag] = f
                out[f.name] = f.default_value()
                continue
            out[f.name] = self._decode_field(r, f, v, flexible, path + "." + f.name)
        if flexible:
            self._decode_tags(r, by_tag, v, path, out)
        return out

    def _decode_tags(self, r, by_tag, v, path, out):
        last = -1
        for _ in range(r.uvarint()):
            tag, size = r.uvarint(), r.uvarint()
            if tag <= last:
                raise DecodeError("%s: tag %d after tag %d" % (path, tag, last))
            last = tag
            body = Reader(r.take(size))
            f = by_tag.get(tag)
            if f is None:
                out.setdefault("_unknown_tags", {})[tag] = body.data
                continue
            out[f.name] = self._decode_field(body, f, v, True, path + "." + f.name)
            if body.remaining():
                raise DecodeError("%s: tagged field %s has %d bytes left over" % (path, f.name, body.remaining()))
            out.setdefault("_present_tags", []).append(f.name)

    def _decode_field(self, r, f, v, flexible, path):
        compact = flexible and not f.never_flexible
        if not f.is_array:
            return self._decode_one(r, f, v, compact, path)
        n = r.length(compact, ">i")
        if n < 0:
            if not in_range(f.nullable, v):
                raise DecodeError("%s: null array, not nullable at v%d" % (path, v))
            return None
        if n > MAX_ARRAY:
            raise DecodeError("%s: array of %d elements" % (path, n))
        return [self._decode_one(r, f, v, compact, "%s[%d]" % (path, i)) for i in range(n)]

    def _decode_one(self, r, f, v, compact, path):
        t = f.elem
        if t in INT_TYPES:
            return r.unpack(INT_TYPES[t])
        if t == "bool":
            byte = r.unpack(">b")
            if byte not in (0, 1):
                raise DecodeError("%s: bool byte %d" % (path, byte))
            return byte == 1
        if t == "uuid":
            return str(uuid.UUID(bytes=r.take(16)))
        if t == "string":
            n = r.length(compact, ">h")
            if n < 0:
                if not in_range(f.nullable, v):
                    raise DecodeError("%s: null string, not nullable at v%d" % (path, v))
                return None
            try:
                return r.take(n).decode("utf-8")
            except UnicodeDecodeError as e:
                raise DecodeError("%s: %s" % (path, e))
        if t in ("bytes", "records"):
            n = r.length(compact, ">i")
            if n < 0:
                if t == "bytes" and not in_range(f.nullable, v):
                    raise DecodeError("%s: null bytes, not nullable at v%d" % (path, v))
                return None
            return r.take(n)
        if in_range(f.nullable, v) and not f.is_array:  # an array's nullability is its length's
            marker = r.unpack(">b")
            if marker < 0:
                return None
            if marker != 1:
                raise DecodeError("%s: nullable struct marker %d" % (path, marker))
        return self._decode_struct(r, self.children(f), v, compact, path)


class Schemas:
    """Every schema in a directory, by api key, and the request/response headers."""

    def __init__(self, directory=SCHEMA_DIR):
        self.requests, self.responses = {}, {}
        for name in sorted(os.listdir(directory)):
            if not name.endswith(".json"):
                continue
            m = Message(os.path.join(directory, name))
            if m.kind == "request":
                self.requests[m.api_key] = m
            elif m.kind == "response":
                self.responses[m.api_key] = m
            elif m.name == "RequestHeader":
                self.request_header = m
            elif m.name == "ResponseHeader":
                self.response_header = m

    def api_name(self, key):
        return self.requests[key].name[:-len("Request")] if key in self.requests else "api key %d" % key

    def require(self, key):
        if key not in self.requests or key not in self.responses:
            raise MissingSchema("no schema for api key %d in %s: copy its Request/Response JSON there"
                                % (key, SCHEMA_DIR))

    def request_header_version(self, key, v):
        return 2 if self.requests[key].is_flexible(v) else 1

    def response_header_version(self, key, v):
        """ApiVersions answers with header v0 whatever its version (clients parse it before knowing)."""
        if key == 18:
            return 0
        return 1 if self.responses[key].is_flexible(v) else 0

    def encode_request(self, key, v, body, correlation_id, client_id="protocol-versions"):
        """A size-prefixed request frame."""
        self.require(key)
        w = Writer()
        header = {"RequestApiKey": key, "RequestApiVersion": v, "CorrelationId": correlation_id,
                  "ClientId": client_id}
        self.request_header.encode(self.request_header_version(key, v), header, w)
        self.requests[key].encode(v, body, w)
        return struct.pack(">i", len(w.buf)) + bytes(w.buf)

    def decode_response(self, key, v, payload):
        """(header, body) of a response payload (the frame without its size), strictly."""
        r = Reader(payload)
        hv = self.response_header_version(key, v)
        header = self.response_header.decode_prefix(hv, r)
        return header, self.responses[key].decode(v, r)
