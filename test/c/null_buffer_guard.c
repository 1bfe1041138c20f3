// LD_PRELOAD shim: aborts the process when a message queue call is handed a NULL buffer, even
// with a length of 0. glibc declares mq_send and mq_receive's buffer nonnull, so such a call is
// undefined behaviour that works by luck (UBSan reports it); this makes it fail every time,
// with no sanitizer build. Build with -shared -fPIC.
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/types.h>
#include <time.h>

// Not <mqueue.h>: its nonnull declarations would let the compiler drop the very NULL checks this
// file exists for. mqd_t is an int on Linux.
typedef int mqd_t;

static void* real(const char* name) {
  void* fn = dlsym(RTLD_NEXT, name);
  if (fn == NULL) abort();
  return fn;
}

static void refuse(const char* name, const void* buffer) {
  if (buffer != NULL) return;
  fprintf(stderr, "null_buffer_guard: %s called with a NULL buffer\n", name);
  abort();
}

int mq_send(mqd_t mqdes, const char* msg, size_t len, unsigned prio) {
  refuse("mq_send", msg);
  return ((int (*)(mqd_t, const char*, size_t, unsigned))real("mq_send"))(mqdes, msg, len, prio);
}

int mq_timedsend(mqd_t mqdes, const char* msg, size_t len, unsigned prio, const struct timespec* timeout) {
  refuse("mq_timedsend", msg);
  return ((int (*)(mqd_t, const char*, size_t, unsigned, const struct timespec*))real("mq_timedsend"))(mqdes, msg, len, prio, timeout);
}

ssize_t mq_receive(mqd_t mqdes, char* msg, size_t len, unsigned* prio) {
  refuse("mq_receive", msg);
  return ((ssize_t(*)(mqd_t, char*, size_t, unsigned*))real("mq_receive"))(mqdes, msg, len, prio);
}

ssize_t mq_timedreceive(mqd_t mqdes, char* msg, size_t len, unsigned* prio, const struct timespec* timeout) {
  refuse("mq_timedreceive", msg);
  return ((ssize_t(*)(mqd_t, char*, size_t, unsigned*, const struct timespec*))real("mq_timedreceive"))(mqdes, msg, len, prio, timeout);
}

int msgsnd(int id, const void* msg, size_t len, int flags) {
  refuse("msgsnd", msg);
  return ((int (*)(int, const void*, size_t, int))real("msgsnd"))(id, msg, len, flags);
}

ssize_t msgrcv(int id, void* msg, size_t len, long type, int flags) {
  refuse("msgrcv", msg);
  return ((ssize_t(*)(int, void*, size_t, long, int))real("msgrcv"))(id, msg, len, type, flags);
}
