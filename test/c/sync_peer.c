/* The C side of the synchronization tests, built on the public header ipckit/sync.h over a POSIX
 * shared memory object that Node created.
 *   sync_peer mutex-count NAME MUTEX COUNTER N   lock, counter += 1, unlock; N times
 *   sync_peer futex-count NAME LOCK COUNTER N    the same under the tests' futex lock (0 free, 1 held, 2 contended)
 *   sync_peer mutex-hold NAME MUTEX              lock, print "locked", wait to be killed
 *   sync_peer mutex-lock NAME MUTEX              lock; print "ok" or "owner-died"; make consistent; unlock
 *   sync_peer wait NAME WORD EXPECTED TIMEOUT_MS print "ready", then ipckit_wait; print ok|not-equal|timed-out
 *   sync_peer wake NAME WORD VALUE               store VALUE, wake all; print how many woke
 *   sync_peer cond-wait NAME MUTEX COND FLAG     lock; while !flag wait; print "flag N"; unlock
 *   sync_peer cond-set NAME MUTEX COND FLAG V    lock; flag = V; notify all; unlock; print woken
 *   sync_peer barrier NAME BARRIER ROUNDS        wait ROUNDS times; print "serial K" */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ipckit/sync.h"

static unsigned char *map(const char *name) {
  int fd = shm_open(name, O_RDWR, 0);
  if (fd < 0) {
    perror("shm_open");
    exit(1);
  }
  struct stat st;
  fstat(fd, &st);
  unsigned char *p = mmap(NULL, (size_t)st.st_size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  if (p == MAP_FAILED) {
    perror("mmap");
    exit(1);
  }
  close(fd);
  return p;
}

static void futex_lock(volatile uint32_t *w) {
  uint32_t c = 0;
  if (__atomic_compare_exchange_n(w, &c, 1, 0, __ATOMIC_ACQUIRE, __ATOMIC_RELAXED)) return;
  if (c != 2) c = __atomic_exchange_n(w, 2, __ATOMIC_ACQUIRE);
  while (c != 0) {
    ipckit_wait(w, 2, -1);
    c = __atomic_exchange_n(w, 2, __ATOMIC_ACQUIRE);
  }
}

static void futex_unlock(volatile uint32_t *w) {
  if (__atomic_exchange_n(w, 0, __ATOMIC_RELEASE) == 2) ipckit_wake(w, 1);
}

int main(int argc, char **argv) {
  if (argc < 4) {
    fprintf(stderr, "usage\n");
    return 2;
  }
  const char *cmd = argv[1];
  unsigned char *base = map(argv[2]);
  size_t a = strtoul(argv[3], NULL, 10);
  setvbuf(stdout, NULL, _IONBF, 0);
  if (strcmp(cmd, "mutex-count") == 0 || strcmp(cmd, "futex-count") == 0) {
    volatile uint32_t *counter = (volatile uint32_t *)(base + strtoul(argv[4], NULL, 10));
    long n = strtol(argv[5], NULL, 10);
    int futex = cmd[0] == 'f';
    for (long i = 0; i < n; i++) {
      if (futex) {
        futex_lock((volatile uint32_t *)(base + a));
      } else {
        int rc = ipckit_mutex_lock((ipckit_mutex_t *)(base + a), -1);
        if (rc == IPCKIT_OWNER_DIED) ipckit_mutex_consistent((ipckit_mutex_t *)(base + a));
        else if (rc != IPCKIT_OK) {
          printf("lock failed %d\n", rc);
          return 1;
        }
      }
      uint32_t v = *counter; /* a plain read-modify-write: only the lock keeps it exact */
      *counter = v + 1;
      if (futex) futex_unlock((volatile uint32_t *)(base + a));
      else ipckit_mutex_unlock((ipckit_mutex_t *)(base + a));
    }
    printf("done %ld\n", n);
    return 0;
  }
  if (strcmp(cmd, "mutex-hold") == 0) {
    if (ipckit_mutex_lock((ipckit_mutex_t *)(base + a), -1) < 0) return 1;
    printf("locked\n");
    for (;;) pause();
  }
  if (strcmp(cmd, "mutex-lock") == 0) {
    int rc = ipckit_mutex_lock((ipckit_mutex_t *)(base + a), 5000);
    if (rc == IPCKIT_OWNER_DIED) {
      printf("owner-died\n");
      ipckit_mutex_consistent((ipckit_mutex_t *)(base + a));
    } else if (rc == IPCKIT_OK) printf("ok\n");
    else {
      printf("error %d\n", rc);
      return 1;
    }
    ipckit_mutex_unlock((ipckit_mutex_t *)(base + a));
    return 0;
  }
  if (strcmp(cmd, "wait") == 0) {
    printf("ready\n");
    int rc = ipckit_wait((volatile uint32_t *)(base + a), (uint32_t)strtol(argv[4], NULL, 10), strtoll(argv[5], NULL, 10));
    printf("%s\n", rc == IPCKIT_OK ? "ok" : rc == IPCKIT_NOT_EQUAL ? "not-equal" : rc == IPCKIT_TIMED_OUT ? "timed-out" : "error");
    return 0;
  }
  if (strcmp(cmd, "wake") == 0) {
    __atomic_store_n((uint32_t *)(base + a), (uint32_t)strtol(argv[4], NULL, 10), __ATOMIC_RELEASE);
    printf("%d\n", ipckit_wake((volatile uint32_t *)(base + a), INT_MAX));
    return 0;
  }
  if (strcmp(cmd, "cond-wait") == 0 || strcmp(cmd, "cond-set") == 0) {
    ipckit_mutex_t *m = (ipckit_mutex_t *)(base + a);
    ipckit_cond_t *c = (ipckit_cond_t *)(base + strtoul(argv[4], NULL, 10));
    volatile int32_t *flag = (volatile int32_t *)(base + strtoul(argv[5], NULL, 10));
    if (ipckit_mutex_lock(m, -1) < 0) return 1;
    if (cmd[5] == 'w') {
      printf("ready\n");
      while (*flag == 0) {
        if (ipckit_cond_wait(c, m, 10000) == IPCKIT_TIMED_OUT) {
          printf("timed-out\n");
          return 1;
        }
      }
      printf("flag %d\n", *flag);
    } else {
      *flag = (int32_t)strtol(argv[6], NULL, 10);
      printf("%d\n", ipckit_cond_notify(c, 1));
    }
    ipckit_mutex_unlock(m);
    return 0;
  }
  if (strcmp(cmd, "barrier") == 0) {
    long rounds = strtol(argv[4], NULL, 10), serial = 0;
    for (long i = 0; i < rounds; i++) {
      int rc = ipckit_barrier_wait((ipckit_barrier_t *)(base + a), 10000);
      if (rc == IPCKIT_TIMED_OUT) {
        printf("timed-out\n");
        return 1;
      }
      if (rc == IPCKIT_SERIAL) serial++;
    }
    printf("serial %ld\n", serial);
    return 0;
  }
  fprintf(stderr, "unknown command %s\n", cmd);
  return 2;
}
