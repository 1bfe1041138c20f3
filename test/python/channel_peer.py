"""The Python side of the channel interop tests: ctypes over libipckit_channel.so (ipckit/channel.h
built by test/c/channel_lib.c; its path in IPCKIT_CHANNEL_LIB). The message format is
test/fixtures/channel-format.js's. Every mode prints "ready" once it holds its role.

    channel_peer.py send NAME COUNT SEED MAXSIZE [START]   open as producer, send, close; prints
                                                           {"sent","checksum","bytes"}
    channel_peer.py receive NAME [START]                   open as consumer, verify until -EPIPE;
                                                           prints {"count","checksum","bytes","errors",
                                                           "peer"}; exit 1 on any mismatch
    channel_peer.py create-receive NAME CAPACITY           create as consumer, then as receive
"""
import ctypes
import json
import os
import struct
import sys

FNV_OFFSET = 0x811C9DC5
FNV_PRIME = 0x01000193
PRODUCER, CONSUMER = 1, 2
EPIPE = 32
PEERS = {0: "none", 1: "attached", 2: "closed", 3: "gone"}

lib = ctypes.CDLL(os.environ["IPCKIT_CHANNEL_LIB"])
lib.ipckit_channel_alloc.restype = ctypes.c_void_p
lib.ipckit_channel_free.argtypes = [ctypes.c_void_p]
lib.ipckit_channel_open.argtypes = [ctypes.c_void_p, ctypes.c_char_p, ctypes.c_int]
lib.ipckit_channel_create.argtypes = [ctypes.c_void_p, ctypes.c_char_p, ctypes.c_uint64, ctypes.c_uint, ctypes.c_int]
lib.ipckit_channel_close.argtypes = [ctypes.c_void_p]
lib.ipckit_channel_max_message.argtypes = [ctypes.c_void_p]
lib.ipckit_channel_max_message.restype = ctypes.c_uint32
lib.ipckit_channel_peer.argtypes = [ctypes.c_void_p]
lib.ipckit_channel_send.argtypes = [ctypes.c_void_p, ctypes.c_char_p, ctypes.c_uint32, ctypes.c_longlong]
lib.ipckit_channel_receive.argtypes = [ctypes.c_void_p, ctypes.c_void_p, ctypes.c_uint32, ctypes.POINTER(ctypes.c_uint32), ctypes.c_longlong]


def mix(seq):
    k = (seq * 0x9E3779B1) & 0xFFFFFFFF
    return k ^ (k >> 16)


def sizes(seed, maximum):
    x = ((seed * 0x9E3779B1) & 0xFFFFFFFF) ^ 0x2545F491 or 1
    while True:
        x ^= (x << 13) & 0xFFFFFFFF
        x ^= x >> 17
        x ^= (x << 5) & 0xFFFFFFFF
        yield maximum if x & 15 == 0 else (x >> 4) % (maximum + 1)


def fnv(data, h=FNV_OFFSET):
    for b in data:
        h = ((h ^ b) * FNV_PRIME) & 0xFFFFFFFF
    return h


def body(seq, start, end):
    k = mix(seq)
    lanes = (k & 0xFF, (k >> 8) & 0xFF, (k >> 16) & 0xFF, k >> 24)
    return bytes((lanes[i & 3] + (i >> 2) * 29) & 0xFF for i in range(start, end))


def message(seq, size):
    """Message `seq` of `size` bytes and its checksum c."""
    if size < 8:
        data = body(seq, 0, size)
        return data, fnv(data)
    head = struct.pack("<I", seq) + body(seq, 4, size - 4)
    c = fnv(head)
    return head + struct.pack("<I", c), c


def attach(name, role, create_capacity=None):
    ch = lib.ipckit_channel_alloc()
    if create_capacity is None:
        rc = lib.ipckit_channel_open(ch, name.encode(), role)
    else:
        rc = lib.ipckit_channel_create(ch, name.encode(), create_capacity, 0o600, role)
    if rc != 0:
        print(json.dumps({"error": rc}), flush=True)
        sys.exit(1)
    print("ready", flush=True)
    return ch


def send(name, count, seed, max_size, start):
    ch = attach(name, PRODUCER)
    limit = lib.ipckit_channel_max_message(ch)
    maximum = limit if max_size <= 0 or max_size > limit else max_size
    total, nbytes, seq = FNV_OFFSET, 0, start
    draw = sizes(seed, maximum)
    for _ in range(count):
        size = next(draw)
        data, c = message(seq, size)
        rc = lib.ipckit_channel_send(ch, data, size, -1)
        if rc != 0:
            print(json.dumps({"error": rc}), flush=True)
            return 1
        seq = (seq + 1) & 0xFFFFFFFF
        total = (((total ^ c) * FNV_PRIME) + size) & 0xFFFFFFFF
        nbytes += size
    lib.ipckit_channel_close(ch)
    lib.ipckit_channel_free(ch)
    print(json.dumps({"sent": count, "checksum": total, "bytes": nbytes}), flush=True)
    return 0


def receive(ch, start):
    cap = lib.ipckit_channel_max_message(ch)
    buf = ctypes.create_string_buffer(max(cap, 1))
    length = ctypes.c_uint32(0)
    total, nbytes, count, errors, first, seq = FNV_OFFSET, 0, 0, 0, "", start
    while True:
        rc = lib.ipckit_channel_receive(ch, buf, cap, ctypes.byref(length), -1)
        if rc != 0:
            break
        data = buf.raw[: length.value]
        size = len(data)
        problem = None
        if size >= 8:
            (got,) = struct.unpack_from("<I", data, 0)
            if got != seq:
                problem = f"sequence {got}, expected {seq}"
                seq = got
        expected, _ = message(seq, size)
        h = fnv(data[: size - 4] if size >= 8 else data)
        if problem is None and data != expected:
            problem = "bytes or checksum"
        if problem is not None:
            if errors == 0:
                first = f"message {count} ({size} bytes): {problem}"
            errors += 1
        seq = (seq + 1) & 0xFFFFFFFF
        count += 1
        total = (((total ^ h) * FNV_PRIME) + size) & 0xFFFFFFFF
        nbytes += size
    peer = PEERS[lib.ipckit_channel_peer(ch)] if rc == -EPIPE else "error"
    lib.ipckit_channel_close(ch)
    lib.ipckit_channel_free(ch)
    report = {"count": count, "checksum": total, "bytes": nbytes, "errors": errors, "firstError": first, "peer": peer, "rc": rc, "next": seq}
    print(json.dumps(report), flush=True)
    return 0 if errors == 0 and rc == -EPIPE else 1


def main():
    mode, name, rest = sys.argv[1], sys.argv[2], [int(a) for a in sys.argv[3:]]
    if mode == "send":
        return send(name, rest[0], rest[1], rest[2], rest[3] if len(rest) > 3 else 0)
    if mode == "receive":
        return receive(attach(name, CONSUMER), rest[0] if rest else 0)
    if mode == "create-receive":
        return receive(attach(name, CONSUMER, rest[0]), 0)
    print(f"unknown mode {mode}", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main())
