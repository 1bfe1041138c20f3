"""The Python side of the FIFO interop tests (standard library only: os.open, os.read, os.write).

    fifo_peer.py write PATH SIZE SEED   open for writing (waits for a reader), write the pattern, close
    fifo_peer.py read  PATH SIZE SEED   open for reading (waits for a writer), read to end of file and
                                        check the bytes against the pattern
"""
import os
import sys


def pattern(size, seed):
    return bytes(((i * 131 + seed * 7 + (i >> 8)) & 0xFF) for i in range(size))


def main():
    command, path, size, seed = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
    expected = pattern(size, seed)
    if command == "write":
        fd = os.open(path, os.O_WRONLY)
        view = memoryview(expected)
        while view:
            view = view[os.write(fd, view[:100000]):]
        os.close(fd)
        print(f"wrote {size}")
        return 0
    if command == "read":
        fd = os.open(path, os.O_RDONLY)
        chunks = []
        while True:
            chunk = os.read(fd, 65536)
            if not chunk:
                break
            chunks.append(chunk)
        os.close(fd)
        data = b"".join(chunks)
        if data == expected:
            print(f"read {len(data)} ok")
        else:
            first = next((i for i in range(min(len(data), size)) if data[i] != expected[i]), min(len(data), size))
            print(f"read {len(data)}, first difference at {first}")
        return 0
    print(f"unknown command {command}", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main())
