/* The C side of the System V shared memory tests: shmget/shmat on a key, with a System V
 * semaphore beside the segment for the counting test.
 *   sysv_shm_peer create KEY SIZE SEED        create exclusively (0600), fill with the pattern,
 *                                             print "created ID", leave it in place
 *   sysv_shm_peer check  KEY SIZE SEED        attach read-only; shm_segsz must be SIZE, bytes
 *                                             the pattern; print "checked ID NATTCH"
 *   sysv_shm_peer fill   KEY SEED             attach read-write, fill it all with the pattern
 *   sysv_shm_peer count  KEY SEMKEY N         N times: take the semaphore, add 1 to the uint32
 *                                             at byte 0, give it back; print "counted N"
 *   sysv_shm_peer hold   KEY                  attach, print "attached", stay until killed
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ipc.h>
#include <sys/sem.h>
#include <sys/shm.h>
#include <unistd.h>

static unsigned char pattern(size_t i, unsigned seed) { return (unsigned char)((i * 131u + seed * 7u + (i >> 8)) & 0xffu); }

static int attach(key_t key, int flags, void **address, struct shmid_ds *ds) {
  int id = shmget(key, 0, (flags & SHM_RDONLY) ? 0400 : 0600);
  if (id < 0) {
    perror("shmget");
    return -1;
  }
  if (shmctl(id, IPC_STAT, ds) != 0) {
    perror("shmctl");
    return -1;
  }
  *address = shmat(id, NULL, flags);
  if (*address == (void *)-1) {
    perror("shmat");
    return -1;
  }
  return id;
}

static int semaphore(int set, int delta) {
  struct sembuf op = {0, (short)delta, SEM_UNDO};
  while (semop(set, &op, 1) != 0) {
    if (errno != EINTR) {
      perror("semop");
      return -1;
    }
  }
  return 0;
}

int main(int argc, char **argv) {
  if (argc < 3) {
    fprintf(stderr, "usage: %s create|check|fill|count|hold KEY ...\n", argv[0]);
    return 2;
  }
  const char *command = argv[1];
  key_t key = (key_t)strtol(argv[2], NULL, 0);
  struct shmid_ds ds;
  void *address;
  if (strcmp(command, "create") == 0 && argc == 5) {
    size_t size = strtoull(argv[3], NULL, 10);
    unsigned seed = (unsigned)strtoul(argv[4], NULL, 10);
    int id = shmget(key, size, IPC_CREAT | IPC_EXCL | 0600);
    if (id < 0) {
      perror("shmget");
      return 1;
    }
    unsigned char *p = shmat(id, NULL, 0);
    if (p == (void *)-1) {
      perror("shmat");
      return 1;
    }
    for (size_t i = 0; i < size; i++) p[i] = pattern(i, seed);
    shmdt(p);
    printf("created %d\n", id);
    return 0;
  }
  if (strcmp(command, "check") == 0 && argc == 5) {
    size_t size = strtoull(argv[3], NULL, 10);
    unsigned seed = (unsigned)strtoul(argv[4], NULL, 10);
    int id = attach(key, SHM_RDONLY, &address, &ds);
    if (id < 0) return 1;
    if ((size_t)ds.shm_segsz != size) {
      printf("size mismatch: %zu != %zu\n", (size_t)ds.shm_segsz, size);
      return 1;
    }
    const unsigned char *p = address;
    for (size_t i = 0; i < size; i++) {
      if (p[i] != pattern(i, seed)) {
        printf("content mismatch at %zu\n", i);
        return 1;
      }
    }
    shmctl(id, IPC_STAT, &ds);
    printf("checked %d %lu\n", id, (unsigned long)ds.shm_nattch);
    shmdt(address);
    return 0;
  }
  if (strcmp(command, "fill") == 0 && argc == 4) {
    unsigned seed = (unsigned)strtoul(argv[3], NULL, 10);
    int id = attach(key, 0, &address, &ds);
    if (id < 0) return 1;
    unsigned char *p = address;
    for (size_t i = 0; i < (size_t)ds.shm_segsz; i++) p[i] = pattern(i, seed);
    shmdt(address);
    printf("filled %zu\n", (size_t)ds.shm_segsz);
    return 0;
  }
  if (strcmp(command, "count") == 0 && argc == 5) {
    int set = semget((key_t)strtol(argv[3], NULL, 0), 1, 0600);
    if (set < 0) {
      perror("semget");
      return 1;
    }
    long n = strtol(argv[4], NULL, 10);
    if (attach(key, 0, &address, &ds) < 0) return 1;
    volatile uint32_t *counter = address;
    for (long i = 0; i < n; i++) {
      if (semaphore(set, -1) != 0) return 1;
      /* Read, then write: without the semaphore, concurrent increments would be lost. */
      uint32_t value = *counter;
      *counter = value + 1;
      if (semaphore(set, 1) != 0) return 1;
    }
    shmdt(address);
    printf("counted %ld\n", n);
    return 0;
  }
  if (strcmp(command, "hold") == 0 && argc == 3) {
    if (attach(key, 0, &address, &ds) < 0) return 1;
    printf("attached\n");
    fflush(stdout);
    for (;;) pause();
  }
  fprintf(stderr, "bad arguments\n");
  return 2;
}
