/* memcpy bandwidth for the suite: one thread copies SIZE bytes from one buffer into another
 * (both reused) for about SECONDS. Prints {"count","seconds"}. */
#include <string.h>

#include "bench_c.h"

int main(int argc, char **argv) {
  if (argc != 3) {
    fprintf(stderr, "usage: memcpy_c SIZE SECONDS\n");
    return 2;
  }
  size_t size = strtoul(argv[1], NULL, 10);
  double seconds = strtod(argv[2], NULL);
  unsigned char *src = malloc(size), *dst = malloc(size);
  memset(src, 7, size);
  memset(dst, 0, size);
  long batch = (long)(1 + (64L << 20) / (long)(size * 64 + 1)); /* ~1 MiB of copies between clock reads */
  long count = 0;
  double t0 = bench_now(), t1;
  do {
    for (long i = 0; i < batch; i++) {
      memcpy(dst, src, size);
      __asm__ __volatile__("" : : "r"(dst), "r"(src) : "memory"); /* the copy is not optimized away */
    }
    count += batch;
    t1 = bench_now();
  } while (t1 - t0 < seconds);
  printf("{\"count\":%ld,\"seconds\":%.9f}\n", count, t1 - t0);
  return dst[size - 1] == 7 ? 0 : 1;
}
