/* ipckit/channel.h: ipckit's shared-memory channel, for C programs (and, built as a small shared
 * library, for Python through ctypes).
 *
 * A channel is one shared-memory object holding a ring buffer of variable-size messages, with one
 * producer and one consumer (SPSC). Node's `Channel` (lib/channel.ts) implements this very
 * protocol in JavaScript over the mapped bytes; a C program that includes this header can be
 * either end, against Node or against another C program. Linux only (futexes).
 *
 * ---- Layout, version 1 (IPCKIT_CHANNEL_VERSION) ----
 *
 * All fields are little-endian 32-bit words. The object's size is exactly
 * header_size + capacity. The header is four 64-byte cache lines:
 *
 *   line 0, written once by the creator (and the role words, rarely):
 *     0  magic        "IPKR" (0x524b5049 as a little-endian word); stored last, with release order,
 *                     so a reader that sees it sees the rest of the header
 *     4  version      1
 *     8  header_size  256: the ring's first byte
 *    12  flags        0 (no flag is defined in version 1; a reader refuses unknown flags)
 *    16  capacity     ring bytes: a power of two from 1 KiB to 1 GiB
 *    20  max_message  capacity / 2 - 8: the largest payload, so that any message fits once the
 *                     ring is empty, wherever the ring's positions are
 *    24  producer     role word: 0 never attached, a pid while attached, 0xffffffff closed
 *    28  consumer     role word, the same
 *    32  creator_pid
 *    36..63 reserved (0)
 *   line 1, written by the producer:
 *    64  tail         bytes ever written, modulo 2^32 (published after the record is complete)
 *   line 2, written by the consumer:
 *   128  head         bytes ever consumed, modulo 2^32
 *   line 3, the sleeping protocol (written only when a side sleeps, wakes or closes):
 *   192  consumer_waiting  1 while the consumer is about to sleep or sleeps for data
 *   196  consumer_bell     futex word the consumer sleeps on; bumped to wake it
 *   200  producer_waiting  1 while the producer is about to sleep or sleeps for room
 *   204  producer_bell     futex word the producer sleeps on
 *   208..255 reserved (0)
 *   256  the ring: `capacity` bytes
 *
 * Records start at 8-byte aligned ring offsets and never wrap: each is an 8-byte header
 * (u32 length, u32 kind) then `length` payload bytes, padded to a multiple of 8. Kind 1 is a
 * message; kind 2 is padding that fills the ring from its offset to the ring's end (its length
 * field holds the padding's payload bytes, capacity - offset - 8), written when a record does not
 * fit before the end; the record then starts at offset 0. The producer writes the record (and any
 * padding), then stores the new tail with release order; the consumer loads tail with acquire
 * order, reads, then stores the new head with release order. Free space is
 * capacity - (tail - head), computed modulo 2^32. A reader checks every record it reads (kind,
 * length against max_message and against the bytes published) and reports a corrupt ring rather
 * than reading outside it.
 *
 * Sleeping: a side that finds the ring empty (or full) loads its bell, stores 1 in its *_waiting
 * word (sequentially consistent), checks the ring and the peer's role word again, then futex-waits
 * on its bell for the value loaded. The other side, after storing tail (or head) sequentially
 * consistently, loads the peer's *_waiting word; if it is 1 it exchanges it to 0 and, if it was
 * still 1, adds 1 to the peer's bell and futex-wakes it. Closing stores the closed role word, then
 * bumps and wakes the peer's bell unconditionally. A sleeper wakes at most every
 * IPCKIT_CHANNEL_LIVENESS_MS to check that the peer's pid is still alive (kill(pid, 0)): a peer
 * killed with SIGKILL cannot say goodbye.
 *
 * Roles: a process attaches as producer or consumer by compare-and-swapping the role word from 0,
 * from the closed value or from the pid of a process that no longer exists, to its own pid. A
 * second live producer (or consumer) is refused: IPCKIT_CHANNEL_EBUSY. A producer that died mid
 * record published nothing of it: its successor continues at the published tail. A consumer that
 * died holding a peeked record never released it: its successor receives that record again.
 * Pids are compared within one pid namespace: processes in different pid namespaces (containers)
 * sharing one /dev/shm cannot tell whether their peer is alive.
 *
 * Functions are `static inline` unless IPCKIT_CHANNEL_API is defined before inclusion (define it
 * empty in one .c file to build a shared library that exports them, as test/c/channel_lib.c does).
 * Errors are negative errno values. Compile with -D_GNU_SOURCE (C11 or later); link with -lrt on
 * old glibc.
 */
