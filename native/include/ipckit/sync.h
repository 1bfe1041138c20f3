/* ipckit/sync.h: ipckit's synchronization objects in shared memory, for C programs.
 *
 * The addon compiles this very header, so a C program that includes it and maps the same
 * shared-memory object works on the same bytes as Node's Mutex, Condition, Barrier and
 * wait()/wake(). Linux only (futexes; glibc's process-shared robust mutexes).
 *
 * Layout version 1 (IPCKIT_SYNC_VERSION). Every object starts with a 4-byte magic and a 4-byte
 * layout version, is 8-byte aligned (IPCKIT_SYNC_ALIGN) and has a fixed size:
 *
 *   ipckit_mutex_t    64 bytes  magic "IPKM" | version | 8 reserved bytes | pthread_mutex_t (48-byte
 *                               slot; glibc x86_64/aarch64 use 40), process-shared, robust, error-checking
 *   ipckit_cond_t     32 bytes  magic "IPKC" | version | seq (futex word, bumped by every notify) |
 *                               waiters (count of sleepers, so notify skips the syscall when 0) | 16 reserved
 *   ipckit_barrier_t  32 bytes  magic "IPKB" | version | parties | state (futex word: generation << 16 |
 *                               arrived) | 16 reserved
 *
 * The addon exports these sizes and offsets as it compiled them (sizeof, offsetof), with the
 * macros and result codes below, as `constants.sync` of its binding: the TypeScript side reads
 * them from there and spells none of them itself.
 *
 * Trust: glibc links a held robust mutex into its thread's robust list through pointers stored in
 * the mutex itself, and pthread_mutex_unlock (so ipckit_mutex_unlock and ipckit_cond_wait) writes
 * through them. A C program that holds a mutex a hostile peer can overwrite can therefore be made
 * to crash by that peer. ipckit's Node side never lets glibc unlock: it unlinks held mutexes
 * itself from addresses it knows and reports tampering with ERR_IPC_MUTEX_CORRUPT (see the
 * README's "Crash safety and security").
 *
 * Futex words are 32-bit and waited on without FUTEX_PRIVATE_FLAG, so waits and wakes work across
 * processes. Timeouts are relative milliseconds measured on CLOCK_MONOTONIC (negative: no limit).
 * Compile with -D_GNU_SOURCE and link with -pthread.
 */
#ifndef IPCKIT_SYNC_H
#define IPCKIT_SYNC_H

#ifndef _GNU_SOURCE
#error "ipckit/sync.h needs _GNU_SOURCE (for pthread_mutex_clocklock): compile with -D_GNU_SOURCE"
#endif

