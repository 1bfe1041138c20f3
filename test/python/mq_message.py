"""The message format of test/c/mq_common.h, for Python peers."""
import struct

HEADER = 16


def fnv1a(data):
    h = 2166136261
    for b in data:
        h ^= b
        h = (h * 16777619) & 0xFFFFFFFF
    return h


def body_length(seq, max_body):
    return max_body if seq == 0 else (seq * 37) % (max_body + 1)


def make_message(producer, seq, max_body):
    n = body_length(seq, max_body)
    body = bytes((seq * 7 + producer * 13 + i) & 0xFF for i in range(n))
    return struct.pack("<IIII", producer, seq, n, fnv1a(body)) + body


def check_message(m):
    if len(m) < HEADER:
        raise ValueError(f"short message ({len(m)} bytes)")
    producer, seq, n, checksum = struct.unpack_from("<IIII", m, 0)
    body = m[HEADER:]
    if n != len(body):
        raise ValueError(f"length mismatch: header {n}, got {len(body)}")
    if fnv1a(body) != checksum:
        raise ValueError(f"checksum mismatch at producer {producer} seq {seq}")
    if body != bytes((seq * 7 + producer * 13 + i) & 0xFF for i in range(n)):
        raise ValueError("body mismatch")
    return producer, seq
