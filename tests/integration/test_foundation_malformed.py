#!/usr/bin/python3
"""Malformed input from raw sockets never takes the broker down.

Every case runs on its own connection. A case passes when the broker either
answers or closes the connection (never hangs on it), and afterwards the
process is alive and a fresh client gets a correct Metadata answer. Ends with
seeded random garbage, a frame dribbled in byte by byte, and pipelining: many
requests in one write, all answered in order.
"""
import os
import random
import socket
import struct
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import Broker  # noqa: E402
import foundation_wire as kw  # noqa: E402

MAX_REQUEST = 4096  # socket.request.max.bytes for this broker


def answer_or_close(sock, timeout=5.0):
    """'closed' or 'answered <corr>'; raises if the broker neither answers nor closes."""
    sock.settimeout(timeout)
    try:
        resp = kw.recv_response(sock)
    except socket.timeout:
        raise AssertionError("broker neither answered nor closed within %.0fs" % timeout)
    if resp is None:
        return "closed"
    return "answered %d" % resp[0]


def run_case(broker, name, data, expect="either", close_after_send=False):
    with kw.connect(broker.port) as s:
        try:
            s.sendall(data)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the broker already hung up: that is an allowed outcome
        if close_after_send:
            outcome = "client closed"
        else:
            outcome = answer_or_close(s)
            if expect == "closed":
                assert outcome == "closed", "%s: expected a close, got %s" % (name, outcome)
                # and nothing more may follow
            if outcome.startswith("answered") and expect == "either":
                pass
    kw.assert_alive(broker, "case '%s'" % name)
    print("%-55s -> %s; broker alive" % (name, outcome))
    return outcome


def metadata_frame(version, body, corr=7, flexible=False):
    return kw.frame(kw.request_header(kw.API_METADATA, version, corr, flexible=flexible) + body)


def structural_cases(b):
    hdr_v1 = kw.request_header(kw.API_METADATA, 1, 11)
    cases = [
        # framing
        ("truncated frame, then close", kw.i32(100) + hdr_v1 + b"\x00" * 4, "n/a", True),
        ("only 2 bytes of a size prefix, then close", b"\x00\x00", "n/a", True),
        ("oversized size prefix (> socket.request.max.bytes)", kw.i32(MAX_REQUEST + 1) + b"\x00" * 64,
         "closed", False),
        ("size prefix 2 GiB - 1", kw.i32(0x7FFFFFFF) + b"\x00" * 16, "closed", False),
        ("negative size prefix -1", kw.i32(-1) + b"\x00" * 16, "closed", False),
        ("negative size prefix INT32_MIN", kw.i32(-0x80000000) + b"\x00" * 16, "closed", False),
        ("zero-length frame", kw.i32(0), "closed", False),
        ("frame shorter than the fixed header", kw.frame(b"\x00\x03\x00"), "closed", False),
        # header
        ("garbage api key 9999", kw.frame(kw.request_header(9999, 0, 12) + b"junk"), "closed", False),
        ("negative api key -3", kw.frame(kw.request_header(-3, 0, 13)), "closed", False),
        ("unknown Metadata version 13", metadata_frame(13, b"\x00\x00\x00", flexible=True), "closed", False),
        ("unknown Metadata version 200", metadata_frame(200, kw.i32(-1)), "closed", False),
        ("negative Metadata version -1", metadata_frame(-1, kw.i32(-1)), "closed", False),
        ("client id length -7", kw.frame(kw.i16(3) + kw.i16(1) + kw.i32(14) + kw.i16(-7) + kw.i32(-1)),
         "either", False),
        ("client id length beyond the frame", kw.frame(kw.i16(3) + kw.i16(1) + kw.i32(15) + kw.i16(500) + b"ab"),
         "closed", False),
        # Metadata bodies
        ("Metadata v1 topic array length -2", metadata_frame(1, kw.i32(-2)), "either", False),
        ("Metadata v1 topic array length INT32_MIN", metadata_frame(1, kw.i32(-0x80000000)), "either", False),
        ("Metadata v1 topic array length 2^31-1, no elements", metadata_frame(1, kw.i32(0x7FFFFFFF)),
         "closed", False),
        ("Metadata v1 topic name length -5", metadata_frame(1, kw.i32(1) + kw.i16(-5)), "either", False),
        ("Metadata v1 topic name length -32768", metadata_frame(1, kw.i32(1) + kw.i16(-32768)), "either", False),
        ("Metadata v1 topic name longer than the frame", metadata_frame(1, kw.i32(1) + kw.i16(300) + b"abc"),
         "closed", False),
        ("Metadata v1 body truncated mid-array", metadata_frame(1, kw.i32(3) + kw.string("a")), "closed", False),
        # Kafka ignores bytes after a complete body (librdkafka 2.0's ListGroups v4 sends one).
        ("Metadata v1 with trailing garbage", metadata_frame(1, kw.i32(-1) + b"\xde\xad"), "answered", False),
        ("Metadata v4 missing allow_auto_topic_creation", metadata_frame(4, kw.i32(0)), "closed", False),
        ("Metadata v12 compact array length 2^32 (varint)",
         metadata_frame(12, b"\x80\x80\x80\x80\x10" + b"\x00\x00\x00", flexible=True), "closed", False),
        ("Metadata v12 overlong varint (10 x 0xff)",
         metadata_frame(12, b"\xff" * 10 + b"\x00", flexible=True), "closed", False),
        ("Metadata v12 compact string length beyond the frame",
         metadata_frame(12, kw.uvarint(2) + b"\x00" * 16 + kw.uvarint(1000) + b"x", flexible=True),
         "closed", False),
        ("Metadata v12 tagged fields: count 1, size beyond the frame",
         metadata_frame(12, kw.uvarint(0) + b"\x01\x00" + kw.uvarint(1) + kw.uvarint(0) + kw.uvarint(900),
                        flexible=True), "closed", False),
        ("Metadata v12 header tagged fields garbage",
         kw.frame(kw.request_header(kw.API_METADATA, 12, 16) + b"\x05\x01" + b"\x00\x00\x00"), "closed", False),
        ("Metadata v0 empty body", metadata_frame(0, b""), "closed", False),
    ]
    for name, data, expect, close_after in cases:
        run_case(b, name, data, expect if expect != "n/a" else "either", close_after)


