/* The C side of the channel interop tests, on the public header ipckit/channel.h. The message
 * format is test/fixtures/channel-format.js's (sequence number, bytes from (seq, index), FNV-1a
 * trailer). Every mode prints "ready" once it holds its role.
 *   channel_peer send NAME COUNT SEED MAXSIZE [START]  open as producer, send COUNT messages
 *        (sizes up to MAXSIZE; 0 or too large: max_message), close; prints {"sent","checksum","bytes"}
 *   channel_peer receive NAME [START]                  open as consumer, verify every message until
 *        -EPIPE; prints {"count","checksum","bytes","errors","peer"}; exit 1 on any mismatch
 *   channel_peer create-receive NAME CAPACITY          create the channel as consumer, then as receive
 *   channel_peer echo NAME_IN NAME_OUT                 consume NAME_IN, send each message on NAME_OUT
 *   channel_peer send-forever NAME SEED MAXSIZE [START] send until killed (or the consumer goes: exit 3)
 *   channel_peer hold NAME producer|consumer           take the role and wait: SIGTERM closes the channel
 *        (prints "closed", exit 0), SIGKILL is a crash; if refused print {"error": rc} and exit 1
 *   channel_peer peek-hold NAME N                      open as consumer, receive N messages, peek the
 *        next one (never released), print "held SEQ", wait to be killed
 *   channel_peer too-large NAME                        open as producer; try_send and send of
 *        max_message + 1 bytes; print both results, then close */
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ipckit/channel.h"

#define FNV_OFFSET 0x811c9dc5u
#define FNV_PRIME 0x01000193u

static uint32_t mix(uint32_t seq) {
  uint32_t k = seq * 0x9e3779b1u;
  return k ^ (k >> 16);
}

typedef struct {
  uint32_t x, max;
} sizes_t;

static void sizes_init(sizes_t *s, uint32_t seed, uint32_t max) {
  s->x = (seed * 0x9e3779b1u) ^ 0x2545f491u;
  if (s->x == 0) s->x = 1;
  s->max = max;
}

static uint32_t sizes_next(sizes_t *s) {
  uint32_t x = s->x;
  x ^= x << 13;
  x ^= x >> 17;
  x ^= x << 5;
  s->x = x;
  return (x & 15u) == 0 ? s->max : (x >> 4) % (s->max + 1);
}

static inline unsigned char byte_at(uint32_t k, uint32_t i) { return (unsigned char)(((k >> (8 * (i & 3))) + (i >> 2) * 29u) & 0xffu); }

/* Fills message `seq` of `size` bytes; returns its checksum c. */
static uint32_t fill(unsigned char *out, uint32_t seq, uint32_t size) {
  uint32_t k = mix(seq), h = FNV_OFFSET;
  if (size < 8) {
    for (uint32_t i = 0; i < size; i++) {
      out[i] = byte_at(k, i);
      h = (h ^ out[i]) * FNV_PRIME;
    }
    return h;
  }
  memcpy(out, &seq, 4);
  for (uint32_t i = 0; i < 4; i++) h = (h ^ out[i]) * FNV_PRIME;
  for (uint32_t i = 4; i < size - 4; i++) {
    out[i] = byte_at(k, i);
    h = (h ^ out[i]) * FNV_PRIME;
  }
  memcpy(out + size - 4, &h, 4);
  return h;
}

static const char *peer_name(int peer) {
  switch (peer) {
    case IPCKIT_PEER_NONE: return "none";
    case IPCKIT_PEER_ATTACHED: return "attached";
    case IPCKIT_PEER_CLOSED: return "closed";
    default: return "gone";
  }
}

static volatile sig_atomic_t terminated = 0;

static void on_term(int sig) {
  (void)sig;
  terminated = 1;
}

static void ready(void) {
  printf("ready\n");
  fflush(stdout);
}

static int open_as(ipckit_channel_t *ch, const char *name, const char *role_name) {
  int role = strcmp(role_name, "producer") == 0 ? IPCKIT_CHANNEL_PRODUCER : IPCKIT_CHANNEL_CONSUMER;
  int rc = ipckit_channel_open(ch, name, role);
  if (rc != 0) {
    printf("{\"error\":%d}\n", rc);
    fflush(stdout);
    exit(1);
  }
  return 0;
}

