"""Named semaphore peer through ctypes (the standard library has no binding for sem_open).

    sem_peer.py post NAME     sem_post once
    sem_peer.py wait NAME     print "waiting", sem_wait, print "woke"
"""
import ctypes
import ctypes.util
import errno
import os
import sys

libc = ctypes.CDLL(ctypes.util.find_library("c"), use_errno=True)
# glibc before 2.34 keeps the semaphore calls in libpthread.
lib = libc if hasattr(libc, "sem_open") else ctypes.CDLL(ctypes.util.find_library("pthread"), use_errno=True)

sem_open = lib.sem_open
sem_open.restype = ctypes.c_void_p  # SEM_FAILED is NULL on Linux
sem_open.argtypes = [ctypes.c_char_p, ctypes.c_int]
sem_wait = lib.sem_wait
sem_wait.argtypes = [ctypes.c_void_p]
sem_post = lib.sem_post
sem_post.argtypes = [ctypes.c_void_p]
sem_close = lib.sem_close
sem_close.argtypes = [ctypes.c_void_p]


def fail(call):
    err = ctypes.get_errno()
    raise OSError(err, f"{call}: {os.strerror(err)}")


def main():
    command, name = sys.argv[1], sys.argv[2].encode()
    sem = sem_open(name, 0)
    if not sem:
        fail("sem_open")
    if command == "post":
        if sem_post(sem) != 0:
            fail("sem_post")
        print("posted 1")
    elif command == "wait":
        print("waiting", flush=True)
        while sem_wait(sem) != 0:
            if ctypes.get_errno() != errno.EINTR:
                fail("sem_wait")
        print("woke")
    else:
        return 2
    sem_close(sem)
    return 0


if __name__ == "__main__":
    sys.exit(main())