def mutated_frame(rng, corr):
    """A valid request with 1-4 bytes after the size prefix overwritten: reaches the decoders."""
    bases = [kw.api_versions_request(v, corr) for v in range(5)] + [
        kw.metadata_v1_request(corr, ["mutant-a", "mutant-b"]),
        kw.metadata_v4_request(corr, ["mutant-c"], allow_auto_create=False),
    ]
    data = bytearray(rng.choice(bases))
    for _ in range(rng.randint(1, 4)):
        data[rng.randrange(4, len(data))] = rng.getrandbits(8)
    return bytes(data)


def random_cases(b, rounds=300):
    rng = random.Random(20261123)
    for i in range(rounds):
        kind = i % 4
        if kind == 3:
            data = mutated_frame(rng, 6000 + i)
        elif kind == 0:  # pure noise, any length
            data = bytes(rng.getrandbits(8) for _ in range(rng.randint(1, 300)))
        elif kind == 1:  # a well-sized frame of noise
            payload = bytes(rng.getrandbits(8) for _ in range(rng.randint(0, 200)))
            data = kw.frame(payload)
        else:  # a real Metadata/ApiVersions header with a noisy body
            api, version = rng.choice([(3, rng.randint(0, 12)), (18, rng.randint(0, 4))])
            flexible = (api == 3 and version >= 9) or (api == 18 and version >= 3)
            payload = kw.request_header(api, version, 5000 + i, flexible=flexible)
            payload += bytes(rng.getrandbits(8) for _ in range(rng.randint(0, 60)))
            data = kw.frame(payload)
        with kw.connect(b.port) as s:
            try:
                s.sendall(data)
                s.shutdown(socket.SHUT_WR) if rng.random() < 0.3 else None
                s.settimeout(2.0)
                s.recv(65536)
            except (socket.timeout, ConnectionResetError, BrokenPipeError):
                pass  # a partial frame may legitimately wait for more bytes
        if i % 25 == 24:
            kw.assert_alive(b, "random round %d" % i)
    kw.assert_alive(b, "random garbage")
    print("%d rounds of seeded random garbage: broker alive" % rounds)


def dribble(b):
    """One Metadata request written a byte at a time is still answered."""
    data = kw.metadata_v1_request(31337, [])
    with kw.connect(b.port) as s:
        for byte in data:
            s.sendall(bytes([byte]))
            time.sleep(0.002)
        resp = kw.recv_response(s)
        assert resp is not None and resp[0] == 31337, "dribbled request not answered: %r" % (resp,)
    print("request sent one byte at a time: answered")


def pipelining(b, count):
    """count mixed requests with distinct correlation ids in one write; all answered in order."""
    rng = random.Random(count)
    frames, expected = [], []
    for i in range(count):
        corr = 100000 + i * 7
        choice = rng.randint(0, 3)
        if choice == 0:
            frames.append(kw.api_versions_request(rng.randint(0, 4), corr))
        elif choice == 1:
            frames.append(kw.metadata_v1_request(corr, None))
        elif choice == 2:
            frames.append(kw.metadata_v1_request(corr, ["pipelined-%d" % (i % 5)]))
        else:
            frames.append(kw.frame(kw.request_header(kw.API_METADATA, 0, corr) + kw.i32(0)))
        expected.append((corr, choice))
    with kw.connect(b.port, timeout=20) as s:
        s.sendall(b"".join(frames))
        for corr, choice in expected:
            resp = kw.recv_response(s)
            assert resp is not None, "closed after some pipelined answers (waiting for %d)" % corr
            assert resp[0] == corr, "out of order: got correlation id %d, expected %d" % (resp[0], corr)
            if choice == 0:
                pass  # version-specific body; the correlation id is what matters here
            elif choice in (1, 2):
                md = kw.parse_metadata_v1(resp[1])
                assert md["brokers"][0][0] == 1
                if choice == 2:
                    (name,) = md["topics"].keys()
                    assert md["topics"][name][0] == 0, "pipelined topic %s: %r" % (name, md["topics"][name])
    print("%d pipelined requests in one write: all answered, in order" % count)


def main():
    config = {"socket.request.max.bytes": str(MAX_REQUEST), "num.partitions": "2"}
    with Broker(config=config) as b:
        kw.assert_alive(b, "start")
        structural_cases(b)
        random_cases(b)
        dribble(b)
        pipelining(b, 50)
        pipelining(b, 600)
        kw.assert_alive(b, "everything")
        log = b.output()
        assert "socket.request.max.bytes" in log, "no log line for the oversized request:\n" + log[-3000:]
        print("broker log names socket.request.max.bytes for the oversized request")
    print("OK")


if __name__ == "__main__":
    main()
