/* The C side of the descriptor-passing tests, over a Unix stream socket at PATH.
 *   fdpass_peer recv PATH SIZE SEED   connect; receive one descriptor (recvmsg, SCM_RIGHTS);
 *                                     its size must be SIZE and bytes the pattern; write the
 *                                     pattern of SEED+1 into it; try to shrink it; send one byte
 *                                     back; print "checked PID shrink=OK|ERRNAME"
 *   fdpass_peer send PATH SIZE SEED   connect; memfd_create, size, fill with the pattern, seal
 *                                     against shrinking and growing, send it with 1 byte;
 *                                     wait for the peer to close; print "sent PID"
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

static unsigned char pattern(size_t i, unsigned seed) { return (unsigned char)((i * 131u + seed * 7u + (i >> 8)) & 0xffu); }

static int connect_to(const char *path) {
  int s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  struct sockaddr_un address = {.sun_family = AF_UNIX};
  strncpy(address.sun_path, path, sizeof address.sun_path - 1);
  if (s < 0 || connect(s, (struct sockaddr *)&address, sizeof address) != 0) {
    perror("connect");
    return -1;
  }
  return s;
}

int main(int argc, char **argv) {
  if (argc != 5) return 2;
  size_t size = strtoull(argv[3], NULL, 10);
  unsigned seed = (unsigned)strtoul(argv[4], NULL, 10);
  int s = connect_to(argv[2]);
  if (s < 0) return 1;
  if (strcmp(argv[1], "recv") == 0) {
    char byte;
    struct iovec iov = {&byte, 1};
    union {
      struct cmsghdr header;
      char space[CMSG_SPACE(sizeof(int))];
    } control;
    struct msghdr msg = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = control.space, .msg_controllen = sizeof control.space};
    if (recvmsg(s, &msg, MSG_CMSG_CLOEXEC) <= 0) {
      perror("recvmsg");
      return 1;
    }
    struct cmsghdr *header = CMSG_FIRSTHDR(&msg);
    if (header == NULL || header->cmsg_type != SCM_RIGHTS) {
      printf("no descriptor came\n");
      return 1;
    }
    int fd;
    memcpy(&fd, CMSG_DATA(header), sizeof fd);
    struct stat st;
    if (fstat(fd, &st) != 0 || (size_t)st.st_size != size) {
      printf("size mismatch\n");
      return 1;
    }
    unsigned char *p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    if (p == MAP_FAILED) {
      perror("mmap");
      return 1;
    }
    for (size_t i = 0; i < size; i++)
      if (p[i] != pattern(i, seed)) {
        printf("content mismatch at %zu\n", i);
        return 1;
      }
    for (size_t i = 0; i < size; i++) p[i] = pattern(i, seed + 1);
    const char *shrink = ftruncate(fd, (off_t)(size / 2)) == 0 ? "OK" : strerrorname_np(errno);
    munmap(p, size);
    close(fd);
    if (write(s, "k", 1) != 1) return 1;
    printf("checked %d shrink=%s\n", getpid(), shrink);
    return 0;
  }
  if (strcmp(argv[1], "send") == 0) {
    int fd = memfd_create("c-peer", MFD_CLOEXEC | MFD_ALLOW_SEALING);
    if (fd < 0 || ftruncate(fd, (off_t)size) != 0) {
      perror("memfd");
      return 1;
    }
    unsigned char *p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    if (p == MAP_FAILED) return 1;
    for (size_t i = 0; i < size; i++) p[i] = pattern(i, seed);
    munmap(p, size);
    if (fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW) != 0) {
      perror("F_ADD_SEALS");
      return 1;
    }
    char byte = 'm';
    struct iovec iov = {&byte, 1};
    union {
      struct cmsghdr header;
      char space[CMSG_SPACE(sizeof(int))];
    } control;
    memset(&control, 0, sizeof control);
    struct msghdr msg = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = control.space, .msg_controllen = sizeof control.space};
    struct cmsghdr *header = CMSG_FIRSTHDR(&msg);
    header->cmsg_level = SOL_SOCKET;
    header->cmsg_type = SCM_RIGHTS;
    header->cmsg_len = CMSG_LEN(sizeof(int));
    memcpy(CMSG_DATA(header), &fd, sizeof fd);
    if (sendmsg(s, &msg, 0) != 1) {
      perror("sendmsg");
      return 1;
    }
    close(fd);
    printf("sent %d\n", getpid());
    fflush(stdout);
    /* Until the peer closes: the object lives on in the peer alone. */
    while (read(s, &byte, 1) > 0) {
    }
    return 0;
  }
  return 2;
}
