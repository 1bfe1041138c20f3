/* System V semaphore peer for the semaphore tests.
 *   sysv_sem_peer count KEY SHMNAME N   N times: take semaphore 0 (-1, SEM_UNDO), increment the
 *                                       int32 at offset 0 of SHMNAME non-atomically, give it back
 *   sysv_sem_peer wait KEY INDEX        wait for semaphore INDEX (-1), then print "woke"
 *   sysv_sem_peer post KEY INDEX        add 1 to semaphore INDEX, then print "posted" */
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ipc.h>
#include <sys/mman.h>
#include <sys/sem.h>
#include <unistd.h>

static int op(int id, unsigned short index, short delta, short flags) {
  struct sembuf b = {index, delta, flags};
  while (semop(id, &b, 1) != 0) {
    if (errno != EINTR) {
      perror("semop");
      return -1;
    }
  }
  return 0;
}

int main(int argc, char **argv) {
  if (argc < 4) {
    fprintf(stderr, "usage\n");
    return 2;
  }
  key_t key = (key_t)strtol(argv[2], NULL, 10);
  int id = semget(key, 0, 0);
  if (id < 0) {
    perror("semget");
    return 1;
  }
  if (strcmp(argv[1], "count") == 0 && argc == 5) {
    int fd = shm_open(argv[3], O_RDWR, 0);
    if (fd < 0) {
      perror("shm_open");
      return 1;
    }
    volatile int32_t *counter = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    if (counter == MAP_FAILED) {
      perror("mmap");
      return 1;
    }
    close(fd);
    long n = strtol(argv[4], NULL, 10);
    for (long i = 0; i < n; i++) {
      if (op(id, 0, -1, SEM_UNDO)) return 1;
      int32_t value = *counter;
      /* Widen the window a broken lock would let another writer into. */
      if ((i & 63) == 0) sched_yield();
      *counter = value + 1;
      if (op(id, 0, 1, SEM_UNDO)) return 1;
    }
    printf("counted %ld\n", n);
    return 0;
  }
  unsigned short index = (unsigned short)strtoul(argv[3], NULL, 10);
  if (strcmp(argv[1], "wait") == 0) {
    if (op(id, index, -1, 0)) return 1;
    printf("woke\n");
    return 0;
  }
  if (strcmp(argv[1], "post") == 0) {
    if (op(id, index, 1, 0)) return 1;
    printf("posted\n");
    return 0;
  }
  return 2;
}
