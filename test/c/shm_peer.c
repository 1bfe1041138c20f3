/* The C side of the shared-memory interop tests: creates or checks a POSIX shared memory object
 * filled with the pattern test/helpers.ts also computes.
 *   shm_peer create NAME SIZE SEED   create exclusively (0600), fill, leave it in place
 *   shm_peer check  NAME SIZE SEED   open read-only; fstat size must be SIZE, bytes the pattern
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

static unsigned char pattern(size_t i, unsigned seed) { return (unsigned char)((i * 131u + seed * 7u + (i >> 8)) & 0xffu); }

int main(int argc, char **argv) {
  if (argc != 5) {
    fprintf(stderr, "usage: %s create|check NAME SIZE SEED\n", argv[0]);
    return 2;
  }
  const char *name = argv[2];
  size_t size = strtoull(argv[3], NULL, 10);
  unsigned seed = (unsigned)strtoul(argv[4], NULL, 10);
  if (strcmp(argv[1], "create") == 0) {
    int fd = shm_open(name, O_RDWR | O_CREAT | O_EXCL, 0600);
    if (fd < 0) {
      perror("shm_open");
      return 1;
    }
    if (ftruncate(fd, (off_t)size) != 0) {
      perror("ftruncate");
      return 1;
    }
    unsigned char *p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    if (p == MAP_FAILED) {
      perror("mmap");
      return 1;
    }
    for (size_t i = 0; i < size; i++) p[i] = pattern(i, seed);
    munmap(p, size);
    close(fd);
    printf("created %s %zu\n", name, size);
    return 0;
  }
  if (strcmp(argv[1], "check") == 0) {
    int fd = shm_open(name, O_RDONLY, 0);
    if (fd < 0) {
      perror("shm_open");
      return 1;
    }
    struct stat st;
    if (fstat(fd, &st) != 0) {
      perror("fstat");
      return 1;
    }
    if ((size_t)st.st_size != size) {
      printf("size mismatch: %lld != %zu\n", (long long)st.st_size, size);
      return 1;
    }
    unsigned char *p = mmap(NULL, size, PROT_READ, MAP_SHARED, fd, 0);
    if (p == MAP_FAILED) {
      perror("mmap");
      return 1;
    }
    for (size_t i = 0; i < size; i++) {
      if (p[i] != pattern(i, seed)) {
        printf("byte %zu: %u != %u\n", i, p[i], pattern(i, seed));
        return 1;
      }
    }
    printf("checked %s %zu mode %o\n", name, size, (unsigned)(st.st_mode & 0777));
    return 0;
  }
  fprintf(stderr, "unknown command %s\n", argv[1]);
  return 2;
}
