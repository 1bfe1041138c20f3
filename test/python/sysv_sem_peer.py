"""System V semaphore peer through Debian's python3-sysv-ipc (run with /usr/bin/python3).
sysv_ipc.Semaphore(key) opens a set of one semaphore, so the set must have count 1.

    sysv_sem_peer.py wait KEY    acquire (-1, waiting), then print "woke"
    sysv_sem_peer.py post KEY    release (+1), then print "posted"
"""
import sys

import sysv_ipc


def main():
    command, key = sys.argv[1], int(sys.argv[2])
    semaphore = sysv_ipc.Semaphore(key)
    if command == "wait":
        # A bounded wait, so a lost wake-up fails the test instead of hanging it.
        semaphore.acquire(30)
        print("woke", flush=True)
    elif command == "post":
        semaphore.release()
        print("posted", flush=True)
    else:
        sys.exit(2)


if __name__ == "__main__":
    main()
