/* The C baseline for bench/sync.js, on the same ipckit/sync.h objects the Node side uses.
 *   sync_c lock NAME N          uncontended ipckit_mutex_lock + unlock, N times: ns per pair
 *   sync_c ping NAME N          round trips over two futex words (offsets 64 and 128): ping side
 *   sync_c pong NAME N          the pong side
 * Prints one line of JSON. */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ipckit/sync.h"

static double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1e9 + ts.tv_nsec;
}

static int cmp(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return x < y ? -1 : x > y;
}

int main(int argc, char **argv) {
  if (argc != 4) return 2;
  int fd = shm_open(argv[2], O_RDWR, 0);
  if (fd < 0) {
    perror("shm_open");
    return 1;
  }
  unsigned char *base = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  long n = strtol(argv[3], NULL, 10);
  volatile uint32_t *ping = (volatile uint32_t *)(base + 64), *pong = (volatile uint32_t *)(base + 128);
  if (strcmp(argv[1], "lock") == 0) {
    ipckit_mutex_t *m = (ipckit_mutex_t *)base;
    double t0 = now();
    for (long i = 0; i < n; i++) {
      ipckit_mutex_lock(m, -1);
      ipckit_mutex_unlock(m);
    }
    printf("{\"ns\":%.1f}\n", (now() - t0) / n);
  } else if (strcmp(argv[1], "ping") == 0) {
    double *lat = malloc(sizeof(double) * (size_t)n);
    for (long i = 1; i <= n; i++) {
      double t0 = now();
      __atomic_store_n(ping, (uint32_t)i, __ATOMIC_RELEASE);
      ipckit_wake(ping, 1);
      uint32_t seen;
      while ((seen = __atomic_load_n(pong, __ATOMIC_ACQUIRE)) != (uint32_t)i) ipckit_wait(pong, seen, -1);
      lat[i - 1] = (now() - t0) / 1000;
    }
    qsort(lat, (size_t)n, sizeof(double), cmp);
    printf("{\"median\":%.2f,\"p99\":%.2f}\n", lat[n / 2], lat[(long)(n * 0.99)]);
  } else if (strcmp(argv[1], "pong") == 0) {
    for (long i = 1; i <= n; i++) {
      uint32_t seen;
      while ((seen = __atomic_load_n(ping, __ATOMIC_ACQUIRE)) != (uint32_t)i) ipckit_wait(ping, seen, -1);
      __atomic_store_n(pong, (uint32_t)i, __ATOMIC_RELEASE);
      ipckit_wake(pong, 1);
    }
    printf("{}\n");
  }
  return 0;
}