static uint32_t clamp_max(const ipckit_channel_t *ch, long requested) {
  uint32_t max = ipckit_channel_max_message(ch);
  return requested <= 0 || (unsigned long)requested > max ? max : (uint32_t)requested;
}

static int do_send(const char *name, unsigned long count, uint32_t seed, long max_size, uint32_t start, int forever) {
  ipckit_channel_t ch;
  open_as(&ch, name, "producer");
  ready();
  sizes_t sizes;
  sizes_init(&sizes, seed, clamp_max(&ch, max_size));
  unsigned char *buf = malloc(ipckit_channel_max_message(&ch) + 1);
  uint32_t total = FNV_OFFSET, seq = start;
  unsigned long long bytes = 0, sent = 0;
  while (forever || sent < count) {
    uint32_t size = sizes_next(&sizes);
    uint32_t c = fill(buf, seq, size);
    int rc = ipckit_channel_send(&ch, buf, size, -1);
    if (rc != 0) {
      printf("{\"error\":%d,\"sent\":%llu}\n", rc, sent);
      fflush(stdout);
      return forever && rc == -EPIPE ? 3 : 1;
    }
    seq++;
    sent++;
    total = ((total ^ c) * FNV_PRIME) + size;
    bytes += size;
  }
  ipckit_channel_close(&ch);
  printf("{\"sent\":%llu,\"checksum\":%u,\"bytes\":%llu}\n", sent, total, bytes);
  free(buf);
  return 0;
}

static int receive_loop(ipckit_channel_t *ch, uint32_t start) {
  uint32_t cap = ipckit_channel_max_message(ch);
  unsigned char *buf = malloc(cap);
  uint32_t total = FNV_OFFSET, seq = start, length = 0;
  unsigned long long bytes = 0, count = 0, errors = 0;
  char first[200] = "";
  int rc;
  while ((rc = ipckit_channel_receive(ch, buf, cap, &length, -1)) == 0) {
    const char *problem = NULL;
    if (length >= 8) {
      uint32_t got;
      memcpy(&got, buf, 4);
      if (got != seq) {
        problem = "sequence";
        seq = got;
      }
    }
    uint32_t k = mix(seq), h = FNV_OFFSET;
    uint32_t from = length >= 8 ? 4 : 0, end = length >= 8 ? length - 4 : length;
    for (uint32_t i = 0; i < from; i++) h = (h ^ buf[i]) * FNV_PRIME;
    int bad = 0;
    for (uint32_t i = from; i < end; i++) {
      bad |= buf[i] != byte_at(k, i);
      h = (h ^ buf[i]) * FNV_PRIME;
    }
    if (problem == NULL && bad) problem = "bytes";
    if (problem == NULL && length >= 8) {
      uint32_t trailer;
      memcpy(&trailer, buf + end, 4);
      if (trailer != h) problem = "checksum";
    }
    if (problem != NULL) {
      if (errors == 0) snprintf(first, sizeof first, "message %llu (seq %u, %u bytes): %s", count, seq, length, problem);
      errors++;
    }
    seq++;
    count++;
    total = ((total ^ h) * FNV_PRIME) + length;
    bytes += length;
  }
  const char *peer = rc == -EPIPE ? peer_name(ipckit_channel_peer(ch)) : "error";
  printf("{\"count\":%llu,\"checksum\":%u,\"bytes\":%llu,\"errors\":%llu,\"firstError\":\"%s\",\"peer\":\"%s\",\"rc\":%d,\"next\":%u}\n",
      count, total, bytes, errors, first, peer, rc, seq);
  ipckit_channel_close(ch);
  free(buf);
  return errors == 0 && rc == -EPIPE ? 0 : 1;
}

static int do_echo(const char *in_name, const char *out_name) {
  ipckit_channel_t in, out;
  open_as(&in, in_name, "consumer");
  open_as(&out, out_name, "producer");
  ready();
  uint32_t cap = ipckit_channel_max_message(&in), length = 0;
  unsigned char *buf = malloc(cap);
  unsigned long long count = 0;
  int rc;
  while ((rc = ipckit_channel_receive(&in, buf, cap, &length, -1)) == 0) {
    int sent = ipckit_channel_send(&out, buf, length, -1);
    if (sent != 0) {
      printf("{\"error\":%d,\"echoed\":%llu}\n", sent, count);
      return 1;
    }
    count++;
  }
  ipckit_channel_close(&out);
  ipckit_channel_close(&in);
  printf("{\"echoed\":%llu,\"rc\":%d}\n", count, rc);
  free(buf);
  return rc == -EPIPE ? 0 : 1;
}

