"""System V shared memory peer through Debian's python3-sysv-ipc (run with /usr/bin/python3).

    sysv_shm_peer.py create KEY SIZE SEED   create exclusively (0600), fill with the pattern,
                                            print "created ID", leave it in place
    sysv_shm_peer.py check  KEY SIZE SEED   attach read-only; size must be SIZE and the bytes
                                            the pattern; print "checked ID"
    sysv_shm_peer.py fill   KEY SEED        attach, overwrite all of it with the pattern
"""
import sys

import sysv_ipc


def pattern(size, seed):
    return bytes(((i * 131 + seed * 7 + (i >> 8)) & 0xFF) for i in range(size))


def main():
    command, key = sys.argv[1], int(sys.argv[2], 0)
    if command == "create":
        size, seed = int(sys.argv[3]), int(sys.argv[4])
        memory = sysv_ipc.SharedMemory(key, sysv_ipc.IPC_CREX, mode=0o600, size=size)
        memory.write(pattern(size, seed))
        memory.detach()
        print(f"created {memory.id}")
        return 0
    if command == "check":
        size, seed = int(sys.argv[3]), int(sys.argv[4])
        # SharedMemory() attaches read-write; attach again read-only (SHM_RDONLY) to check only.
        memory = sysv_ipc.SharedMemory(key, flags=0)
        memory.detach()
        memory.attach(None, sysv_ipc.SHM_RDONLY)
        try:
            if memory.size != size:
                print(f"size mismatch: {memory.size} != {size}")
                return 1
            if memory.read(size) != pattern(size, seed):
                print("content mismatch")
                return 1
            print(f"checked {memory.id}")
            return 0
        finally:
            memory.detach()
    if command == "fill":
        seed = int(sys.argv[3])
        memory = sysv_ipc.SharedMemory(key, flags=0)
        memory.write(pattern(memory.size, seed))
        memory.detach()
        print(f"filled {memory.size}")
        return 0
    print(f"unknown command {command}", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main())
