// Makes the kernel hand out a removed semaphore set's id again, for a set of another size.
//
//   sysv_sem_reuse make <id> <nsems> [max-cycles]
//       creates and removes private sets until semget returns <id>, and leaves a set of <nsems>
//       semaphores under it, semaphore i holding i % 32767 + 1. Prints "<id> <cycles>" and
//       exits 0; exits 2 if max-cycles (default 16M) pass first, 1 on any other failure.
//   sysv_sem_reuse check <id>
//       prints "<nsems> intact" if the set at <id> still holds those values, "<nsems> changed"
//       if not; exits 1 if there is no set at <id>.
//
// Linux numbers a set idx + seq * 32768. The index comes from a cyclic allocator that stays
// within max(in_use * 3 / 2, 64) slots, and seq grows by one each time the index wraps, up to
// 65535: with few sets in use an id comes back after about 64 * 65536 allocations. Ids grow
// monotonically between wraps of seq, so how far <id> is ahead tells when to start creating
// full-size sets (small ones are cheaper for the millions of cycles before).
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ipc.h>
#include <sys/prctl.h>
#include <sys/sem.h>

union semun {
  int val;
  struct semid_ds* buf;
  unsigned short* array;
};

// The set of ours that exists right now, for the signal handler to remove.
static volatile sig_atomic_t current = -1;

static void on_signal(int sig) {
  if (current >= 0) semctl(current, 0, IPC_RMID);
  signal(sig, SIG_DFL);
  raise(sig);
}

static unsigned short expected(int i) { return (unsigned short)(i % 32767 + 1); }

static int check(int id) {
  struct semid_ds ds;
  union semun arg;
  arg.buf = &ds;
  if (semctl(id, 0, IPC_STAT, arg) != 0) {
    perror("semctl IPC_STAT");
    return 1;
  }
  int nsems = (int)ds.sem_nsems;
  unsigned short* values = calloc((size_t)nsems, sizeof *values);
  if (values == NULL) return 1;
  arg.array = values;
  if (semctl(id, 0, GETALL, arg) != 0) {
    perror("semctl GETALL");
    free(values);
    return 1;
  }
  int intact = 1;
  for (int i = 0; i < nsems; i++) intact = intact && values[i] == expected(i);
  free(values);
  printf("%d %s\n", nsems, intact ? "intact" : "changed");
  return 0;
}

static int make(int target, int nsems, long maxCycles) {
  // Whoever started this may be killed mid-way: go too, removing the set of the moment.
  prctl(PR_SET_PDEATHSIG, SIGTERM);
  struct sigaction action;
  memset(&action, 0, sizeof action);
  action.sa_handler = on_signal;
  sigaction(SIGTERM, &action, NULL);
  sigaction(SIGINT, &action, NULL);
  sigaction(SIGHUP, &action, NULL);

  // How far ahead the target may be for a full-size set to be worth creating: a little over one
  // turn of the index, so the wrap of seq in between is covered too.
  const unsigned near = 2 * 32768;
  unsigned ahead = 0x7fffffff;
  for (long cycle = 1; cycle <= maxCycles; cycle++) {
    int size = ahead <= near ? nsems : 1;
    int id = semget(IPC_PRIVATE, size, IPC_CREAT | 0600);
    if (id < 0) {
      perror("semget");
      return 1;
    }
    current = id;
    if (id == target && size == nsems) {
      unsigned short* values = calloc((size_t)nsems, sizeof *values);
      if (values == NULL) {
        semctl(id, 0, IPC_RMID);
        return 1;
      }
      for (int i = 0; i < nsems; i++) values[i] = expected(i);
      union semun arg;
      arg.array = values;
      if (semctl(id, 0, SETALL, arg) != 0) {
        perror("semctl SETALL");
        semctl(id, 0, IPC_RMID);
        return 1;
      }
      free(values);
      printf("%d %ld\n", id, cycle);
      return 0;
    }
    ahead = (unsigned)(target - id) & 0x7fffffff;
    if (semctl(id, 0, IPC_RMID) != 0) {
      perror("semctl IPC_RMID");
      return 1;
    }
    current = -1;
  }
  fprintf(stderr, "id %d did not come back within %ld cycles\n", target, maxCycles);
  return 2;
}

int main(int argc, char** argv) {
  if (argc >= 4 && strcmp(argv[1], "make") == 0) {
    int target = atoi(argv[2]);
    int nsems = atoi(argv[3]);
    if (target < 0 || nsems < 1) return 1;
    return make(target, nsems, argc > 4 ? atol(argv[4]) : 16L * 1024 * 1024);
  }
  if (argc == 3 && strcmp(argv[1], "check") == 0) return check(atoi(argv[2]));
  fprintf(stderr, "usage: %s make <id> <nsems> [max-cycles] | check <id>\n", argv[0]);
  return 1;
}
