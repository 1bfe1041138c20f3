#include <errno.h>
#include <pthread.h>
#include <signal.h>

#include <new>

#include "common/waiter.h"

// POSIX's cancel for the waiter pool: a real-time signal with a no-op handler, installed without
// SA_RESTART, makes the system call the target thread is blocked in fail with EINTR; the op's
// retry loop then sees StopRequested() and returns. The signal can land just before the thread
// enters its call, which is why the pool repeats it until Execute() has returned. Waiter threads
// block every other signal, so Node's own handlers never run on them.

namespace ipckit {

namespace {

// Waiter threads sit in one system call and the watchdog in a condition variable; glibc's default
// stack (RLIMIT_STACK, usually 8 MiB) is address space they never touch, reserved once per
// pending wait. 256 KiB leaves ample room for the calls, the no-op signal handler and glibc's
// static TLS, which it carves out of the same block.
constexpr size_t kStackSize = 256 * 1024;

struct ThreadStart {
  void (*main)(void*);
  void* arg;
};

void* RunThread(void* start) {
  ThreadStart copy = *static_cast<ThreadStart*>(start);
  delete static_cast<ThreadStart*>(start);
  copy.main(copy.arg);
  return nullptr;
}

int CreateDetached(ThreadStart* start, size_t stackSize) {
  pthread_attr_t attr;
  int error = pthread_attr_init(&attr);
  if (error != 0) return error;
  pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
  if (stackSize != 0) pthread_attr_setstacksize(&attr, stackSize);
  pthread_t thread;
  error = pthread_create(&thread, &attr, RunThread, start);
  pthread_attr_destroy(&attr);
  return error;
}

// A real-time signal well away from the ones glibc and Node use.
int WakeSignal() { return SIGRTMAX - 4; }

void OnWakeSignal(int) {}

}  // namespace

bool StartThread(void (*main)(void*), void* arg, OsError* error) {
  auto* start = new (std::nothrow) ThreadStart{main, arg};
  int code = start == nullptr ? ENOMEM : CreateDetached(start, kStackSize);
  // EINVAL: a libc whose minimum stack (static TLS included) is larger; take its default.
  if (code == EINVAL) code = CreateDetached(start, 0);
  if (code == 0) return true;
  delete start;
  *error = OsError{code, "pthread_create", std::string()};
  return false;
}

OsError NoThreadError() { return OsError{EAGAIN, "pthread_create", std::string()}; }

void PrepareCancel() {
  // Process-wide, idempotent: installing the same no-op handler again changes nothing. Leave a
  // handler someone else installed alone. An ignored signal is taken over: that disposition is
  // inherited across exec (a parent's `trap '' 60`), nobody in this process chose it, and with
  // it no wait could ever be cancelled.
  struct sigaction current;
  if (sigaction(WakeSignal(), nullptr, &current) != 0) return;
  bool unclaimed = (current.sa_flags & SA_SIGINFO) == 0 && (current.sa_handler == SIG_DFL || current.sa_handler == SIG_IGN);
  if (!unclaimed && current.sa_handler != OnWakeSignal) return;
  struct sigaction action = {};
  action.sa_handler = OnWakeSignal;
  sigemptyset(&action.sa_mask);
  action.sa_flags = 0;  // no SA_RESTART: the interrupted call must return EINTR
  sigaction(WakeSignal(), &action, nullptr);
}

void CancelWaiterThread(WaiterThread thread) { pthread_kill(thread, WakeSignal()); }

WaiterThread CurrentWaiterThread() { return pthread_self(); }

void PrepareWaiterThread() {
  sigset_t set;
  sigfillset(&set);
  sigdelset(&set, WakeSignal());
  pthread_sigmask(SIG_SETMASK, &set, nullptr);
}

}  // namespace ipckit
