/* The C baseline of the suite's socket rows: framed messages (a 4-byte little-endian length, then
 * the payload) over a Unix stream socket, as bench/net-worker.js frames them.
 *   unix_c recv PATH SIZE COUNT          listens, accepts one peer, reads COUNT frames, copying each
 *                                        payload out of the read buffer: {"count","seconds"} from the first
 *   unix_c send PATH SIZE COUNT          connects, writes COUNT frames (one writev each)
 *   unix_c pong PATH SIZE COUNT WARMUP   listens; echoes each frame
 *   unix_c ping PATH SIZE COUNT WARMUP   connects; one frame in flight: {"median","p99"} (us) */
#include <errno.h>
#include <stdint.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <sys/un.h>
#include <unistd.h>

#include "bench_c.h"

/* Listens at PATH and accepts one peer, or connects to PATH (retrying while the peer is not yet listening). */
static int sock_at(const char *path, int listening) {
  struct sockaddr_un addr;
  memset(&addr, 0, sizeof addr);
  addr.sun_family = AF_UNIX;
  strncpy(addr.sun_path, path, sizeof addr.sun_path - 1);
  int fd = socket(AF_UNIX, SOCK_STREAM, 0);
  if (listening) {
    if (bind(fd, (struct sockaddr *)&addr, sizeof addr) != 0 || listen(fd, 1) != 0) {
      perror("bind/listen");
      exit(1);
    }
    int peer = accept(fd, NULL, NULL);
    close(fd);
    unlink(path);
    return peer;
  }
  for (int tries = 0; connect(fd, (struct sockaddr *)&addr, sizeof addr) != 0; tries++) {
    if (tries > 5000) {
      perror("connect");
      exit(1);
    }
    usleep(1000);
  }
  return fd;
}

/* A read buffer: frames are parsed out of it as read() fills it. */
static unsigned char *rbuf;
static size_t rcap, rstart, rend;

static void fill(int fd) {
  if (rstart > 0 && rstart == rend) rstart = rend = 0;
  if (rend == rcap) {
    memmove(rbuf, rbuf + rstart, rend - rstart);
    rend -= rstart;
    rstart = 0;
  }
  ssize_t n;
  while ((n = read(fd, rbuf + rend, rcap - rend)) < 0 && errno == EINTR) {
  }
  if (n <= 0) {
    fprintf(stderr, "unix_c: read: %s\n", n == 0 ? "end of stream" : strerror(errno));
    exit(1);
  }
  rend += (size_t)n;
}

/* Reads one frame's payload into out: its length. */
static uint32_t read_frame(int fd, unsigned char *out) {
  while (rend - rstart < 4) fill(fd);
  uint32_t length;
  memcpy(&length, rbuf + rstart, 4);
  rstart += 4;
  uint32_t got = 0;
  while (got < length) {
    if (rend == rstart) fill(fd);
    size_t take = rend - rstart < length - got ? rend - rstart : length - got;
    memcpy(out + got, rbuf + rstart, take);
    rstart += take;
    got += (uint32_t)take;
  }
  return length;
}

static void write_frame(int fd, const unsigned char *data, uint32_t length) {
  struct iovec iov[2] = {{&length, 4}, {(void *)data, length}};
  size_t left = 4 + (size_t)length;
  while (left > 0) {
    ssize_t n = writev(fd, iov, 2);
    if (n < 0) {
      if (errno == EINTR) continue;
      perror("writev");
      exit(1);
    }
    left -= (size_t)n;
    for (int i = 0; i < 2 && n > 0; i++) {
      size_t take = (size_t)n < iov[i].iov_len ? (size_t)n : iov[i].iov_len;
      iov[i].iov_base = (char *)iov[i].iov_base + take;
      iov[i].iov_len -= take;
      n -= (ssize_t)take;
    }
  }
}

int main(int argc, char **argv) {
  if (argc < 5) {
    fprintf(stderr, "usage: unix_c send|recv|ping|pong PATH SIZE COUNT [WARMUP]\n");
    return 2;
  }
  const char *mode = argv[1], *path = argv[2];
  uint32_t size = (uint32_t)strtoul(argv[3], NULL, 10);
  long count = strtol(argv[4], NULL, 10), warmup = argc > 5 ? strtol(argv[5], NULL, 10) : 0;
  rcap = 65536 + 4;
  rbuf = malloc(rcap);
  unsigned char *msg = malloc(size + 1);
  memset(msg, 7, size);
  if (strcmp(mode, "recv") == 0) {
    int fd = sock_at(path, 1);
    read_frame(fd, msg);
    double t0 = bench_now();
    for (long i = 1; i < count; i++) read_frame(fd, msg);
    printf("{\"count\":%ld,\"seconds\":%.9f}\n", count - 1, bench_now() - t0);
    close(fd);
  } else if (strcmp(mode, "send") == 0) {
    int fd = sock_at(path, 0);
    for (long i = 0; i < count; i++) write_frame(fd, msg, size);
    /* Waits for the receiver to finish before closing (so nothing is cut short). */
    shutdown(fd, SHUT_WR);
    char c;
    while (read(fd, &c, 1) > 0) {
    }
    printf("{}\n");
    close(fd);
  } else if (strcmp(mode, "pong") == 0) {
    int fd = sock_at(path, 1);
    for (long i = 0; i < warmup + count; i++) write_frame(fd, msg, read_frame(fd, msg));
    printf("{}\n");
    close(fd);
  } else if (strcmp(mode, "ping") == 0) {
    int fd = sock_at(path, 0);
    double *lat = malloc(sizeof(double) * (size_t)count);
    for (long i = 0; i < warmup + count; i++) {
      double t0 = bench_now();
      write_frame(fd, msg, size);
      read_frame(fd, msg);
      if (i >= warmup) lat[i - warmup] = (bench_now() - t0) * 1e6;
    }
    bench_print_latency(lat, count);
    close(fd);
  } else {
    return 2;
  }
  return 0;
}
