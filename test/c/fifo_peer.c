/* The C side of the FIFO interop tests, with plain blocking open(2), read(2) and write(2), as any C
 * program would use a FIFO made by ipckit.
 *   fifo_peer write PATH SIZE SEED   open for writing (waits for a reader), write SIZE bytes of the
 *                                    pattern in uneven pieces, close; prints "wrote SIZE"
 *   fifo_peer read  PATH SIZE SEED   open for reading (waits for a writer), read to end of file;
 *                                    prints "read N ok" when the N bytes are the pattern of SIZE
 *                                    bytes, else where they first differ
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static unsigned char pattern(size_t i, unsigned seed) { return (unsigned char)((i * 131u + seed * 7u + (i >> 8)) & 0xffu); }

int main(int argc, char **argv) {
  if (argc != 5) {
    fprintf(stderr, "usage: %s write|read PATH SIZE SEED\n", argv[0]);
    return 2;
  }
  const char *path = argv[2];
  size_t size = strtoull(argv[3], NULL, 10);
  unsigned seed = (unsigned)strtoul(argv[4], NULL, 10);
  static unsigned char buffer[70000];
  if (strcmp(argv[1], "write") == 0) {
    int fd = open(path, O_WRONLY | O_CLOEXEC);
    if (fd < 0) {
      perror("open");
      return 1;
    }
    size_t done = 0;
    size_t piece = 1;
    while (done < size) {
      /* Pieces of 1, 7, 49, ... bytes up to 65536: reads on the other side see many boundaries. */
      size_t n = piece < size - done ? piece : size - done;
      for (size_t i = 0; i < n; i++) buffer[i] = pattern(done + i, seed);
      size_t off = 0;
      while (off < n) {
        ssize_t w = write(fd, buffer + off, n - off);
        if (w < 0) {
          if (errno == EINTR) continue;
          perror("write");
          return 1;
        }
        off += (size_t)w;
      }
      done += n;
      piece = piece * 7 > 65536 ? 1 : piece * 7;
    }
    close(fd);
    printf("wrote %zu\n", size);
    return 0;
  }
  if (strcmp(argv[1], "read") == 0) {
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
      perror("open");
      return 1;
    }
    size_t total = 0;
    long long mismatch = -1;
    for (;;) {
      ssize_t r = read(fd, buffer, sizeof buffer);
      if (r < 0) {
        if (errno == EINTR) continue;
        perror("read");
        return 1;
      }
      if (r == 0) break;
      for (ssize_t i = 0; i < r; i++) {
        if (mismatch < 0 && (total + (size_t)i >= size || buffer[i] != pattern(total + (size_t)i, seed)))
          mismatch = (long long)(total + (size_t)i);
      }
      total += (size_t)r;
    }
    close(fd);
    if (mismatch < 0 && total == size) {
      printf("read %zu ok\n", total);
    } else {
      printf("read %zu, first difference at %lld\n", total, mismatch);
    }
    return 0;
  }
  fprintf(stderr, "unknown command %s\n", argv[1]);
  return 2;
}
