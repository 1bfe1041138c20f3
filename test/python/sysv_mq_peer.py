"""System V queue peer through Debian's python3-sysv-ipc (run with /usr/bin/python3).

    sysv_mq_peer.py send KEY COUNT MAXBODY PRODUCER
    sysv_mq_peer.py recv KEY COUNT
"""
import sys

import sysv_ipc

from mq_message import check_message, make_message


def main():
    command, key, count = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    # sysv_ipc's own receive buffer defaults to 2048 bytes; the kernel allows msgmax.
    with open("/proc/sys/kernel/msgmax") as f:
        msgmax = int(f.read())
    queue = sysv_ipc.MessageQueue(key, max_message_size=msgmax)
    if command == "send":
        max_body, producer = int(sys.argv[4]), int(sys.argv[5])
        for seq in range(count):
            queue.send(make_message(producer, seq, max_body), block=True, type=producer + 1)
        print(f"sent {count}")
        return 0
    expected = {}
    for _ in range(count):
        data, mtype = queue.receive(block=True)
        producer, seq = check_message(data)
        if mtype != producer + 1:
            print(f"type {mtype} for producer {producer}")
            return 1
        if seq != expected.get(producer, 0):
            print(f"order: producer {producer} seq {seq}")
            return 1
        expected[producer] = seq + 1
    print(f"received {count}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
