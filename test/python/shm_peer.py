"""The Python side of the shared-memory interop tests (standard library only).

    shm_peer.py create NAME SIZE SEED   create, fill with the pattern, leave it in place
    shm_peer.py check  NAME SIZE SEED   open; size must be SIZE and the bytes the pattern
"""
import sys
from multiprocessing import resource_tracker, shared_memory


def pattern(size, seed):
    return bytes(((i * 131 + seed * 7 + (i >> 8)) & 0xFF) for i in range(size))


def untrack(shm):
    # Python's resource tracker would unlink the object when this process exits, even one it only
    # attached to; the test owns its lifetime.
    resource_tracker.unregister(shm._name, "shared_memory")


def main():
    command, name, size, seed = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
    if command == "create":
        shm = shared_memory.SharedMemory(name=name, create=True, size=size)
        untrack(shm)
        shm.buf[:size] = pattern(size, seed)
        shm.close()
        print(f"created {name} {size}")
        return 0
    if command == "check":
        shm = shared_memory.SharedMemory(name=name)
        untrack(shm)
        try:
            if shm.size != size:
                print(f"size mismatch: {shm.size} != {size}")
                return 1
            if bytes(shm.buf[:size]) != pattern(size, seed):
                print("content mismatch")
                return 1
            print(f"checked {name} {size}")
            return 0
        finally:
            shm.close()
    print(f"unknown command {command}", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main())
