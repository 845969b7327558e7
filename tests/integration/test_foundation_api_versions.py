#!/usr/bin/python3
"""ApiVersions from a raw socket, as each client generation sends it.

v0-v2 (classic body), v3-v4 (flexible body, but still the v0 response header:
a tagged-field byte after the correlation id breaks every client), and an
unknown version (v99) that must get UNSUPPORTED_VERSION with a v0 body naming
ApiVersions' own range (KIP-511), on a connection that stays usable.
"""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import Broker  # noqa: E402
import foundation_wire as kw  # noqa: E402


def check_version(port, version):
    corr = 1000 + version
    with kw.connect(port) as s:
        s.sendall(kw.api_versions_request(version, corr))
        resp = kw.recv_response(s)
        assert resp is not None, "v%d: connection closed without an answer" % version
        got_corr, body = resp
        assert got_corr == corr, "v%d: correlation id %d, expected %d" % (version, got_corr, corr)
        # parse_api_versions rejects trailing bytes; a tag byte in the header would
        # shift the body by one and make the parse fail or the error code wrong.
        error, apis, throttle = kw.parse_api_versions(body, version)
        assert error == 0, "v%d: error code %d" % (version, error)
        assert apis.get(kw.API_API_VERSIONS) == (0, 4), "v%d: ApiVersions range %r" % (
            version, apis.get(kw.API_API_VERSIONS))
        lo, hi = apis.get(kw.API_METADATA, (None, None))
        assert lo == 0 and hi is not None and hi >= 8, "v%d: Metadata range %r" % (version, (lo, hi))
        for key, (lo, hi) in apis.items():
            assert 0 <= lo <= hi, "v%d: api %d has range %d-%d" % (version, key, lo, hi)
        if version >= 1:
            assert throttle == 0, "v%d: throttle %r" % (version, throttle)
        print("ApiVersions v%d: ok, %d APIs, Metadata %d-%d" % (version, len(apis), apis[3][0], apis[3][1]))
        # The same connection still serves a request after the answer.
        s.sendall(kw.metadata_v1_request(corr + 1, []))
        again = kw.recv_response(s)
        assert again is not None and again[0] == corr + 1, "v%d: connection unusable afterwards" % version
    return apis


def check_v0_header_only(port, version):
    """Byte-level: the body must start right after the 4-byte correlation id with error 0x0000."""
    with kw.connect(port) as s:
        s.sendall(kw.api_versions_request(version, 77))
        size = kw.recv_exact(s, 4)
        n = int.from_bytes(size, "big")
        payload = kw.recv_exact(s, n)
        assert payload[:4] == (77).to_bytes(4, "big"), "v%d: correlation id bytes %r" % (version, payload[:4])
        assert payload[4:6] == b"\x00\x00", "v%d: bytes after correlation id are %r (tag byte?)" % (
            version, payload[4:8])
        if version >= 3:
            # compact array length: N+1 as uvarint, N >= 2 (Metadata, ApiVersions)
            assert payload[6] >= 3, "v%d: compact array length byte %d" % (version, payload[6])
    print("ApiVersions v%d: response header is v0" % version)


def check_unknown_version(broker, version):
    corr = 99000 + version
    with kw.connect(broker.port) as s:
        # The header of an unknown version is unknown too; send a v3-style one with a body.
        s.sendall(kw.frame(kw.request_header(kw.API_API_VERSIONS, version, corr, flexible=True)
                           + kw.compact_string("future-client") + kw.compact_string("9.9") + b"\x00"))
        resp = kw.recv_response(s)
        assert resp is not None, "v%d: closed instead of the KIP-511 answer" % version
        got_corr, body = resp
        assert got_corr == corr, "v%d: correlation id %d" % (version, got_corr)
        error, apis, _ = kw.parse_api_versions(body, 0)
        assert error == kw.UNSUPPORTED_VERSION, "v%d: error %d, expected 35" % (version, error)
        assert apis == {kw.API_API_VERSIONS: (0, 4)}, "v%d: body lists %r" % (version, apis)
        print("ApiVersions v%d: UNSUPPORTED_VERSION with ApiVersions 0-4 in a v0 body" % version)
        # A client then retries on the same connection with a version from that range.
        s.sendall(kw.api_versions_request(4, corr + 1))
        again = kw.recv_response(s)
        assert again is not None and again[0] == corr + 1, "v%d: retry on the same connection failed" % version
        assert kw.parse_api_versions(again[1], 4)[0] == 0
    print("ApiVersions v%d: retry with v4 on the same connection answered" % version)


