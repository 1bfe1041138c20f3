"""Python peer of the introspection tests (run with /usr/bin/python3: Debian's python3-sysv-ipc).

    introspect_peer.py hold NAME KEY   makes POSIX shared memory NAME (multiprocessing.shared_memory,
                                       4096 bytes, kept mapped), System V shared memory KEY (sysv_ipc,
                                       0600, 8192 bytes, attached) and a System V semaphore KEY
                                       (value 2); prints "ready PID SHMID SEMID" and waits for a line
                                       on stdin (or for being killed)
    introspect_peer.py gone NAME KEY   prints "gone" and exits 0 when none of them exists any more
"""
import sys
from multiprocessing import resource_tracker, shared_memory

import sysv_ipc


def main():
    command, name, key = sys.argv[1], sys.argv[2], int(sys.argv[3], 0)
    bare = name.lstrip("/")
    if command == "hold":
        posix = shared_memory.SharedMemory(name=bare, create=True, size=4096)
        # The resource tracker would unlink it when this process exits: the test removes it.
        resource_tracker.unregister(posix._name, "shared_memory")
        posix.buf[:5] = b"hello"
        segment = sysv_ipc.SharedMemory(key, sysv_ipc.IPC_CREX, mode=0o600, size=8192)
        semaphore = sysv_ipc.Semaphore(key, sysv_ipc.IPC_CREX, mode=0o600, initial_value=2)
        print(f"ready {__import__('os').getpid()} {segment.id} {semaphore.id}", flush=True)
        sys.stdin.readline()
        return 0
    if command == "gone":
        try:
            shared_memory.SharedMemory(name=bare)
            print(f"shared memory {name} still exists")
            return 1
        except FileNotFoundError:
            pass
        for kind in (sysv_ipc.SharedMemory, sysv_ipc.Semaphore):
            try:
                kind(key)
                print(f"{kind.__name__} key {key} still exists")
                return 1
            except sysv_ipc.ExistentialError:
                pass
        print("gone")
        return 0
    return 2


if __name__ == "__main__":
    sys.exit(main())
