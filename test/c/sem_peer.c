/* Named semaphore peer for the semaphore tests.
 *   sem_peer post NAME [COUNT]            sem_post COUNT times (default 1)
 *   sem_peer wait NAME                    print "waiting", sem_wait, print "woke"
 *   sem_peer counter NAME SHM ITER        ITER times: sem_wait, increment the u32 at offset 0 of
 *                                         shared memory object SHM, sem_post (the semaphore is the lock);
 *                                         also counts the times the lock was held elsewhere
 *   sem_peer timedwait-realtime NAME MS   sem_timedwait with a CLOCK_REALTIME deadline MS from now,
 *                                         as clock_gettime reports it (the LD_PRELOAD control) */
#include <errno.h>
#include <fcntl.h>
#include <semaphore.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

static int wait_retrying(sem_t *sem) {
  while (sem_wait(sem) != 0) {
    if (errno != EINTR) {
      perror("sem_wait");
      return 1;
    }
  }
  return 0;
}

int main(int argc, char **argv) {
  if (argc < 3) {
    fprintf(stderr, "usage\n");
    return 2;
  }
  const char *command = argv[1];
  sem_t *sem = sem_open(argv[2], 0);
  if (sem == SEM_FAILED) {
    perror("sem_open");
    return 1;
  }
  if (strcmp(command, "post") == 0) {
    long count = argc > 3 ? strtol(argv[3], NULL, 10) : 1;
    for (long i = 0; i < count; i++) {
      if (sem_post(sem) != 0) {
        perror("sem_post");
        return 1;
      }
    }
    printf("posted %ld\n", count);
    return 0;
  }
  if (strcmp(command, "wait") == 0) {
    printf("waiting\n");
    fflush(stdout);
    if (wait_retrying(sem)) return 1;
    printf("woke\n");
    return 0;
  }
  if (strcmp(command, "counter") == 0 && argc > 4) {
    long iterations = strtol(argv[4], NULL, 10);
    int fd = shm_open(argv[3], O_RDWR, 0);
    if (fd < 0) {
      perror("shm_open");
      return 1;
    }
    volatile uint32_t *counter = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    if (counter == MAP_FAILED) {
      perror("mmap");
      return 1;
    }
    close(fd);
    long contended = 0;
    for (long i = 0; i < iterations; i++) {
      int value;
      if (sem_getvalue(sem, &value) == 0 && value == 0) contended++;
      if (wait_retrying(sem)) return 1;
      /* A plain read-modify-write: only the lock keeps increments from being lost. */
      uint32_t seen = *counter;
      *counter = seen + 1;
      if (sem_post(sem) != 0) {
        perror("sem_post");
        return 1;
      }
    }
    printf("counted %ld contended %ld\n", iterations, contended);
    return 0;
  }
  if (strcmp(command, "timedwait-realtime") == 0 && argc > 3) {
    long ms = strtol(argv[3], NULL, 10);
    struct timespec deadline;
    clock_gettime(CLOCK_REALTIME, &deadline);
    deadline.tv_sec += ms / 1000;
    deadline.tv_nsec += (ms % 1000) * 1000000L;
    if (deadline.tv_nsec >= 1000000000L) {
      deadline.tv_sec++;
      deadline.tv_nsec -= 1000000000L;
    }
    while (sem_timedwait(sem, &deadline) != 0) {
      if (errno == EINTR) continue;
      if (errno == ETIMEDOUT) {
        printf("timed out\n");
        return 0;
      }
      perror("sem_timedwait");
      return 1;
    }
    printf("took\n");
    return 0;
  }
  fprintf(stderr, "usage\n");
  return 2;
}
