/* The C ends of the suite's channel rows, on ipckit/channel.h.
 *   channel_c send NAME SIZE COUNT SPIN           producer: COUNT messages of SIZE bytes (ipckit_channel_send)
 *   channel_c recv NAME SIZE COUNT SPIN           consumer: ipckit_channel_receive (a copy into a buffer);
 *                                                 the clock starts at the first message: {"count","seconds"}
 *   channel_c ping NAME SIZE COUNT SPIN WARMUP    sends on NAME-a, waits for the echo on NAME-b: {"median","p99"} (us)
 *   channel_c pong NAME SIZE COUNT SPIN WARMUP    receives on NAME-a, echoes on NAME-b
 * The channels exist already (bench/suite.js creates them). SPIN is ipckit_channel_set_spin's microseconds. */
#include <stdint.h>
#include <string.h>

#include "bench_c.h"
#include "ipckit/channel.h"

static void must(int rc, const char *what) {
  if (rc < 0) {
    fprintf(stderr, "channel_c: %s: %s\n", what, strerror(-rc));
    exit(1);
  }
}

static void attach(ipckit_channel_t *ch, const char *name, int role, unsigned spin) {
  must(ipckit_channel_open(ch, name, role), name);
  ipckit_channel_set_spin(ch, spin);
}

int main(int argc, char **argv) {
  if (argc < 6) {
    fprintf(stderr, "usage: channel_c send|recv|ping|pong NAME SIZE COUNT SPIN [WARMUP]\n");
    return 2;
  }
  const char *mode = argv[1], *name = argv[2];
  uint32_t size = (uint32_t)strtoul(argv[3], NULL, 10);
  long count = strtol(argv[4], NULL, 10);
  unsigned spin = (unsigned)strtoul(argv[5], NULL, 10);
  long warmup = argc > 6 ? strtol(argv[6], NULL, 10) : 0;
  unsigned char *buf = malloc(size > 0 ? size : 1);
  memset(buf, 7, size);
  uint32_t length;
  ipckit_channel_t a, b;
  if (strcmp(mode, "send") == 0) {
    attach(&a, name, IPCKIT_CHANNEL_PRODUCER, spin);
    for (long i = 0; i < count; i++) must(ipckit_channel_send(&a, buf, size, -1), "send");
    printf("{}\n");
    ipckit_channel_close(&a);
  } else if (strcmp(mode, "recv") == 0) {
    attach(&a, name, IPCKIT_CHANNEL_CONSUMER, spin);
    must(ipckit_channel_receive(&a, buf, size, &length, -1), "receive");
    double t0 = bench_now();
    for (long i = 1; i < count; i++) must(ipckit_channel_receive(&a, buf, size, &length, -1), "receive");
    double t1 = bench_now();
    if (length != size) {
      fprintf(stderr, "channel_c: received %u bytes, expected %u\n", length, size);
      return 1;
    }
    printf("{\"count\":%ld,\"seconds\":%.9f}\n", count - 1, t1 - t0);
    ipckit_channel_close(&a);
  } else if (strcmp(mode, "ping") == 0 || strcmp(mode, "pong") == 0) {
    int ping = mode[1] == 'i';
    char an[256], bn[256];
    snprintf(an, sizeof an, "%s-a", name);
    snprintf(bn, sizeof bn, "%s-b", name);
    attach(&a, an, ping ? IPCKIT_CHANNEL_PRODUCER : IPCKIT_CHANNEL_CONSUMER, spin);
    attach(&b, bn, ping ? IPCKIT_CHANNEL_CONSUMER : IPCKIT_CHANNEL_PRODUCER, spin);
    if (ping) {
      double *lat = malloc(sizeof(double) * (size_t)count);
      for (long i = 0; i < warmup + count; i++) {
        double t0 = bench_now();
        must(ipckit_channel_send(&a, buf, size, -1), "send");
        must(ipckit_channel_receive(&b, buf, size, &length, -1), "receive");
        if (i >= warmup) lat[i - warmup] = (bench_now() - t0) * 1e6;
      }
      bench_print_latency(lat, count);
    } else {
      for (long i = 0; i < warmup + count; i++) {
        must(ipckit_channel_receive(&a, buf, size, &length, -1), "receive");
        must(ipckit_channel_send(&b, buf, length, -1), "send");
      }
      printf("{}\n");
    }
    ipckit_channel_close(&a);
    ipckit_channel_close(&b);
  } else {
    fprintf(stderr, "channel_c: unknown mode %s\n", mode);
    return 2;
  }
  return 0;
}