int main(int argc, char **argv) {
  if (argc < 3) {
    fprintf(stderr, "usage: %s MODE NAME ...\n", argv[0]);
    return 2;
  }
  const char *mode = argv[1], *name = argv[2];
  if (strcmp(mode, "send") == 0 && argc >= 6)
    return do_send(name, strtoul(argv[3], NULL, 10), (uint32_t)strtoul(argv[4], NULL, 10), strtol(argv[5], NULL, 10),
        argc > 6 ? (uint32_t)strtoul(argv[6], NULL, 10) : 0, 0);
  if (strcmp(mode, "send-forever") == 0 && argc >= 5)
    return do_send(
        name, 0, (uint32_t)strtoul(argv[3], NULL, 10), strtol(argv[4], NULL, 10), argc > 5 ? (uint32_t)strtoul(argv[5], NULL, 10) : 0, 1);
  if (strcmp(mode, "receive") == 0) {
    ipckit_channel_t ch;
    open_as(&ch, name, "consumer");
    ready();
    return receive_loop(&ch, argc > 3 ? (uint32_t)strtoul(argv[3], NULL, 10) : 0);
  }
  if (strcmp(mode, "create-receive") == 0 && argc >= 4) {
    ipckit_channel_t ch;
    int rc = ipckit_channel_create(&ch, name, strtoull(argv[3], NULL, 10), 0600, IPCKIT_CHANNEL_CONSUMER);
    if (rc != 0) {
      printf("{\"error\":%d}\n", rc);
      return 1;
    }
    ready();
    return receive_loop(&ch, 0);
  }
  if (strcmp(mode, "echo") == 0 && argc >= 4) return do_echo(name, argv[3]);
  if (strcmp(mode, "hold") == 0 && argc >= 4) {
    ipckit_channel_t ch;
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_term;
    sigaction(SIGTERM, &sa, NULL);
    /* SIGTERM stays blocked except inside sigsuspend, so one that comes between the test of
     * `terminated` and the sleep is not lost (a pause() loop would sleep through it). */
    sigset_t term, unblocked;
    sigemptyset(&term);
    sigaddset(&term, SIGTERM);
    sigprocmask(SIG_BLOCK, &term, &unblocked);
    sigdelset(&unblocked, SIGTERM);
    open_as(&ch, name, argv[3]);
    ready();
    while (!terminated) sigsuspend(&unblocked);
    ipckit_channel_close(&ch);
    printf("closed\n");
    return 0;
  }
  if (strcmp(mode, "peek-hold") == 0 && argc >= 4) {
    ipckit_channel_t ch;
    open_as(&ch, name, "consumer");
    ready();
    uint32_t cap = ipckit_channel_max_message(&ch), length = 0;
    unsigned char *buf = malloc(cap);
    for (unsigned long n = strtoul(argv[3], NULL, 10); n > 0; n--) {
      int rc = ipckit_channel_receive(&ch, buf, cap, &length, -1);
      if (rc != 0) return 1;
    }
    const unsigned char *view = NULL;
    while ((view = ipckit_channel_peek(&ch, &length)) == NULL) {
      if (length == UINT32_MAX) return 1;
      usleep(1000);
    }
    uint32_t seq = 0;
    if (length >= 8) memcpy(&seq, view, 4);
    printf("held %d\n", length >= 8 ? (int)seq : -1);
    fflush(stdout);
    for (;;) pause();
  }
  if (strcmp(mode, "too-large") == 0) {
    ipckit_channel_t ch;
    open_as(&ch, name, "producer");
    uint32_t size = ipckit_channel_max_message(&ch) + 1;
    unsigned char *buf = calloc(size, 1);
    int a = ipckit_channel_try_send(&ch, buf, size);
    int b = ipckit_channel_send(&ch, buf, size, 0);
    printf("{\"trySend\":%d,\"send\":%d}\n", a, b);
    ipckit_channel_close(&ch);
    free(buf);
    return 0;
  }
  fprintf(stderr, "unknown mode or missing arguments: %s\n", mode);
  return 2;
}
