/* The C baseline for bench/queues.js: the same operations the Node side does, timed the same way.
 *   queues_c fill-drain sysv|posix TARGET SIZE COUNT   one process, never waiting: send until full
 *                                                      (IPC_NOWAIT / O_NONBLOCK), then drain
 *   queues_c send|recv  sysv|posix TARGET SIZE COUNT   one-way stream between two processes, blocking
 *   queues_c ping|pong  sysv|posix TARGET SIZE COUNT   round trips: ping sends, pong echoes back
 * TARGET is a System V key, or a POSIX name (round trips also use NAME-r for the way back).
 * Prints one line of JSON. */
#include <errno.h>
#include <fcntl.h>
#include <mqueue.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ipc.h>
#include <sys/msg.h>
#include <time.h>

static double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec + ts.tv_nsec / 1e9;
}

static int cmp(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return x < y ? -1 : x > y;
}

struct msg {
  long type;
  char text[65536];
};

static int sysv_id;
static mqd_t out_q, in_q;
static int is_sysv;
static size_t size;

/* Returns 1 on success, 0 if it would wait (nowait only). */
static int send_one(struct msg *m, long type, int nowait) {
  for (;;) {
    int rc;
    if (is_sysv) {
      m->type = type;
      rc = msgsnd(sysv_id, m, size, nowait ? IPC_NOWAIT : 0);
    } else {
      rc = mq_send(type == 2 ? in_q : out_q, m->text, size, 0);
    }
    if (rc == 0) return 1;
    if (errno == EINTR) continue;
    if (errno == EAGAIN) return 0;
    perror("send");
    exit(1);
  }
}

static int recv_one(struct msg *m, long type, int nowait) {
  for (;;) {
    ssize_t n;
    if (is_sysv) n = msgrcv(sysv_id, m, sizeof m->text, type, nowait ? IPC_NOWAIT : 0);
    else n = mq_receive(type == 2 ? in_q : out_q, m->text, sizeof m->text, NULL);
    if (n >= 0) return 1;
    if (errno == EINTR) continue;
    if (errno == ENOMSG || errno == EAGAIN) return 0;
    perror("receive");
    exit(1);
  }
}

int main(int argc, char **argv) {
  if (argc != 6) {
    fprintf(stderr, "usage: %s MODE KIND TARGET SIZE COUNT\n", argv[0]);
    return 2;
  }
  const char *mode = argv[1];
  is_sysv = strcmp(argv[2], "sysv") == 0;
  size = strtoul(argv[4], NULL, 10);
  long count = strtol(argv[5], NULL, 10);
  int nonblocking = strcmp(mode, "fill-drain") == 0;
  if (is_sysv) {
    sysv_id = msgget((key_t)strtol(argv[3], NULL, 10), 0600);
    if (sysv_id < 0) {
      perror("msgget");
      return 1;
    }
  } else {
    out_q = mq_open(argv[3], O_RDWR | (nonblocking ? O_NONBLOCK : 0));
    if (out_q == (mqd_t)-1) {
      perror("mq_open");
      return 1;
    }
    if (strcmp(mode, "ping") == 0 || strcmp(mode, "pong") == 0) {
      char back[300];
      snprintf(back, sizeof back, "%s-r", argv[3]);
      in_q = mq_open(back, O_RDWR);
      if (in_q == (mqd_t)-1) {
        perror("mq_open");
        return 1;
      }
    }
  }
  /* WARMUP (bench/suite.js): untimed round trips before the timed ones, on both sides. */
  const char *warmup_env = getenv("WARMUP");
  long warmup = warmup_env ? strtol(warmup_env, NULL, 10) : 0;
  static struct msg m;
  memset(m.text, 7, size);
  if (strcmp(mode, "fill-drain") == 0) {
    long moved = 0;
    double t0 = now();
    while (moved < count) {
      long batch = 0;
      while (moved + batch < count && send_one(&m, 1, 1)) batch++;
      for (long i = 0; i < batch; i++)
        if (!recv_one(&m, 0, 1)) {
          fprintf(stderr, "lost\n");
          return 1;
        }
      moved += batch;
    }
    printf("{\"seconds\":%.6f,\"count\":%ld}\n", now() - t0, count);
  } else if (strcmp(mode, "send") == 0) {
    double t0 = now();
    for (long i = 0; i < count; i++) send_one(&m, 1, 0);
    printf("{\"seconds\":%.6f,\"count\":%ld}\n", now() - t0, count);
  } else if (strcmp(mode, "recv") == 0) {
    recv_one(&m, 1, 0); /* the clock starts at the first message */
    double t0 = now();
    for (long i = 1; i < count; i++) recv_one(&m, 1, 0);
    printf("{\"seconds\":%.6f,\"count\":%ld}\n", now() - t0, count - 1);
  } else if (strcmp(mode, "ping") == 0) {
    double *lat = malloc(sizeof(double) * (size_t)count);
    for (long i = 0; i < warmup + count; i++) {
      double t0 = now();
      send_one(&m, 1, 0);
      recv_one(&m, 2, 0);
      if (i >= warmup) lat[i - warmup] = (now() - t0) * 1e6;
    }
    qsort(lat, (size_t)count, sizeof(double), cmp);
    printf("{\"median\":%.2f,\"p99\":%.2f,\"count\":%ld}\n", lat[count / 2], lat[(long)(count * 0.99)], count);
  } else if (strcmp(mode, "pong") == 0) {
    for (long i = 0; i < warmup + count; i++) {
      recv_one(&m, 1, 0);
      send_one(&m, 2, 0);
    }
    printf("{}\n");
  }
  return 0;
}
