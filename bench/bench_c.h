/* Shared helpers of the suite's C programs (bench/suite.js compiles them with cc -O2 at run time). */
#ifndef BENCH_C_H
#define BENCH_C_H
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static inline double bench_now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static inline int bench_cmp(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return x < y ? -1 : x > y;
}

/* Prints the median and p99 of n latencies in microseconds, as one line of JSON. */
static inline void bench_print_latency(double *lat, long n) {
  qsort(lat, (size_t)n, sizeof(double), bench_cmp);
  printf("{\"median\":%.3f,\"p99\":%.3f,\"count\":%ld}\n", lat[n / 2], lat[(long)((double)n * 0.99)], n);
}
#endif
