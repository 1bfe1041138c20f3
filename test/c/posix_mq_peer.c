/* POSIX queue peer for the interop tests.
 *   posix_mq_peer send NAME COUNT MAXBODY PRODUCER   send COUNT messages (priority 0, waiting for room)
 *   posix_mq_peer recv NAME COUNT                    receive COUNT messages, check each, and per-producer order */
#include <errno.h>
#include <fcntl.h>
#include <mqueue.h>
#include <stdlib.h>

#include "mq_common.h"

int main(int argc, char **argv) {
  if (argc < 4) {
    fprintf(stderr, "usage\n");
    return 2;
  }
  const char *name = argv[2];
  uint32_t count = (uint32_t)strtoul(argv[3], NULL, 10);
  mqd_t q = mq_open(name, O_RDWR);
  if (q == (mqd_t)-1) {
    perror("mq_open");
    return 1;
  }
  struct mq_attr attr;
  mq_getattr(q, &attr);
  unsigned char *buf = malloc((size_t)attr.mq_msgsize + MQ_HEADER);
  if (strcmp(argv[1], "send") == 0) {
    uint32_t max_body = (uint32_t)strtoul(argv[4], NULL, 10);
    uint32_t producer = (uint32_t)strtoul(argv[5], NULL, 10);
    for (uint32_t seq = 0; seq < count; seq++) {
      size_t len = make_message(buf, producer, seq, max_body);
      while (mq_send(q, (const char *)buf, len, 0) != 0) {
        if (errno != EINTR) {
          perror("mq_send");
          return 1;
        }
      }
    }
    printf("sent %u\n", count);
    return 0;
  }
  if (strcmp(argv[1], "recv") == 0) {
    uint32_t next[64] = {0};
    for (uint32_t i = 0; i < count; i++) {
      unsigned prio;
      ssize_t n = mq_receive(q, (char *)buf, (size_t)attr.mq_msgsize, &prio);
      if (n < 0) {
        if (errno == EINTR) {
          i--;
          continue;
        }
        perror("mq_receive");
        return 1;
      }
      uint32_t producer, seq;
      if (check_message(buf, (size_t)n, &producer, &seq)) return 1;
      if (producer >= 64 || seq != next[producer]) {
        printf("order: producer %u seq %u\n", producer, seq);
        return 1;
      }
      next[producer]++;
    }
    printf("received %u\n", count);
    return 0;
  }
  return 2;
}
