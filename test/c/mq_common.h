/* The message format every queue peer (Node, C, Python) writes and checks:
 *   u32 producer, u32 seq, u32 body length, u32 FNV-1a of the body (little-endian), then the body,
 *   whose byte i is (seq * 7 + producer * 13 + i) & 0xff.
 * Body length: maxBody for seq 0 (so the largest message always crosses), else (seq*37) % (maxBody+1). */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#define MQ_HEADER 16

static uint32_t fnv1a(const unsigned char *p, size_t n) {
  uint32_t h = 2166136261u;
  for (size_t i = 0; i < n; i++) {
    h ^= p[i];
    h *= 16777619u;
  }
  return h;
}

static void put32(unsigned char *p, uint32_t v) {
  p[0] = v;
  p[1] = v >> 8;
  p[2] = v >> 16;
  p[3] = v >> 24;
}
static uint32_t get32(const unsigned char *p) { return p[0] | (p[1] << 8) | (p[2] << 16) | ((uint32_t)p[3] << 24); }

static size_t body_length(uint32_t seq, uint32_t max_body) { return seq == 0 ? max_body : (seq * 37u) % (max_body + 1u); }

/* Writes message `seq` of `producer` into out; returns its total length. */
static size_t make_message(unsigned char *out, uint32_t producer, uint32_t seq, uint32_t max_body) {
  size_t n = body_length(seq, max_body);
  for (size_t i = 0; i < n; i++) out[MQ_HEADER + i] = (unsigned char)((seq * 7u + producer * 13u + i) & 0xffu);
  put32(out, producer);
  put32(out + 4, seq);
  put32(out + 8, (uint32_t)n);
  put32(out + 12, fnv1a(out + MQ_HEADER, n));
  return MQ_HEADER + n;
}

/* Checks a received message; returns 0 if intact, else prints why. */
static int check_message(const unsigned char *m, size_t len, uint32_t *producer, uint32_t *seq) {
  if (len < MQ_HEADER) {
    printf("short message (%zu bytes)\n", len);
    return 1;
  }
  *producer = get32(m);
  *seq = get32(m + 4);
  uint32_t n = get32(m + 8);
  if (n + MQ_HEADER != len) {
    printf("length mismatch: header %u, got %zu\n", n, len - MQ_HEADER);
    return 1;
  }
  if (fnv1a(m + MQ_HEADER, n) != get32(m + 12)) {
    printf("checksum mismatch at producer %u seq %u\n", *producer, *seq);
    return 1;
  }
  for (uint32_t i = 0; i < n; i++) {
    if (m[MQ_HEADER + i] != (unsigned char)((*seq * 7u + *producer * 13u + i) & 0xffu)) {
      printf("body mismatch at %u\n", i);
      return 1;
    }
  }
  return 0;
}
