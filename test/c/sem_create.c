/* Creates a named semaphore the way a C program does, for the test that ipckit opens what glibc
 * made (and not only what ipckit made).
 *   sem_create NAME VALUE   sem_open(NAME, O_CREAT | O_EXCL, 0600, VALUE), then sem_close;
 *                           prints "created SIZE" with the size of the file glibc wrote */
#include <errno.h>
#include <fcntl.h>
#include <semaphore.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>

int main(int argc, char **argv) {
  if (argc != 3) {
    fprintf(stderr, "usage: sem_create NAME VALUE\n");
    return 2;
  }
  sem_t *sem = sem_open(argv[1], O_CREAT | O_EXCL, 0600, (unsigned)strtoul(argv[2], NULL, 10));
  if (sem == SEM_FAILED) {
    perror("sem_open");
    return 1;
  }
  char path[300];
  snprintf(path, sizeof path, "/dev/shm/sem.%s", argv[1] + 1);
  struct stat st;
  if (stat(path, &st) != 0) {
    perror("stat");
    return 1;
  }
  if (sem_close(sem) != 0) {
    perror("sem_close");
    return 1;
  }
  printf("created %lld\n", (long long)st.st_size);
  return 0;
}