#ifndef IPCKIT_CHANNEL_H
#define IPCKIT_CHANNEL_H

#include <errno.h>
#include <fcntl.h>
#include <linux/futex.h>
#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#ifdef __cplusplus
extern "C" {
#endif

#ifndef IPCKIT_CHANNEL_API
#define IPCKIT_CHANNEL_API static inline
#endif

#define IPCKIT_CHANNEL_MAGIC 0x524b5049u /* "IPKR" in little-endian memory */
#define IPCKIT_CHANNEL_VERSION 1u
#define IPCKIT_CHANNEL_HEADER_SIZE 256u
#define IPCKIT_CHANNEL_MIN_CAPACITY 1024u
#define IPCKIT_CHANNEL_MAX_CAPACITY (1u << 30)
#define IPCKIT_CHANNEL_RECORD_HEADER 8u
#define IPCKIT_CHANNEL_KIND_MESSAGE 1u
#define IPCKIT_CHANNEL_KIND_PADDING 2u
#define IPCKIT_CHANNEL_ROLE_NONE 0u
#define IPCKIT_CHANNEL_ROLE_CLOSED 0xffffffffu
#define IPCKIT_CHANNEL_LIVENESS_MS 200

/* Word offsets (in bytes) of the header's fields. */
#define IPCKIT_CHANNEL_OFF_MAGIC 0u
#define IPCKIT_CHANNEL_OFF_VERSION 4u
#define IPCKIT_CHANNEL_OFF_HEADER_SIZE 8u
#define IPCKIT_CHANNEL_OFF_FLAGS 12u
#define IPCKIT_CHANNEL_OFF_CAPACITY 16u
#define IPCKIT_CHANNEL_OFF_MAX_MESSAGE 20u
#define IPCKIT_CHANNEL_OFF_PRODUCER 24u
#define IPCKIT_CHANNEL_OFF_CONSUMER 28u
#define IPCKIT_CHANNEL_OFF_CREATOR_PID 32u
#define IPCKIT_CHANNEL_OFF_TAIL 64u
#define IPCKIT_CHANNEL_OFF_HEAD 128u
#define IPCKIT_CHANNEL_OFF_CONSUMER_WAITING 192u
#define IPCKIT_CHANNEL_OFF_CONSUMER_BELL 196u
#define IPCKIT_CHANNEL_OFF_PRODUCER_WAITING 200u
#define IPCKIT_CHANNEL_OFF_PRODUCER_BELL 204u

/* Error results besides negative errno values from the OS. */
#define IPCKIT_CHANNEL_EINVAL (-EINVAL)     /* not a channel: magic, size or header fields */
#define IPCKIT_CHANNEL_EVERSION (-EPROTO)   /* a channel of another layout version */
#define IPCKIT_CHANNEL_EBUSY (-EBUSY)       /* the role is held by a live process */
#define IPCKIT_CHANNEL_EMSGSIZE (-EMSGSIZE) /* larger than max_message, or than the caller's buffer */
#define IPCKIT_CHANNEL_ETIMEDOUT (-ETIMEDOUT)
#define IPCKIT_CHANNEL_EPIPE (-EPIPE)      /* the peer closed or exited (and, receiving, the ring is empty) */
#define IPCKIT_CHANNEL_ECORRUPT (-EBADMSG) /* a record in the ring breaks the layout */

enum ipckit_channel_role { IPCKIT_CHANNEL_PRODUCER = 1, IPCKIT_CHANNEL_CONSUMER = 2 };

/* What a side knows about its peer. */
enum ipckit_channel_peer { IPCKIT_PEER_NONE = 0, IPCKIT_PEER_ATTACHED = 1, IPCKIT_PEER_CLOSED = 2, IPCKIT_PEER_GONE = 3 };

typedef struct ipckit_channel {
  unsigned char *base; /* the mapping: header, then ring */
  size_t size;         /* mapped bytes */
  int fd;              /* the object's descriptor (-1 when the caller mapped it) */
  int role;            /* IPCKIT_CHANNEL_PRODUCER or IPCKIT_CHANNEL_CONSUMER, 0 before attach */
  uint32_t capacity;
  uint32_t mask;
  uint32_t max_message;
  uint32_t position;   /* this side's own position: tail for the producer, head for the consumer */
  uint32_t peer_cache; /* the peer's position as last loaded */
  uint32_t peeked;     /* bytes of the record returned by peek, to release (0: none) */
  uint32_t want;       /* record bytes a waiting send needs */
  unsigned spin_us;    /* busy-poll this long before sleeping (0: sleep at once) */
  uint32_t live_peer;  /* the peer pid last seen alive, and when (CLOCK_MONOTONIC ns) */
  long long live_peer_ns;
} ipckit_channel_t;

#if defined(__x86_64__) || defined(__i386__)
#define IPCKIT__CH_PAUSE() __builtin_ia32_pause()
#elif defined(__aarch64__)
#define IPCKIT__CH_PAUSE() __asm__ __volatile__("yield")
#else
#define IPCKIT__CH_PAUSE() ((void)0)
#endif

/* ---- words ---- */

static inline uint32_t *ipckit__ch_word(const ipckit_channel_t *ch, uint32_t offset) { return (uint32_t *)(void *)(ch->base + offset); }

static inline uint32_t ipckit__ch_load(const ipckit_channel_t *ch, uint32_t offset) {
  return __atomic_load_n(ipckit__ch_word(ch, offset), __ATOMIC_SEQ_CST);
}

static inline void ipckit__ch_store(const ipckit_channel_t *ch, uint32_t offset, uint32_t value) {
  __atomic_store_n(ipckit__ch_word(ch, offset), value, __ATOMIC_SEQ_CST);
}

static inline long long ipckit__ch_now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static inline void ipckit__ch_futex_wait(uint32_t *word, uint32_t expected, long long timeout_ns) {
  struct timespec ts;
  ts.tv_sec = (time_t)(timeout_ns / 1000000000LL);
  ts.tv_nsec = (long)(timeout_ns % 1000000000LL);
  syscall(SYS_futex, word, FUTEX_WAIT, expected, &ts, NULL, 0);
}

static inline void ipckit__ch_futex_wake(uint32_t *word) { syscall(SYS_futex, word, FUTEX_WAKE, 1, NULL, NULL, 0); }

/* The peer's state from its role word. */
static inline int ipckit__ch_peer_state(uint32_t word) {
  if (word == IPCKIT_CHANNEL_ROLE_NONE) return IPCKIT_PEER_NONE;
  if (word == IPCKIT_CHANNEL_ROLE_CLOSED) return IPCKIT_PEER_CLOSED;
  if (kill((pid_t)word, 0) == 0 || errno == EPERM) return IPCKIT_PEER_ATTACHED;
  return IPCKIT_PEER_GONE;
}

static inline uint32_t ipckit__ch_peer_offset(const ipckit_channel_t *ch) {
  return ch->role == IPCKIT_CHANNEL_PRODUCER ? IPCKIT_CHANNEL_OFF_CONSUMER : IPCKIT_CHANNEL_OFF_PRODUCER;
}

/* ---- creating and checking the header ---- */

/* The ring capacity for a requested one: the next power of two, at least the minimum. 0 when the
 * request exceeds the maximum. */
IPCKIT_CHANNEL_API uint32_t ipckit_channel_capacity_for(uint64_t requested) {
  uint64_t capacity = IPCKIT_CHANNEL_MIN_CAPACITY;
  while (capacity < requested) capacity <<= 1;
  return capacity > IPCKIT_CHANNEL_MAX_CAPACITY ? 0 : (uint32_t)capacity;
}

/* Writes a fresh header into `mem` (header_size + capacity bytes, zero-filled as a new object
 * is). The magic is stored last. */
IPCKIT_CHANNEL_API int ipckit_channel_init(void *mem, size_t size, uint32_t capacity) {
  unsigned char *base = (unsigned char *)mem;
  if (capacity < IPCKIT_CHANNEL_MIN_CAPACITY || capacity > IPCKIT_CHANNEL_MAX_CAPACITY || (capacity & (capacity - 1)) != 0) return -EINVAL;
  if (size != (size_t)IPCKIT_CHANNEL_HEADER_SIZE + capacity) return -EINVAL;
  memset(base + 4, 0, IPCKIT_CHANNEL_HEADER_SIZE - 4);
  uint32_t *w = (uint32_t *)mem;
  w[IPCKIT_CHANNEL_OFF_VERSION / 4] = IPCKIT_CHANNEL_VERSION;
  w[IPCKIT_CHANNEL_OFF_HEADER_SIZE / 4] = IPCKIT_CHANNEL_HEADER_SIZE;
  w[IPCKIT_CHANNEL_OFF_FLAGS / 4] = 0;
  w[IPCKIT_CHANNEL_OFF_CAPACITY / 4] = capacity;
  w[IPCKIT_CHANNEL_OFF_MAX_MESSAGE / 4] = capacity / 2 - IPCKIT_CHANNEL_RECORD_HEADER;
  w[IPCKIT_CHANNEL_OFF_CREATOR_PID / 4] = (uint32_t)getpid();
  __atomic_store_n(&w[IPCKIT_CHANNEL_OFF_MAGIC / 4], IPCKIT_CHANNEL_MAGIC, __ATOMIC_SEQ_CST);
  return 0;
}

/* Checks that `mem` (of `size` mapped bytes) holds a version-1 channel: 0, IPCKIT_CHANNEL_EINVAL
 * or IPCKIT_CHANNEL_EVERSION. Reads only; touches nothing. */
IPCKIT_CHANNEL_API int ipckit_channel_check(const void *mem, size_t size) {
  if (size < IPCKIT_CHANNEL_HEADER_SIZE) return -EINVAL;
  const uint32_t *w = (const uint32_t *)mem;
  if (__atomic_load_n(&w[0], __ATOMIC_ACQUIRE) != IPCKIT_CHANNEL_MAGIC) return -EINVAL;
  if (w[IPCKIT_CHANNEL_OFF_VERSION / 4] != IPCKIT_CHANNEL_VERSION) return -EPROTO;
  uint32_t capacity = w[IPCKIT_CHANNEL_OFF_CAPACITY / 4];
  if (w[IPCKIT_CHANNEL_OFF_HEADER_SIZE / 4] != IPCKIT_CHANNEL_HEADER_SIZE || w[IPCKIT_CHANNEL_OFF_FLAGS / 4] != 0) return -EINVAL;
  if (capacity < IPCKIT_CHANNEL_MIN_CAPACITY || capacity > IPCKIT_CHANNEL_MAX_CAPACITY || (capacity & (capacity - 1)) != 0) return -EINVAL;
  if (w[IPCKIT_CHANNEL_OFF_MAX_MESSAGE / 4] != capacity / 2 - IPCKIT_CHANNEL_RECORD_HEADER) return -EINVAL;
  if (size != (size_t)IPCKIT_CHANNEL_HEADER_SIZE + capacity) return -EINVAL;
  return 0;
}

/* Takes the role in a checked mapping: 0 or IPCKIT_CHANNEL_EBUSY. */
IPCKIT_CHANNEL_API int ipckit_channel_attach(ipckit_channel_t *ch, void *mem, size_t size, int role) {
  int rc = ipckit_channel_check(mem, size);
  if (rc != 0) return rc;
  if (role != IPCKIT_CHANNEL_PRODUCER && role != IPCKIT_CHANNEL_CONSUMER) return -EINVAL;
  ch->base = (unsigned char *)mem;
  ch->size = size;
  ch->role = 0;
  /* The capacity is read once more, and checked again: a peer may have rewritten the word since
   * ipckit_channel_check read it, and every access to the ring trusts this copy. */
  ch->capacity = ipckit__ch_load(ch, IPCKIT_CHANNEL_OFF_CAPACITY);
  if (ch->capacity < IPCKIT_CHANNEL_MIN_CAPACITY || ch->capacity > IPCKIT_CHANNEL_MAX_CAPACITY ||
      (ch->capacity & (ch->capacity - 1)) != 0 || size != (size_t)IPCKIT_CHANNEL_HEADER_SIZE + ch->capacity)
    return -EINVAL;
  ch->mask = ch->capacity - 1;
  ch->max_message = ch->capacity / 2 - IPCKIT_CHANNEL_RECORD_HEADER;
  ch->peeked = 0;
  ch->want = 0;
  ch->spin_us = 0;
  ch->live_peer = 0;
  ch->live_peer_ns = 0;
  uint32_t offset = role == IPCKIT_CHANNEL_PRODUCER ? IPCKIT_CHANNEL_OFF_PRODUCER : IPCKIT_CHANNEL_OFF_CONSUMER;
  uint32_t me = (uint32_t)getpid();
  uint32_t seen = ipckit__ch_load(ch, offset);
  for (;;) {
    if (seen == me || ipckit__ch_peer_state(seen) == IPCKIT_PEER_ATTACHED) return -EBUSY;
    if (__atomic_compare_exchange_n(ipckit__ch_word(ch, offset), &seen, me, 0, __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST)) break;
  }
  ch->role = role;
  if (role == IPCKIT_CHANNEL_PRODUCER) {
    ch->position = ipckit__ch_load(ch, IPCKIT_CHANNEL_OFF_TAIL);
    ch->peer_cache = ipckit__ch_load(ch, IPCKIT_CHANNEL_OFF_HEAD);
  } else {
    ch->position = ipckit__ch_load(ch, IPCKIT_CHANNEL_OFF_HEAD);
    ch->peer_cache = ipckit__ch_load(ch, IPCKIT_CHANNEL_OFF_TAIL);
  }
  return 0;
}

/* The peer's state: IPCKIT_PEER_NONE, _ATTACHED, _CLOSED or _GONE (its process exited). */
IPCKIT_CHANNEL_API int ipckit_channel_peer(const ipckit_channel_t *ch) {
  return ipckit__ch_peer_state(ipckit__ch_load(ch, ipckit__ch_peer_offset(ch)));
}

/* Wakes the peer if it sleeps (or is about to). */
static inline void ipckit__ch_ring_peer(ipckit_channel_t *ch) {
  uint32_t waiting = ch->role == IPCKIT_CHANNEL_PRODUCER ? IPCKIT_CHANNEL_OFF_CONSUMER_WAITING : IPCKIT_CHANNEL_OFF_PRODUCER_WAITING;
  if (ipckit__ch_load(ch, waiting) != 0 && __atomic_exchange_n(ipckit__ch_word(ch, waiting), 0u, __ATOMIC_SEQ_CST) != 0) {
    uint32_t *bell = ipckit__ch_word(ch, waiting + 4);
    __atomic_fetch_add(bell, 1u, __ATOMIC_SEQ_CST);
    ipckit__ch_futex_wake(bell);
  }
}

/* Gives up the role: the role word says closed and a sleeping peer wakes. The mapping stays. */
IPCKIT_CHANNEL_API void ipckit_channel_detach(ipckit_channel_t *ch) {
  if (ch->role == 0) return;
  uint32_t own = ch->role == IPCKIT_CHANNEL_PRODUCER ? IPCKIT_CHANNEL_OFF_PRODUCER : IPCKIT_CHANNEL_OFF_CONSUMER;
  uint32_t me = (uint32_t)getpid();
  __atomic_compare_exchange_n(ipckit__ch_word(ch, own), &me, IPCKIT_CHANNEL_ROLE_CLOSED, 0, __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST);
  uint32_t bell = ch->role == IPCKIT_CHANNEL_PRODUCER ? IPCKIT_CHANNEL_OFF_CONSUMER_BELL : IPCKIT_CHANNEL_OFF_PRODUCER_BELL;
  __atomic_fetch_add(ipckit__ch_word(ch, bell), 1u, __ATOMIC_SEQ_CST);
  ipckit__ch_futex_wake(ipckit__ch_word(ch, bell));
  ch->role = 0;
}

/* ---- producer ---- */

/* Sends one message if there is room: 1 sent, 0 full, IPCKIT_CHANNEL_EMSGSIZE (nothing written). */
IPCKIT_CHANNEL_API int ipckit_channel_try_send(ipckit_channel_t *ch, const void *data, uint32_t length) {
  if (ch->role != IPCKIT_CHANNEL_PRODUCER) return -EINVAL;
  if (length > ch->max_message) return -EMSGSIZE;
  uint32_t need = IPCKIT_CHANNEL_RECORD_HEADER + ((length + 7u) & ~7u);
  uint32_t tail = ch->position;
  uint32_t offset = tail & ch->mask;
  uint32_t to_end = ch->capacity - offset;
  uint32_t total = need <= to_end ? need : to_end + need;
  if (ch->capacity - (tail - ch->peer_cache) < total) {
    ch->peer_cache = ipckit__ch_load(ch, IPCKIT_CHANNEL_OFF_HEAD);
    if (ch->capacity - (tail - ch->peer_cache) < total) return 0;
  }
  unsigned char *ring = ch->base + IPCKIT_CHANNEL_HEADER_SIZE;
  if (need > to_end) {
    uint32_t pad[2] = {to_end - IPCKIT_CHANNEL_RECORD_HEADER, IPCKIT_CHANNEL_KIND_PADDING};
    memcpy(ring + offset, pad, sizeof pad);
    tail += to_end;
    offset = 0;
  }
  uint32_t header[2] = {length, IPCKIT_CHANNEL_KIND_MESSAGE};
  memcpy(ring + offset, header, sizeof header);
  if (length > 0) memcpy(ring + offset + IPCKIT_CHANNEL_RECORD_HEADER, data, length);
  tail += need;
  ch->position = tail;
  ipckit__ch_store(ch, IPCKIT_CHANNEL_OFF_TAIL, tail);
  ipckit__ch_ring_peer(ch);
  return 1;
}

/* Busy-polls up to spin_us, then sleeps on this side's bell until `ready(ch)` holds, the peer is
 * closed or gone, or the deadline: 1 ready, 0 peer closed or gone, IPCKIT_CHANNEL_ETIMEDOUT. */
static inline int ipckit__ch_wait(ipckit_channel_t *ch, int (*ready)(ipckit_channel_t *), long long deadline_ns) {
  if (ready(ch)) return 1;
  if (ch->spin_us > 0) {
    long long spin_end = ipckit__ch_now_ns() + (long long)ch->spin_us * 1000;
    if (deadline_ns >= 0 && spin_end > deadline_ns) spin_end = deadline_ns;
    do {
      for (int i = 0; i < 64; i++) {
        if (ready(ch)) return 1;
        IPCKIT__CH_PAUSE();
      }
    } while (ipckit__ch_now_ns() < spin_end);
  }
  uint32_t waiting = ch->role == IPCKIT_CHANNEL_PRODUCER ? IPCKIT_CHANNEL_OFF_PRODUCER_WAITING : IPCKIT_CHANNEL_OFF_CONSUMER_WAITING;
  uint32_t *bell = ipckit__ch_word(ch, waiting + 4);
  for (;;) {
    uint32_t ring = __atomic_load_n(bell, __ATOMIC_SEQ_CST);
    ipckit__ch_store(ch, waiting, 1);
    if (ready(ch)) return 1;
    /* A closed peer says so in its role word; whether a pid lives takes a system call, made at
     * most every IPCKIT_CHANNEL_LIVENESS_MS (a sleep lasts at most that long). */
    uint32_t word = ipckit__ch_load(ch, ipckit__ch_peer_offset(ch));
    int peer = word == IPCKIT_CHANNEL_ROLE_CLOSED ? IPCKIT_PEER_CLOSED : IPCKIT_PEER_ATTACHED;
    if (word != IPCKIT_CHANNEL_ROLE_CLOSED && word != IPCKIT_CHANNEL_ROLE_NONE) {
      long long now = ipckit__ch_now_ns();
      if (word != ch->live_peer || now - ch->live_peer_ns >= (long long)IPCKIT_CHANNEL_LIVENESS_MS * 1000000LL) {
        peer = ipckit__ch_peer_state(word);
        ch->live_peer = peer == IPCKIT_PEER_ATTACHED ? word : 0;
        ch->live_peer_ns = now;
      }
    }
    if (peer == IPCKIT_PEER_CLOSED || peer == IPCKIT_PEER_GONE) return ready(ch) ? 1 : 0;
    long long slice = (long long)IPCKIT_CHANNEL_LIVENESS_MS * 1000000LL;
    if (deadline_ns >= 0) {
      long long left = deadline_ns - ipckit__ch_now_ns();
      if (left <= 0) return -ETIMEDOUT;
      if (left < slice) slice = left;
    }
    ipckit__ch_futex_wait(bell, ring, slice);
  }
}

static inline int ipckit__ch_has_room(ipckit_channel_t *ch) {
  uint32_t tail = ch->position;
  uint32_t offset = tail & ch->mask;
  uint32_t to_end = ch->capacity - offset;
  uint32_t need = ch->want;
  uint32_t total = need <= to_end ? need : to_end + need;
  ch->peer_cache = ipckit__ch_load(ch, IPCKIT_CHANNEL_OFF_HEAD);
  return ch->capacity - (tail - ch->peer_cache) >= total;
}

/* Sends one message, waiting for room up to timeout_ms (negative: no limit): 0 sent,
 * IPCKIT_CHANNEL_EMSGSIZE, IPCKIT_CHANNEL_ETIMEDOUT, or IPCKIT_CHANNEL_EPIPE when the consumer
 * closed or exited while the ring stayed full. */
IPCKIT_CHANNEL_API int ipckit_channel_send(ipckit_channel_t *ch, const void *data, uint32_t length, long long timeout_ms) {
  int rc = ipckit_channel_try_send(ch, data, length);
  if (rc != 0) return rc < 0 ? rc : 0;
  long long deadline = timeout_ms < 0 ? -1 : ipckit__ch_now_ns() + timeout_ms * 1000000LL;
  for (;;) {
    ch->want = IPCKIT_CHANNEL_RECORD_HEADER + ((length + 7u) & ~7u);
    rc = ipckit__ch_wait(ch, ipckit__ch_has_room, deadline);
    if (rc < 0) return rc;
    if (rc == 0) return -EPIPE;
    rc = ipckit_channel_try_send(ch, data, length);
    if (rc != 0) return rc < 0 ? rc : 0;
  }
}

/* ---- consumer ---- */

/* The next message's record without consuming it: its payload and length, or NULL when the ring
 * is empty (*length = 0) or corrupt (*length = UINT32_MAX). Padding is skipped (and released). */
IPCKIT_CHANNEL_API const void *ipckit_channel_peek(ipckit_channel_t *ch, uint32_t *length) {
  *length = 0;
  if (ch->role != IPCKIT_CHANNEL_CONSUMER) return NULL;
  unsigned char *ring = ch->base + IPCKIT_CHANNEL_HEADER_SIZE;
  for (;;) {
    uint32_t head = ch->position;
    if (head == ch->peer_cache) {
      ch->peer_cache = ipckit__ch_load(ch, IPCKIT_CHANNEL_OFF_TAIL);
      if (head == ch->peer_cache) return NULL;
    }
    uint32_t available = ch->peer_cache - head;
    uint32_t offset = head & ch->mask;
    uint32_t header[2];
    memcpy(header, ring + offset, sizeof header);
    uint32_t to_end = ch->capacity - offset;
    if (available > ch->capacity || (offset & 7u) != 0 || available < IPCKIT_CHANNEL_RECORD_HEADER) {
      *length = UINT32_MAX;
      return NULL;
    }
    if (header[1] == IPCKIT_CHANNEL_KIND_PADDING) {
      if (header[0] != to_end - IPCKIT_CHANNEL_RECORD_HEADER || available < to_end) {
        *length = UINT32_MAX;
        return NULL;
      }
      ch->position = head + to_end;
      ipckit__ch_store(ch, IPCKIT_CHANNEL_OFF_HEAD, ch->position);
      continue;
    }
    uint32_t need = IPCKIT_CHANNEL_RECORD_HEADER + ((header[0] + 7u) & ~7u);
    if (header[1] != IPCKIT_CHANNEL_KIND_MESSAGE || header[0] > ch->max_message || need > available || need > to_end) {
      *length = UINT32_MAX;
      return NULL;
    }
    ch->peeked = need;
    *length = header[0];
    return ring + offset + IPCKIT_CHANNEL_RECORD_HEADER;
  }
}

/* Consumes the record peek returned; its bytes may be overwritten from now on. */
IPCKIT_CHANNEL_API void ipckit_channel_release(ipckit_channel_t *ch) {
  if (ch->peeked == 0) return;
  ch->position += ch->peeked;
  ch->peeked = 0;
  ipckit__ch_store(ch, IPCKIT_CHANNEL_OFF_HEAD, ch->position);
  ipckit__ch_ring_peer(ch);
}

/* Receives one message into `out` if there is one: 1 received (*length set), 0 empty,
 * IPCKIT_CHANNEL_EMSGSIZE when `out` is smaller than the message (*length says how large; the
 * message stays), IPCKIT_CHANNEL_ECORRUPT. */
IPCKIT_CHANNEL_API int ipckit_channel_try_receive(ipckit_channel_t *ch, void *out, uint32_t out_size, uint32_t *length) {
  if (ch->role != IPCKIT_CHANNEL_CONSUMER) return -EINVAL;
  const void *payload = ipckit_channel_peek(ch, length);
  if (payload == NULL) return *length == UINT32_MAX ? -EBADMSG : 0;
  if (*length > out_size) {
    ch->peeked = 0;
    return -EMSGSIZE;
  }
  memcpy(out, payload, *length);
  ipckit_channel_release(ch);
  return 1;
}

static inline int ipckit__ch_has_data(ipckit_channel_t *ch) {
  ch->peer_cache = ipckit__ch_load(ch, IPCKIT_CHANNEL_OFF_TAIL);
  return ch->peer_cache != ch->position;
}

/* Receives one message, waiting up to timeout_ms (negative: no limit): 0 received, the results of
 * try_receive, IPCKIT_CHANNEL_ETIMEDOUT, or IPCKIT_CHANNEL_EPIPE once the producer closed or
 * exited and the ring is empty (every message it sent is received first). */
IPCKIT_CHANNEL_API int ipckit_channel_receive(ipckit_channel_t *ch, void *out, uint32_t out_size, uint32_t *length, long long timeout_ms) {
  long long deadline = timeout_ms < 0 ? -1 : ipckit__ch_now_ns() + timeout_ms * 1000000LL;
  for (;;) {
    int rc = ipckit_channel_try_receive(ch, out, out_size, length);
    if (rc != 0) return rc < 0 ? rc : 0;
    rc = ipckit__ch_wait(ch, ipckit__ch_has_data, deadline);
    if (rc < 0) return rc;
    if (rc == 0) return -EPIPE;
  }
}

/* ---- opening by name ---- */

/* Sets how long a waiting call busy-polls before it sleeps (microseconds; 0: sleep at once). */
IPCKIT_CHANNEL_API void ipckit_channel_set_spin(ipckit_channel_t *ch, unsigned spin_us) { ch->spin_us = spin_us; }

/* Creates a new channel object `name` ("/name", as shm_open takes) of at least `capacity` ring
 * bytes with permission bits `mode`, and attaches to it in `role`. Fails with -EEXIST if the name
 * is taken. */
IPCKIT_CHANNEL_API int ipckit_channel_create(ipckit_channel_t *ch, const char *name, uint64_t capacity, unsigned mode, int role) {
  uint32_t cap = ipckit_channel_capacity_for(capacity);
  if (cap == 0) return -EINVAL;
  size_t size = (size_t)IPCKIT_CHANNEL_HEADER_SIZE + cap;
  int fd = shm_open(name, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, (mode_t)mode);
  if (fd < 0) return -errno;
  fchmod(fd, (mode_t)mode);
  int rc = posix_fallocate(fd, 0, (off_t)size);
  if (rc != 0) {
    shm_unlink(name);
    close(fd);
    return -rc;
  }
  void *mem = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  if (mem == MAP_FAILED) {
    rc = -errno;
    shm_unlink(name);
    close(fd);
    return rc;
  }
  ipckit_channel_init(mem, size, cap);
  rc = ipckit_channel_attach(ch, mem, size, role);
  if (rc != 0) {
    munmap(mem, size);
    close(fd);
    return rc;
  }
  ch->fd = fd;
  return 0;
}

/* Opens the channel object `name` and attaches to it in `role`: 0, -ENOENT, IPCKIT_CHANNEL_EINVAL
 * (not a channel), IPCKIT_CHANNEL_EVERSION, IPCKIT_CHANNEL_EBUSY. */
IPCKIT_CHANNEL_API int ipckit_channel_open(ipckit_channel_t *ch, const char *name, int role) {
  int fd = shm_open(name, O_RDWR | O_CLOEXEC, 0);
  if (fd < 0) return -errno;
  struct stat st;
  if (fstat(fd, &st) != 0 || st.st_size < (off_t)IPCKIT_CHANNEL_HEADER_SIZE) {
    close(fd);
    return -EINVAL;
  }
  size_t size = (size_t)st.st_size;
  void *mem = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  if (mem == MAP_FAILED) {
    int rc = -errno;
    close(fd);
    return rc;
  }
  int rc = ipckit_channel_attach(ch, mem, size, role);
  if (rc != 0) {
    munmap(mem, size);
    close(fd);
    return rc;
  }
  ch->fd = fd;
  return 0;
}

/* Detaches (see ipckit_channel_detach) and unmaps; closes the descriptor. */
IPCKIT_CHANNEL_API void ipckit_channel_close(ipckit_channel_t *ch) {
  ipckit_channel_detach(ch);
  if (ch->base != NULL) munmap(ch->base, ch->size);
  if (ch->fd >= 0) close(ch->fd);
  ch->base = NULL;
  ch->fd = -1;
}

/* The largest payload this channel carries. */
IPCKIT_CHANNEL_API uint32_t ipckit_channel_max_message(const ipckit_channel_t *ch) { return ch->max_message; }

#ifdef __cplusplus
}
#endif

#endif /* IPCKIT_CHANNEL_H */
