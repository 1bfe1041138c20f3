/* LD_PRELOAD shim: CLOCK_REALTIME (clock_gettime, gettimeofday, time) reads one hour ahead of the
 * kernel's, as after a wall-clock jump. The monotonic clocks are untouched. A wait whose deadline
 * is computed on the wall clock but judged by the kernel then overshoots by an hour; one on the
 * monotonic clock does not notice. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stddef.h>
#include <sys/time.h>
#include <time.h>

#define AHEAD_SECONDS 3600

static int (*real_clock_gettime)(clockid_t, struct timespec *);
static int (*real_gettimeofday)(struct timeval *, void *);

int clock_gettime(clockid_t clock, struct timespec *ts) {
  if (real_clock_gettime == NULL) real_clock_gettime = (int (*)(clockid_t, struct timespec *))dlsym(RTLD_NEXT, "clock_gettime");
  int rc = real_clock_gettime(clock, ts);
  if (rc == 0 && (clock == CLOCK_REALTIME || clock == CLOCK_REALTIME_COARSE)) ts->tv_sec += AHEAD_SECONDS;
  return rc;
}

int gettimeofday(struct timeval *restrict tv, void *restrict tz) {
  if (real_gettimeofday == NULL) real_gettimeofday = (int (*)(struct timeval *, void *))dlsym(RTLD_NEXT, "gettimeofday");
  int rc = real_gettimeofday(tv, tz);
  if (rc == 0) tv->tv_sec += AHEAD_SECONDS;
  return rc;
}

time_t time(time_t *out) {
  struct timespec now;
  clock_gettime(CLOCK_REALTIME, &now);
  if (out != NULL) *out = now.tv_sec;
  return now.tv_sec;
}
