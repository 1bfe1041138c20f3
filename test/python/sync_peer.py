"""The Python side of the synchronization tests: ctypes over the standard library's
multiprocessing.shared_memory (futex through syscall(2), the Mutex through pthread calls on the
pthread_mutex_t inside ipckit_mutex_t, which starts 16 bytes into it).

    sync_peer.py wait NAME WORD EXPECTED TIMEOUT_MS   print "ready", futex-wait, print ok|not-equal|timed-out
    sync_peer.py wake NAME WORD VALUE                 store VALUE, wake all, print how many woke
    sync_peer.py mutex-count NAME MUTEX COUNTER N     lock, counter += 1, unlock; N times
"""
import ctypes
import errno
import struct
import sys
from multiprocessing import resource_tracker, shared_memory

libc = ctypes.CDLL(None, use_errno=True)
SYS_FUTEX = 202  # x86_64
FUTEX_WAIT, FUTEX_WAKE = 0, 1
EOWNERDEAD = 130


class Timespec(ctypes.Structure):
    _fields_ = [("tv_sec", ctypes.c_long), ("tv_nsec", ctypes.c_long)]


def main():
    command, name = sys.argv[1], sys.argv[2]
    shm = shared_memory.SharedMemory(name=name.lstrip("/"))
    resource_tracker.unregister(shm._name, "shared_memory")
    base = ctypes.addressof(ctypes.c_char.from_buffer(shm.buf))
    try:
        if command == "wait":
            word, expected, timeout = int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])
            ts = Timespec(timeout // 1000, (timeout % 1000) * 1_000_000)
            print("ready", flush=True)
            while True:
                rc = libc.syscall(SYS_FUTEX, ctypes.c_void_p(base + word), FUTEX_WAIT, ctypes.c_int(expected), ctypes.byref(ts), None, 0)
                err = ctypes.get_errno()
                if rc == 0:
                    print("ok")
                elif err == errno.EAGAIN:
                    print("not-equal")
                elif err == errno.ETIMEDOUT:
                    print("timed-out")
                elif err == errno.EINTR:
                    continue
                else:
                    print(f"error {err}")
                break
        elif command == "wake":
            word, value = int(sys.argv[3]), int(sys.argv[4])
            ctypes.c_int32.from_address(base + word).value = value
            print(libc.syscall(SYS_FUTEX, ctypes.c_void_p(base + word), FUTEX_WAKE, ctypes.c_int(2**31 - 1), None, None, 0))
        elif command == "mutex-count":
            mutex, counter, n = int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])
            pthread_mutex = ctypes.c_void_p(base + mutex + 16)
            for _ in range(n):
                rc = libc.pthread_mutex_lock(pthread_mutex)
                if rc == EOWNERDEAD:
                    libc.pthread_mutex_consistent(pthread_mutex)
                elif rc != 0:
                    print(f"lock failed {rc}")
                    return 1
                value = struct.unpack_from("<I", shm.buf, counter)[0]
                struct.pack_into("<I", shm.buf, counter, value + 1)
                libc.pthread_mutex_unlock(pthread_mutex)
            print(f"done {n}")
        return 0
    finally:
        del base
        shm.close()


if __name__ == "__main__":
    sys.exit(main())
