/* The C futex ping-pong of the suite: two processes, two words in a shared-memory object.
 *   futex_c ping|pong NAME COUNT SPIN WARMUP
 * Each side's word is a sequence number with a waiting flag next to it (offsets 64/68 for ping's
 * message, 128/132 for pong's answer): the waiter polls for SPIN microseconds, then stores 1 in the
 * flag, checks the word again and futex-waits; the waker stores the word and issues FUTEX_WAKE only
 * when it takes the flag from 1 (the protocol channel.h uses, without the ring). Prints the ping's
 * {"median","p99"} in microseconds; exits 3 if a wait timed out with its value there (a lost wake-up). */
#include <errno.h>
#include <fcntl.h>
#include <linux/futex.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "bench_c.h"

#if defined(__x86_64__) || defined(__i386__)
#define PAUSE() __builtin_ia32_pause()
#else
#define PAUSE() ((void)0)
#endif

static unsigned spin_us;
static long lost; /* waits that timed out although the value had arrived: lost wake-ups (should stay 0) */

static void wait_for(uint32_t *word, uint32_t *waiting, uint32_t want) {
  if (__atomic_load_n(word, __ATOMIC_SEQ_CST) == want) return;
  if (spin_us > 0) {
    double end = bench_now() + spin_us / 1e6;
    do {
      for (int i = 0; i < 64; i++) {
        if (__atomic_load_n(word, __ATOMIC_SEQ_CST) == want) return;
        PAUSE();
      }
    } while (bench_now() < end);
  }
  for (;;) {
    uint32_t seen = __atomic_load_n(word, __ATOMIC_SEQ_CST);
    if (seen == want) return;
    __atomic_store_n(waiting, 1u, __ATOMIC_SEQ_CST);
    seen = __atomic_load_n(word, __ATOMIC_SEQ_CST);
    if (seen == want) return;
    /* A bounded sleep, as channel.h's sleeps are (its liveness slice): a lost wake-up would show
     * as a 200 ms trip and in "lost", not as a hang. */
    struct timespec slice = {0, 200 * 1000 * 1000};
    if (syscall(SYS_futex, word, FUTEX_WAIT, seen, &slice, NULL, 0) != 0 && errno == ETIMEDOUT &&
        __atomic_load_n(word, __ATOMIC_SEQ_CST) == want)
      lost++;
  }
}

static void post(uint32_t *word, uint32_t *waiting, uint32_t value) {
  __atomic_store_n(word, value, __ATOMIC_SEQ_CST);
  if (__atomic_load_n(waiting, __ATOMIC_SEQ_CST) != 0 && __atomic_exchange_n(waiting, 0u, __ATOMIC_SEQ_CST) != 0)
    syscall(SYS_futex, word, FUTEX_WAKE, 1, NULL, NULL, 0);
}

int main(int argc, char **argv) {
  if (argc != 6) {
    fprintf(stderr, "usage: futex_c ping|pong NAME COUNT SPIN WARMUP\n");
    return 2;
  }
  int fd = shm_open(argv[2], O_RDWR, 0);
  if (fd < 0) {
    perror("shm_open");
    return 1;
  }
  unsigned char *base = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  if (base == MAP_FAILED) {
    perror("mmap");
    return 1;
  }
  long count = strtol(argv[3], NULL, 10), warmup = strtol(argv[5], NULL, 10);
  spin_us = (unsigned)strtoul(argv[4], NULL, 10);
  uint32_t *ping = (uint32_t *)(base + 64), *ping_waiting = (uint32_t *)(base + 68);
  uint32_t *pong = (uint32_t *)(base + 128), *pong_waiting = (uint32_t *)(base + 132);
  if (strcmp(argv[1], "ping") == 0) {
    double *lat = malloc(sizeof(double) * (size_t)count);
    for (long i = 1; i <= warmup + count; i++) {
      double t0 = bench_now();
      post(ping, ping_waiting, (uint32_t)i);
      wait_for(pong, pong_waiting, (uint32_t)i);
      if (i > warmup) lat[i - 1 - warmup] = (bench_now() - t0) * 1e6;
    }
    if (lost > 0) fprintf(stderr, "futex_c: %ld lost wake-ups\n", lost);
    bench_print_latency(lat, count);
  } else {
    for (long i = 1; i <= warmup + count; i++) {
      wait_for(ping, ping_waiting, (uint32_t)i);
      post(pong, pong_waiting, (uint32_t)i);
    }
    if (lost > 0) fprintf(stderr, "futex_c: %ld lost wake-ups\n", lost);
    printf("{}\n");
  }
  return lost > 0 ? 3 : 0;
}