def check_minimal_unknown_version(port):
    """Just the 8 fixed header bytes (no client id at all) for v5."""
    with kw.connect(port) as s:
        s.sendall(kw.frame(kw.i16(kw.API_API_VERSIONS) + kw.i16(5) + kw.i32(5)))
        resp = kw.recv_response(s)
        assert resp is not None, "v5 with a bare header: closed"
        error, apis, _ = kw.parse_api_versions(resp[1], 0)
        assert resp[0] == 5 and error == kw.UNSUPPORTED_VERSION and kw.API_API_VERSIONS in apis
    print("ApiVersions v5 with only the fixed header: UNSUPPORTED_VERSION")


def check_kafka_python_probe(port):
    """kafka-python's start-up: ApiVersions v0 and Metadata v0 (empty list) in one write."""
    with kw.connect(port) as s:
        s.sendall(kw.api_versions_request(0, 1) +
                  kw.frame(kw.request_header(kw.API_METADATA, 0, 2, client_id="kafka-python-2.0.2") + kw.i32(0)))
        first, second = kw.recv_response(s), kw.recv_response(s)
        assert first is not None and first[0] == 1, "ApiVersions answer: %r" % (first and first[0])
        assert kw.parse_api_versions(first[1], 0)[0] == 0
        assert second is not None and second[0] == 2, "Metadata v0 answer: %r" % (second and second[0])
    print("kafka-python probe (ApiVersions v0 + Metadata v0 pipelined): both answered in order")


def check_invalid_software_name(port):
    """v3+ names the client software; Kafka refuses names and versions outside
    [a-zA-Z0-9](?:[a-zA-Z0-9-.]*[a-zA-Z0-9])? with INVALID_REQUEST and no API list,
    and the connection stays open."""
    bad = [("bad name", "1.0"), ("-lead", "1.0"), ("ok", "1.0."), ("", "1.0"), ("ok", "")]
    with kw.connect(port) as s:
        for i, software in enumerate(bad):
            s.sendall(kw.api_versions_request(3, 500 + i, software=software))
            corr, body = kw.recv_response(s)
            assert corr == 500 + i, corr
            error, apis, _throttle = kw.parse_api_versions(body, 3)
            assert error == 42 and not apis, "%r: error %d, %d APIs" % (software, error, len(apis))
        s.sendall(kw.api_versions_request(3, 510, software=("librdkafka", "2.0.2")))
        error, apis, _throttle = kw.parse_api_versions(kw.recv_response(s)[1], 3)
        assert error == 0 and apis, "a valid name after invalid ones: error %d" % error
    print("ApiVersions v3 with invalid software names: INVALID_REQUEST (42), connection kept")


def main():
    with Broker() as b:
        ranges = [check_version(b.port, v) for v in range(5)]
        for r in ranges[1:]:
            assert r == ranges[0], "different API lists per version: %r vs %r" % (ranges[0], r)
        for v in range(5):
            check_v0_header_only(b.port, v)
        check_unknown_version(b, 99)
        check_unknown_version(b, 5)
        check_unknown_version(b, 32767)
        check_minimal_unknown_version(b.port)
        check_kafka_python_probe(b.port)
        check_invalid_software_name(b.port)
        kw.assert_alive(b, "ApiVersions checks")
    print("OK")


if __name__ == "__main__":
    main()