#include <errno.h>
#include <limits.h>
#include <linux/futex.h>
#include <pthread.h>
#include <stdint.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#ifdef __cplusplus
extern "C" {
#endif

#define IPCKIT_SYNC_VERSION 1u
#define IPCKIT_MUTEX_MAGIC 0x4d4b5049u   /* "IPKM" in little-endian memory */
#define IPCKIT_COND_MAGIC 0x434b5049u    /* "IPKC" */
#define IPCKIT_BARRIER_MAGIC 0x424b5049u /* "IPKB" */
#define IPCKIT_SYNC_ALIGN 8u
#define IPCKIT_BARRIER_MAX_PARTIES 0xffffu
/* A barrier's state word: the generation in the high 16 bits (bumped by each completed round),
 * the parties arrived in this generation in the low 16. */
#define IPCKIT_BARRIER_GENERATION_MASK 0xffff0000u
#define IPCKIT_BARRIER_ARRIVED_MASK 0x0000ffffu
#define IPCKIT_BARRIER_GENERATION_ONE 0x00010000u

typedef struct ipckit_mutex {
  uint32_t magic;
  uint32_t version;
  uint32_t reserved[2];
  union {
    pthread_mutex_t mutex;
    unsigned char slot[48];
  } u;
} ipckit_mutex_t;

typedef struct ipckit_cond {
  uint32_t magic;
  uint32_t version;
  uint32_t seq;
  uint32_t waiters;
  uint32_t reserved[4];
} ipckit_cond_t;

typedef struct ipckit_barrier {
  uint32_t magic;
  uint32_t version;
  uint32_t parties;
  uint32_t state;
  uint32_t reserved[4];
} ipckit_barrier_t;

#if defined(__cplusplus)
static_assert(sizeof(ipckit_mutex_t) == 64, "ipckit_mutex_t is 64 bytes");
static_assert(sizeof(ipckit_cond_t) == 32, "ipckit_cond_t is 32 bytes");
static_assert(sizeof(ipckit_barrier_t) == 32, "ipckit_barrier_t is 32 bytes");
static_assert(alignof(ipckit_mutex_t) <= IPCKIT_SYNC_ALIGN, "IPCKIT_SYNC_ALIGN suffices for ipckit_mutex_t");
#else
_Static_assert(sizeof(ipckit_mutex_t) == 64, "ipckit_mutex_t is 64 bytes");
_Static_assert(sizeof(ipckit_cond_t) == 32, "ipckit_cond_t is 32 bytes");
_Static_assert(sizeof(ipckit_barrier_t) == 32, "ipckit_barrier_t is 32 bytes");
_Static_assert(_Alignof(ipckit_mutex_t) <= IPCKIT_SYNC_ALIGN, "IPCKIT_SYNC_ALIGN suffices for ipckit_mutex_t");
#endif

/* Results of the waits below. */
enum { IPCKIT_OK = 0, IPCKIT_NOT_EQUAL = 1, IPCKIT_TIMED_OUT = 2, IPCKIT_OWNER_DIED = 3, IPCKIT_SERIAL = 4 };

/* ---- futex wait/wake on any 32-bit word in shared memory ---- */

static inline void ipckit__deadline(struct timespec *deadline, long long timeout_ms) {
  clock_gettime(CLOCK_MONOTONIC, deadline);
  deadline->tv_sec += (time_t)(timeout_ms / 1000);
  deadline->tv_nsec += (long)(timeout_ms % 1000) * 1000000L;
  if (deadline->tv_nsec >= 1000000000L) {
    deadline->tv_sec++;
    deadline->tv_nsec -= 1000000000L;
  }
}

/* One FUTEX_WAIT with an absolute CLOCK_MONOTONIC deadline (NULL: none). Returns 0 when woken (or
 * spuriously), else -1 with errno EAGAIN (value differs), ETIMEDOUT or EINTR. */
static inline int ipckit_futex_wait_until(volatile uint32_t *word, uint32_t expected, const struct timespec *deadline) {
  return (int)syscall(SYS_futex, (uint32_t *)word, FUTEX_WAIT_BITSET, expected, deadline, NULL, FUTEX_BITSET_MATCH_ANY);
}

/* Waits while *word == expected: IPCKIT_OK once woken, IPCKIT_NOT_EQUAL if it differed at the
 * start, IPCKIT_TIMED_OUT. Restarts after signals. */
static inline int ipckit_wait(volatile uint32_t *word, uint32_t expected, long long timeout_ms) {
  struct timespec deadline;
  if (timeout_ms >= 0) ipckit__deadline(&deadline, timeout_ms);
  for (;;) {
    if (ipckit_futex_wait_until(word, expected, timeout_ms >= 0 ? &deadline : NULL) == 0) return IPCKIT_OK;
    if (errno == EAGAIN) return IPCKIT_NOT_EQUAL;
    if (errno == ETIMEDOUT) return IPCKIT_TIMED_OUT;
    if (errno != EINTR) return -errno;
  }
}

/* Wakes up to `count` waiters; returns how many were woken. */
static inline int ipckit_wake(volatile uint32_t *word, int count) {
  long woken = syscall(SYS_futex, (uint32_t *)word, FUTEX_WAKE, count, NULL, NULL, 0);
  return woken < 0 ? 0 : (int)woken;
}

/* ---- Mutex: a process-shared, robust, error-checking pthread mutex in a versioned frame ---- */

static inline int ipckit_mutex_init(ipckit_mutex_t *m) {
  pthread_mutexattr_t attr;
  int rc = pthread_mutexattr_init(&attr);
  if (rc == 0) rc = pthread_mutexattr_setpshared(&attr, PTHREAD_PROCESS_SHARED);
  if (rc == 0) rc = pthread_mutexattr_setrobust(&attr, PTHREAD_MUTEX_ROBUST);
  if (rc == 0) rc = pthread_mutexattr_settype(&attr, PTHREAD_MUTEX_ERRORCHECK);
  if (rc == 0) rc = pthread_mutex_init(&m->u.mutex, &attr);
  pthread_mutexattr_destroy(&attr);
  if (rc != 0) return rc;
  m->reserved[0] = m->reserved[1] = 0;
  m->version = IPCKIT_SYNC_VERSION;
  __atomic_store_n(&m->magic, IPCKIT_MUTEX_MAGIC, __ATOMIC_RELEASE);
  return 0;
}

static inline int ipckit_mutex_valid(const ipckit_mutex_t *m) {
  return __atomic_load_n(&m->magic, __ATOMIC_ACQUIRE) == IPCKIT_MUTEX_MAGIC && m->version == IPCKIT_SYNC_VERSION;
}

/* IPCKIT_OK, IPCKIT_OWNER_DIED (acquired; the previous holder died holding it: repair the data,
 * then ipckit_mutex_consistent), IPCKIT_TIMED_OUT, or a negative errno (EDEADLK: this thread
 * holds it; ENOTRECOVERABLE: a holder died and it was unlocked without being made consistent). */
static inline int ipckit_mutex_lock(ipckit_mutex_t *m, long long timeout_ms) {
  int rc;
  if (timeout_ms < 0) {
    rc = pthread_mutex_lock(&m->u.mutex);
  } else {
    struct timespec deadline;
    ipckit__deadline(&deadline, timeout_ms);
    rc = pthread_mutex_clocklock(&m->u.mutex, CLOCK_MONOTONIC, &deadline);
  }
  if (rc == 0) return IPCKIT_OK;
  if (rc == EOWNERDEAD) return IPCKIT_OWNER_DIED;
  if (rc == ETIMEDOUT) return IPCKIT_TIMED_OUT;
  return -rc;
}

/* As ipckit_mutex_lock, never waiting: -EBUSY when held by another thread. */
static inline int ipckit_mutex_trylock(ipckit_mutex_t *m) {
  int rc = pthread_mutex_trylock(&m->u.mutex);
  if (rc == 0) return IPCKIT_OK;
  if (rc == EOWNERDEAD) return IPCKIT_OWNER_DIED;
  return -rc;
}

static inline int ipckit_mutex_unlock(ipckit_mutex_t *m) { return -pthread_mutex_unlock(&m->u.mutex); }

static inline int ipckit_mutex_consistent(ipckit_mutex_t *m) { return -pthread_mutex_consistent(&m->u.mutex); }

/* ---- Condition: a sequence-counter condition variable usable with ipckit_mutex_t ---- */

static inline void ipckit_cond_init(ipckit_cond_t *c) {
  c->seq = 0;
  c->waiters = 0;
  c->reserved[0] = c->reserved[1] = c->reserved[2] = c->reserved[3] = 0;
  c->version = IPCKIT_SYNC_VERSION;
  __atomic_store_n(&c->magic, IPCKIT_COND_MAGIC, __ATOMIC_RELEASE);
}

static inline int ipckit_cond_valid(const ipckit_cond_t *c) {
  return __atomic_load_n(&c->magic, __ATOMIC_ACQUIRE) == IPCKIT_COND_MAGIC && c->version == IPCKIT_SYNC_VERSION;
}

/* Must hold `m`. Releases it, waits for a notify (or the timeout; spurious wake-ups are possible,
 * as with any condition variable: re-check the predicate), and re-acquires it. Returns IPCKIT_OK,
 * IPCKIT_TIMED_OUT, or IPCKIT_OWNER_DIED if re-acquiring found the mutex's holder dead. */
static inline int ipckit_cond_wait(ipckit_cond_t *c, ipckit_mutex_t *m, long long timeout_ms) {
  uint32_t seq = __atomic_load_n(&c->seq, __ATOMIC_ACQUIRE);
  __atomic_add_fetch(&c->waiters, 1, __ATOMIC_ACQ_REL);
  int unlocked = ipckit_mutex_unlock(m);
  if (unlocked != 0) {
    __atomic_sub_fetch(&c->waiters, 1, __ATOMIC_ACQ_REL);
    return unlocked;
  }
  int waited = ipckit_wait(&c->seq, seq, timeout_ms);
  __atomic_sub_fetch(&c->waiters, 1, __ATOMIC_ACQ_REL);
  int relocked = ipckit_mutex_lock(m, -1);
  if (relocked != IPCKIT_OK) return relocked;
  return waited == IPCKIT_TIMED_OUT ? IPCKIT_TIMED_OUT : IPCKIT_OK;
}

/* Wakes one waiter (all: every waiter). Returns how many were woken. */
static inline int ipckit_cond_notify(ipckit_cond_t *c, int all) {
  __atomic_add_fetch(&c->seq, 1, __ATOMIC_ACQ_REL);
  if (__atomic_load_n(&c->waiters, __ATOMIC_ACQUIRE) == 0) return 0;
  return ipckit_wake(&c->seq, all ? INT_MAX : 1);
}

/* ---- Barrier: `parties` processes or threads meet; reusable ---- */

static inline int ipckit_barrier_init(ipckit_barrier_t *b, uint32_t parties) {
  if (parties == 0 || parties > IPCKIT_BARRIER_MAX_PARTIES) return -EINVAL;
  b->parties = parties;
  b->state = 0;
  b->reserved[0] = b->reserved[1] = b->reserved[2] = b->reserved[3] = 0;
  b->version = IPCKIT_SYNC_VERSION;
  __atomic_store_n(&b->magic, IPCKIT_BARRIER_MAGIC, __ATOMIC_RELEASE);
  return 0;
}

static inline int ipckit_barrier_valid(const ipckit_barrier_t *b) {
  return __atomic_load_n(&b->magic, __ATOMIC_ACQUIRE) == IPCKIT_BARRIER_MAGIC && b->version == IPCKIT_SYNC_VERSION;
}

/* Arrives. Returns -1 for the party whose arrival released everyone, else the state word as it
 * was right after arriving (its generation is the one to wait out). Use ipckit_barrier_wait. */
static inline int64_t ipckit__barrier_arrive(ipckit_barrier_t *b) {
  uint32_t state = __atomic_load_n(&b->state, __ATOMIC_ACQUIRE);
  for (;;) {
    uint32_t arrived = (state & IPCKIT_BARRIER_ARRIVED_MASK) + 1;
    uint32_t next = arrived == b->parties ? ((state & IPCKIT_BARRIER_GENERATION_MASK) + IPCKIT_BARRIER_GENERATION_ONE)
                                          : (state & IPCKIT_BARRIER_GENERATION_MASK) | arrived;
    if (__atomic_compare_exchange_n(&b->state, &state, next, 0, __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE)) {
      if (arrived == b->parties) {
        ipckit_wake(&b->state, INT_MAX);
        return -1;
      }
      return (int64_t)next;
    }
  }
}

/* Takes back an arrival whose generation has not completed; returns 1 if withdrawn, 0 if the
 * generation completed meanwhile (the caller was released after all). */
static inline int ipckit__barrier_withdraw(ipckit_barrier_t *b, uint32_t generation) {
  uint32_t state = __atomic_load_n(&b->state, __ATOMIC_ACQUIRE);
  for (;;) {
    if ((state & IPCKIT_BARRIER_GENERATION_MASK) != generation || (state & IPCKIT_BARRIER_ARRIVED_MASK) == 0) return 0;
    if (__atomic_compare_exchange_n(&b->state, &state, state - 1, 0, __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE)) return 1;
  }
}

/* Waits until `parties` have arrived. IPCKIT_SERIAL for exactly one party of each generation,
 * IPCKIT_OK for the others, IPCKIT_TIMED_OUT if the timeout passed first (the arrival is taken
 * back, so the barrier stays usable). */
static inline int ipckit_barrier_wait(ipckit_barrier_t *b, long long timeout_ms) {
  int64_t arrived = ipckit__barrier_arrive(b);
  if (arrived < 0) return IPCKIT_SERIAL;
  uint32_t observed = (uint32_t)arrived;
  uint32_t generation = observed & IPCKIT_BARRIER_GENERATION_MASK;
  struct timespec deadline;
  if (timeout_ms >= 0) ipckit__deadline(&deadline, timeout_ms);
  for (;;) {
    uint32_t state = __atomic_load_n(&b->state, __ATOMIC_ACQUIRE);
    if ((state & IPCKIT_BARRIER_GENERATION_MASK) != generation) return IPCKIT_OK;
    if (ipckit_futex_wait_until(&b->state, state, timeout_ms >= 0 ? &deadline : NULL) != 0 && errno == ETIMEDOUT) {
      return ipckit__barrier_withdraw(b, generation) ? IPCKIT_TIMED_OUT : IPCKIT_OK;
    }
  }
}

#ifdef __cplusplus
}
#endif

#endif /* IPCKIT_SYNC_H */
