/* System V queue peer for the interop tests.
 *   sysv_mq_peer send KEY COUNT MAXBODY PRODUCER   send COUNT messages of type PRODUCER+1 (waiting for room)
 *   sysv_mq_peer recv KEY COUNT                    receive COUNT messages, check each, and per-producer order */
#include <errno.h>
#include <stdlib.h>
#include <sys/ipc.h>
#include <sys/msg.h>

#include "mq_common.h"

struct message {
  long type;
  unsigned char text[65536];
};

int main(int argc, char **argv) {
  if (argc < 4) {
    fprintf(stderr, "usage\n");
    return 2;
  }
  key_t key = (key_t)strtol(argv[2], NULL, 10);
  uint32_t count = (uint32_t)strtoul(argv[3], NULL, 10);
  int id = msgget(key, 0);
  if (id < 0) {
    perror("msgget");
    return 1;
  }
  static struct message m;
  if (strcmp(argv[1], "send") == 0) {
    uint32_t max_body = (uint32_t)strtoul(argv[4], NULL, 10);
    uint32_t producer = (uint32_t)strtoul(argv[5], NULL, 10);
    for (uint32_t seq = 0; seq < count; seq++) {
      size_t len = make_message(m.text, producer, seq, max_body);
      m.type = producer + 1;
      while (msgsnd(id, &m, len, 0) != 0) {
        if (errno != EINTR) {
          perror("msgsnd");
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
      ssize_t n = msgrcv(id, &m, sizeof m.text, 0, 0);
      if (n < 0) {
        if (errno == EINTR) {
          i--;
          continue;
        }
        perror("msgrcv");
        return 1;
      }
      uint32_t producer, seq;
      if (check_message(m.text, (size_t)n, &producer, &seq)) return 1;
      if (m.type != (long)producer + 1) {
        printf("type %ld for producer %u\n", m.type, producer);
        return 1;
      }
      if (producer >= 64 || seq != next[producer]) {
        printf("order: producer %u seq %u expected %u\n", producer, seq, producer < 64 ? next[producer] : 0);
        return 1;
      }
      next[producer]++;
    }
    printf("received %u\n", count);
    return 0;
  }
  return 2;
}
