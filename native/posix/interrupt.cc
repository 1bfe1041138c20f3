#include <pthread.h>
#include <signal.h>

#include "common/waiter.h"

namespace ipckit {

namespace {

// A real-time signal well away from the ones glibc and Node use.
int WakeSignal() { return SIGRTMAX - 4; }

void OnWakeSignal(int) {}

}  // namespace

void PrepareInterrupts() {
  // Process-wide, idempotent: installing the same no-op handler again changes nothing. Leave a
  // handler someone else installed alone.
  struct sigaction current;
  if (sigaction(WakeSignal(), nullptr, &current) != 0) return;
  if (current.sa_handler != SIG_DFL && current.sa_handler != OnWakeSignal) return;
  struct sigaction action = {};
  action.sa_handler = OnWakeSignal;
  sigemptyset(&action.sa_mask);
  action.sa_flags = 0;  // no SA_RESTART: the interrupted call must return EINTR
  sigaction(WakeSignal(), &action, nullptr);
}

void InterruptThread(std::thread::native_handle_type thread) { pthread_kill(thread, WakeSignal()); }

std::thread::native_handle_type CurrentThread() { return pthread_self(); }

void ConfigureWaiterThreadSignals() {
  sigset_t set;
  sigfillset(&set);
  sigdelset(&set, WakeSignal());
  pthread_sigmask(SIG_SETMASK, &set, nullptr);
}

}  // namespace ipckit
