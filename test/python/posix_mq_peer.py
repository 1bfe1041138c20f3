"""POSIX queue peer through ctypes (the standard library has no binding for mq_*).

    posix_mq_peer.py send NAME COUNT MAXBODY PRODUCER
    posix_mq_peer.py recv NAME COUNT
"""
import ctypes
import ctypes.util
import os
import sys

from mq_message import check_message, make_message

libc = ctypes.CDLL(ctypes.util.find_library("c"), use_errno=True)
try:
    librt = ctypes.CDLL(ctypes.util.find_library("rt"), use_errno=True)
except OSError:
    librt = libc


class MqAttr(ctypes.Structure):
    _fields_ = [("mq_flags", ctypes.c_long), ("mq_maxmsg", ctypes.c_long), ("mq_msgsize", ctypes.c_long), ("mq_curmsgs", ctypes.c_long),
                ("reserved", ctypes.c_long * 4)]


mq_open = librt.mq_open
mq_open.restype = ctypes.c_int
mq_open.argtypes = [ctypes.c_char_p, ctypes.c_int]
mq_send = librt.mq_send
mq_send.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_size_t, ctypes.c_uint]
mq_receive = librt.mq_receive
mq_receive.restype = ctypes.c_ssize_t
mq_receive.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_size_t, ctypes.POINTER(ctypes.c_uint)]
mq_getattr = librt.mq_getattr
mq_getattr.argtypes = [ctypes.c_int, ctypes.POINTER(MqAttr)]


def check(result, call):
    if result < 0:
        err = ctypes.get_errno()
        raise OSError(err, f"{call}: {os.strerror(err)}")
    return result


def main():
    command, name, count = sys.argv[1], sys.argv[2].encode(), int(sys.argv[3])
    q = check(mq_open(name, os.O_RDWR), "mq_open")
    attr = MqAttr()
    check(mq_getattr(q, ctypes.byref(attr)), "mq_getattr")
    if command == "send":
        max_body, producer = int(sys.argv[4]), int(sys.argv[5])
        for seq in range(count):
            m = make_message(producer, seq, max_body)
            check(mq_send(q, m, len(m), 0), "mq_send")
        print(f"sent {count}")
        return 0
    buf = ctypes.create_string_buffer(attr.mq_msgsize)
    prio = ctypes.c_uint()
    expected = {}
    for _ in range(count):
        n = check(mq_receive(q, buf, attr.mq_msgsize, ctypes.byref(prio)), "mq_receive")
        producer, seq = check_message(buf.raw[:n])
        if seq != expected.get(producer, 0):
            print(f"order: producer {producer} seq {seq}")
            return 1
        expected[producer] = seq + 1
    print(f"received {count}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
