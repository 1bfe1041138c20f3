/* A C program that makes one IPC object of each kind and holds them, for ipckit's introspection
 * tests (list(), stat() holders, the ipckit command) to find, as a crashed program would leave them.
 *
 *   introspect_peer hold NAME KEY   creates POSIX shared memory NAME (8192 bytes, 0640, open and
 *                                   mapped), POSIX semaphore NAME (value 3, 0600, open), System V
 *                                   shared memory KEY (4096 bytes, 0644, attached), a System V
 *                                   semaphore set KEY (2 semaphores, 0600; the first set to 5 by
 *                                   semop) and a System V queue KEY+1 (0666, one 100-byte message);
 *                                   prints "ready SHMFD SHMID SEMID MSQID" and sleeps until killed
 *   introspect_peer gone NAME KEY   exits 0 if none of those objects exists any more, else prints
 *                                   the first that does and exits 1
 */
#include <errno.h>
#include <fcntl.h>
#include <semaphore.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ipc.h>
#include <sys/mman.h>
#include <sys/msg.h>
#include <sys/sem.h>
#include <sys/shm.h>
#include <sys/stat.h>
#include <unistd.h>

static int fail(const char *what) {
  printf("%s: %s\n", what, strerror(errno));
  return 2;
}

static int hold(const char *name, key_t key) {
  umask(0);
  int fd = shm_open(name, O_CREAT | O_EXCL | O_RDWR, 0640);
  if (fd < 0) return fail("shm_open");
  if (ftruncate(fd, 8192) != 0) return fail("ftruncate");
  char *map = mmap(NULL, 8192, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  if (map == MAP_FAILED) return fail("mmap");
  memset(map, 0x5a, 8192);
  sem_t *sem = sem_open(name, O_CREAT | O_EXCL, 0600, 3);
  if (sem == SEM_FAILED) return fail("sem_open");
  int shmid = shmget(key, 4096, IPC_CREAT | IPC_EXCL | 0644);
  if (shmid < 0) return fail("shmget");
  if (shmat(shmid, NULL, 0) == (void *)-1) return fail("shmat");
  int semid = semget(key, 2, IPC_CREAT | IPC_EXCL | 0600);
  if (semid < 0) return fail("semget");
  struct sembuf up = {0, 5, 0};
  if (semop(semid, &up, 1) != 0) return fail("semop");
  int msqid = msgget(key + 1, IPC_CREAT | IPC_EXCL | 0666);
  if (msqid < 0) return fail("msgget");
  struct {
    long mtype;
    char mtext[100];
  } message = {7, {0}};
  if (msgsnd(msqid, &message, sizeof message.mtext, 0) != 0) return fail("msgsnd");
  printf("ready %d %d %d %d\n", fd, shmid, semid, msqid);
  fflush(stdout);
  for (;;) pause();
}

static int gone(const char *name, key_t key) {
  int fd = shm_open(name, O_RDONLY, 0);
  if (fd >= 0 || errno != ENOENT) return printf("shared memory %s still exists\n", name), 1;
  sem_t *sem = sem_open(name, 0);
  if (sem != SEM_FAILED || errno != ENOENT) return printf("semaphore %s still exists\n", name), 1;
  if (shmget(key, 0, 0) >= 0 || errno != ENOENT) return printf("segment key %d still exists\n", (int)key), 1;
  if (semget(key, 0, 0) >= 0 || errno != ENOENT) return printf("semaphore set key %d still exists\n", (int)key), 1;
  if (msgget(key + 1, 0) >= 0 || errno != ENOENT) return printf("queue key %d still exists\n", (int)key + 1), 1;
  printf("gone\n");
  return 0;
}

int main(int argc, char **argv) {
  if (argc != 4) return fprintf(stderr, "usage: introspect_peer hold|gone NAME KEY\n"), 2;
  key_t key = (key_t)strtol(argv[3], NULL, 0);
  if (strcmp(argv[1], "hold") == 0) return hold(argv[2], key);
  if (strcmp(argv[1], "gone") == 0) return gone(argv[2], key);
  return 2;
}
