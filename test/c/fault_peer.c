/* The C side of the fault-injection tests (test/lifecycle/faults.test.ts): each command prints "ready",
 * then enters one blocking call and stays in it until the test kills it with SIGKILL. Should the
 * call return, the peer prints what it got (the test then knows the kill came too late) and, for
 * the commands that hold something, waits to be killed.
 *   fault_peer sysv-recv KEY                       msgrcv (any type); print "got TYPE LEN"
 *   fault_peer sysv-send KEY PRODUCER SEQ MAXBODY  msgsnd one mq_common.h message (type PRODUCER+1); print "sent"
 *   fault_peer posix-recv NAME                     mq_receive; print "got LEN"
 *   fault_peer posix-send NAME PRODUCER SEQ MAXBODY  mq_send one mq_common.h message; print "sent"
 *   fault_peer sem-wait NAME                       sem_wait; print "took"
 *   fault_peer semop KEY undo|plain INDEX:DELTA...  one semop of all the operations; print "done", hold
 *   fault_peer futex-wait SHM OFFSET EXPECTED      ipckit_wait without limit; print the result
 *   fault_peer mutex-lock SHM OFFSET               ipckit_mutex_lock; print "locked" or "owner-died", hold
 *   fault_peer cond-wait SHM MUTEX COND            lock, print "ready", ipckit_cond_wait; print the result, hold
 *   fault_peer barrier SHM OFFSET                  ipckit_barrier_wait without limit; print "serial" or "ok" */
#include <fcntl.h>
#include <mqueue.h>
#include <semaphore.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ipc.h>
#include <sys/mman.h>
#include <sys/msg.h>
#include <sys/sem.h>
#include <sys/stat.h>

#include "ipckit/sync.h"
#include "mq_common.h"

