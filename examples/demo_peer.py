"""The Python half of ipckit's demo: standard library only (multiprocessing.shared_memory).

Layout of the shared object, agreed with examples/demo.js (little-endian int32 fields):
  0  seq    chunk number Node has written (0 = greeting, -1 = done)
  4  ack    last chunk number Python has consumed
  8  length bytes in the chunk
  12 crc    CRC-32 Python computed over the chunk
  64 payload
"""
import os
import struct
import sys
import time
import zlib
from multiprocessing import resource_tracker, shared_memory

HEADER = 64


def main():
    name = sys.argv[1]
    shm = shared_memory.SharedMemory(name=name)
    # Node created the object and will unlink it; keep Python's tracker from unlinking it at exit.
    resource_tracker.unregister(shm._name, "shared_memory")
    buf = shm.buf
    try:
        def wait_for(seq, deadline=30.0):
            give_up = time.monotonic() + deadline
            spins = 0
            while True:
                current = struct.unpack_from("<i", buf, 0)[0]
                if current == seq or current == -1:
                    return current
                spins += 1
                if spins & 0xFFFF == 0 and time.monotonic() > give_up:
                    raise TimeoutError(f"Node never wrote chunk {seq}")

        # The greeting: read Node's text, answer in the same place.
        wait_for(0)
        length = struct.unpack_from("<I", buf, 8)[0]
        greeting = bytes(buf[HEADER:HEADER + length]).decode()
        print(f"[python] read {length} bytes at offset {HEADER}: {greeting!r}")
        reply = f"hello from Python {sys.version.split()[0]}, pid {os.getpid()}".encode()
        buf[HEADER:HEADER + len(reply)] = reply
        struct.pack_into("<I", buf, 8, len(reply))
        struct.pack_into("<i", buf, 4, 0)

        # The bulk phase: checksum every chunk in place, without copying it out.
        chunks = total = 0
        seq = 1
        started = None
        while True:
            if wait_for(seq) == -1:
                break
            if started is None:
                started = time.monotonic()
            length = struct.unpack_from("<I", buf, 8)[0]
            crc = zlib.crc32(buf[HEADER:HEADER + length])
            struct.pack_into("<I", buf, 12, crc)
            struct.pack_into("<i", buf, 4, seq)
            chunks += 1
            total += length
            seq += 1
        elapsed = time.monotonic() - (started or time.monotonic())
        print(f"[python] checksummed {chunks} chunks, {total / 2**20:.0f} MiB in place in {elapsed:.2f} s")
    finally:
        del buf
        shm.close()


if __name__ == "__main__":
    main()
