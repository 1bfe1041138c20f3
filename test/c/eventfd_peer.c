/* The C side of the EventFd tests. The eventfd is inherited as descriptor 3 and is
 * non-blocking (the description ipckit made), so every read waits in poll() first.
 *   eventfd_peer pong N        N times: wait for the counter, read it (must be 1), write 1 back
 *                              on descriptor 4 (the reply eventfd); print "ponged N"
 *   eventfd_peer add N         write 1, N times; print "added N"
 *   eventfd_peer take N        semaphore mode: read N times, each read must return 1;
 *                              print "took N"
 */
#include <errno.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int wait_read(int fd, uint64_t *value) {
  for (;;) {
    if (read(fd, value, sizeof *value) == (ssize_t)sizeof *value) return 0;
    if (errno != EAGAIN && errno != EINTR) {
      perror("read");
      return -1;
    }
    struct pollfd p = {fd, POLLIN, 0};
    if (poll(&p, 1, 30000) <= 0) {
      fprintf(stderr, "poll: nothing came\n");
      return -1;
    }
  }
}

static int add(int fd, uint64_t value) {
  if (write(fd, &value, sizeof value) != (ssize_t)sizeof value) {
    perror("write");
    return -1;
  }
  return 0;
}

int main(int argc, char **argv) {
  if (argc != 3) return 2;
  long n = strtol(argv[2], NULL, 10);
  uint64_t value;
  if (strcmp(argv[1], "pong") == 0) {
    for (long i = 0; i < n; i++) {
      if (wait_read(3, &value) != 0) return 1;
      if (value != 1) {
        printf("round %ld read %llu\n", i, (unsigned long long)value);
        return 1;
      }
      if (add(4, 1) != 0) return 1;
    }
    printf("ponged %ld\n", n);
    return 0;
  }
  if (strcmp(argv[1], "add") == 0) {
    for (long i = 0; i < n; i++)
      if (add(3, 1) != 0) return 1;
    printf("added %ld\n", n);
    return 0;
  }
  if (strcmp(argv[1], "take") == 0) {
    for (long i = 0; i < n; i++) {
      if (wait_read(3, &value) != 0) return 1;
      if (value != 1) {
        printf("semaphore read %llu\n", (unsigned long long)value);
        return 1;
      }
    }
    printf("took %ld\n", n);
    return 0;
  }
  return 2;
}