static unsigned char *map(const char *name) {
  int fd = shm_open(name, O_RDWR, 0);
  if (fd < 0) {
    perror("shm_open");
    exit(1);
  }
  struct stat st;
  fstat(fd, &st);
  unsigned char *p = mmap(NULL, (size_t)st.st_size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  if (p == MAP_FAILED) {
    perror("mmap");
    exit(1);
  }
  close(fd);
  return p;
}

__attribute__((noreturn)) static void hold(void) {
  for (;;) pause();
}

static const char *result_name(int rc) {
  switch (rc) {
    case IPCKIT_OK: return "ok";
    case IPCKIT_NOT_EQUAL: return "not-equal";
    case IPCKIT_TIMED_OUT: return "timed-out";
    case IPCKIT_OWNER_DIED: return "owner-died";
    case IPCKIT_SERIAL: return "serial";
    default: return "error";
  }
}

struct message {
  long type;
  unsigned char bytes[8192];
};

int main(int argc, char **argv) {
  if (argc < 3) {
    fprintf(stderr, "usage\n");
    return 2;
  }
  const char *cmd = argv[1];
  setvbuf(stdout, NULL, _IONBF, 0);
  static struct message m;
  (void)check_message; /* mq_common.h's checker: the Node side checks what these peers send */

  if (strcmp(cmd, "sysv-recv") == 0 || strcmp(cmd, "sysv-send") == 0) {
    int id = msgget((key_t)strtol(argv[2], NULL, 10), 0);
    if (id < 0) {
      perror("msgget");
      return 1;
    }
    if (cmd[5] == 'r') {
      printf("ready\n");
      ssize_t n = msgrcv(id, &m, sizeof m.bytes, 0, 0);
      if (n < 0) {
        perror("msgrcv");
        return 1;
      }
      printf("got %ld %zd\n", m.type, n);
      return 0;
    }
    if (argc < 6) return 2;
    uint32_t producer = (uint32_t)strtoul(argv[3], NULL, 10);
    size_t len = make_message(m.bytes, producer, (uint32_t)strtoul(argv[4], NULL, 10), (uint32_t)strtoul(argv[5], NULL, 10));
    m.type = (long)producer + 1;
    printf("ready\n");
    if (msgsnd(id, &m, len, 0) != 0) {
      perror("msgsnd");
      return 1;
    }
    printf("sent\n");
    return 0;
  }

  if (strcmp(cmd, "posix-recv") == 0 || strcmp(cmd, "posix-send") == 0) {
    mqd_t q = mq_open(argv[2], O_RDWR);
    if (q == (mqd_t)-1) {
      perror("mq_open");
      return 1;
    }
    if (cmd[6] == 'r') {
      printf("ready\n");
      unsigned prio;
      ssize_t n = mq_receive(q, (char *)m.bytes, sizeof m.bytes, &prio);
      if (n < 0) {
        perror("mq_receive");
        return 1;
      }
      printf("got %zd\n", n);
      return 0;
    }
    if (argc < 6) return 2;
    size_t len = make_message(
        m.bytes, (uint32_t)strtoul(argv[3], NULL, 10), (uint32_t)strtoul(argv[4], NULL, 10), (uint32_t)strtoul(argv[5], NULL, 10));
    printf("ready\n");
    if (mq_send(q, (const char *)m.bytes, len, 0) != 0) {
      perror("mq_send");
      return 1;
    }
    printf("sent\n");
    return 0;
  }

  if (strcmp(cmd, "sem-wait") == 0) {
    sem_t *s = sem_open(argv[2], 0);
    if (s == SEM_FAILED) {
      perror("sem_open");
      return 1;
    }
    printf("ready\n");
    if (sem_wait(s) != 0) {
      perror("sem_wait");
      return 1;
    }
    printf("took\n");
    return 0;
  }

  if (strcmp(cmd, "semop") == 0) {
    if (argc < 5) return 2;
    int id = semget((key_t)strtol(argv[2], NULL, 10), 0, 0);
    if (id < 0) {
      perror("semget");
      return 1;
    }
    short flags = strcmp(argv[3], "undo") == 0 ? SEM_UNDO : 0;
    struct sembuf ops[16];
    int n = 0;
    for (int i = 4; i < argc && n < 16; i++, n++) {
      char *colon;
      ops[n].sem_num = (unsigned short)strtoul(argv[i], &colon, 10);
      ops[n].sem_op = (short)strtol(colon + 1, NULL, 10);
      ops[n].sem_flg = flags;
    }
    printf("ready\n");
    if (semop(id, ops, (size_t)n) != 0) {
      perror("semop");
      return 1;
    }
    printf("done\n");
    hold();
  }

  if (argc < 4) return 2;
  unsigned char *base = map(argv[2]);
  size_t offset = strtoul(argv[3], NULL, 10);

  if (strcmp(cmd, "futex-wait") == 0 && argc >= 5) {
    printf("ready\n");
    int rc = ipckit_wait((volatile uint32_t *)(base + offset), (uint32_t)strtol(argv[4], NULL, 10), -1);
    printf("%s\n", result_name(rc));
    return 0;
  }
  if (strcmp(cmd, "mutex-lock") == 0) {
    printf("ready\n");
    int rc = ipckit_mutex_lock((ipckit_mutex_t *)(base + offset), -1);
    printf("%s\n", rc == IPCKIT_OK ? "locked" : result_name(rc));
    hold();
  }
  if (strcmp(cmd, "cond-wait") == 0 && argc >= 5) {
    ipckit_mutex_t *mutex = (ipckit_mutex_t *)(base + offset);
    ipckit_cond_t *cond = (ipckit_cond_t *)(base + strtoul(argv[4], NULL, 10));
    if (ipckit_mutex_lock(mutex, -1) != IPCKIT_OK) {
      printf("lock failed\n");
      return 1;
    }
    printf("ready\n");
    int rc = ipckit_cond_wait(cond, mutex, -1);
    printf("%s\n", result_name(rc));
    hold();
  }
  if (strcmp(cmd, "barrier") == 0) {
    printf("ready\n");
    int rc = ipckit_barrier_wait((ipckit_barrier_t *)(base + offset), -1);
    printf("%s\n", result_name(rc));
    return 0;
  }
  fprintf(stderr, "unknown command %s\n", cmd);
  return 2;
}
