/* The C side of the signal tests.
 *   signal_peer send PID SIGNO N [MARKER]   sigqueue()s SIGNO to PID N times with values 0..N-1
 *                                           (waiting while the receiver's queue is full), then
 *                                           MARKER once with value N if given; prints "sent N"
 *   signal_peer receive SIGNO N             blocks SIGNO, prints "ready", then takes N signals with
 *                                           sigwaitinfo() and prints "SIGNO VALUE PID CODE" for each
 * SIGNO is an offset from SIGRTMIN when it starts with '+' (glibc's SIGRTMIN is not a constant). */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static int signal_number(const char *text) {
  if (text[0] == '+') return SIGRTMIN + atoi(text + 1);
  return atoi(text);
}

static int queue_one(pid_t pid, int signo, int value) {
  union sigval sv;
  memset(&sv, 0, sizeof sv);
  sv.sival_int = value;
  for (;;) {
    if (sigqueue(pid, signo, sv) == 0) return 0;
    if (errno != EAGAIN) {
      perror("sigqueue");
      return -1;
    }
    /* RLIMIT_SIGPENDING is reached: the receiver has to take some first. */
    struct timespec pause = {0, 1000000};
    nanosleep(&pause, NULL);
  }
}

int main(int argc, char **argv) {
  if (argc >= 5 && strcmp(argv[1], "send") == 0) {
    pid_t pid = (pid_t)atoi(argv[2]);
    int signo = signal_number(argv[3]);
    int n = atoi(argv[4]);
    for (int i = 0; i < n; i++) {
      if (queue_one(pid, signo, i) != 0) return 1;
    }
    if (argc >= 6 && queue_one(pid, signal_number(argv[5]), n) != 0) return 1;
    printf("sent %d\n", n);
    return 0;
  }
  if (argc == 4 && strcmp(argv[1], "receive") == 0) {
    int signo = signal_number(argv[2]);
    int n = atoi(argv[3]);
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, signo);
    if (sigprocmask(SIG_BLOCK, &set, NULL) != 0) {
      perror("sigprocmask");
      return 1;
    }
    printf("ready\n");
    fflush(stdout);
    for (int i = 0; i < n; i++) {
      siginfo_t info;
      if (sigwaitinfo(&set, &info) < 0) {
        if (errno == EINTR) {
          i--;
          continue;
        }
        perror("sigwaitinfo");
        return 1;
      }
      printf("%d %d %d %d\n", info.si_signo, info.si_value.sival_int, (int)info.si_pid, info.si_code);
    }
    fflush(stdout);
    return 0;
  }
  fprintf(stderr, "usage: signal_peer send PID SIGNO N [MARKER] | receive SIGNO N\n");
  return 2;
}
