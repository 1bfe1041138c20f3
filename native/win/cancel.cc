// Windows' cancel for the waiter pool. A waiter thread waits alertably (WaitForMultipleObjectsEx
// or SleepEx with bAlertable): CancelWaiterThread queues a no-op APC, which makes that wait
// return WAIT_IO_COMPLETION, and CancelSynchronousIo ends a synchronous read or write the thread
// may be in; the op's loop then sees StopRequested() and returns (an op with overlapped I/O in
// flight cancels it with CancelIoEx first). Like the POSIX signal, the APC can land just before
// the thread starts waiting, which is why the pool repeats the cancel until Execute() returns: an
// APC queued between waits runs at the next alertable wait, which then returns at once.
#include <windows.h>

#include <new>

#include "common/waiter.h"

namespace ipckit {

namespace {

// Waiter threads sit in one wait; the watchdog in a condition variable.
constexpr SIZE_T kStackSize = 256 * 1024;

struct ThreadStart {
  void (*main)(void*);
  void* arg;
};

// The thread's own handle, for CancelWaiterThread: a real handle (GetCurrentThread() is only a
// pseudo-handle), opened when the thread starts and closed when it ends. The pool cancels a
// thread only while it executes an op, so the handle is never used after it is closed.
thread_local HANDLE tSelf = nullptr;

DWORD WINAPI RunThread(LPVOID start) {
  ThreadStart copy = *static_cast<ThreadStart*>(start);
  delete static_cast<ThreadStart*>(start);
  DuplicateHandle(
      GetCurrentProcess(), GetCurrentThread(), GetCurrentProcess(), &tSelf, THREAD_SET_CONTEXT | SYNCHRONIZE | THREAD_TERMINATE, FALSE, 0);
  copy.main(copy.arg);
  if (tSelf != nullptr) CloseHandle(tSelf);
  tSelf = nullptr;
  return 0;
}

void CALLBACK NoOpApc(ULONG_PTR) {}

}  // namespace

bool StartThread(void (*main)(void*), void* arg, OsError* error) {
  auto* start = new (std::nothrow) ThreadStart{main, arg};
  if (start == nullptr) {
    *error = OsError{ERROR_NOT_ENOUGH_MEMORY, "CreateThread", std::string()};
    return false;
  }
  HANDLE thread = CreateThread(nullptr, kStackSize, RunThread, start, STACK_SIZE_PARAM_IS_A_RESERVATION, nullptr);
  if (thread == nullptr) {
    *error = LastOsError("CreateThread");
    delete start;
    return false;
  }
  CloseHandle(thread);
  return true;
}

OsError NoThreadError() { return OsError{ERROR_NOT_ENOUGH_MEMORY, "CreateThread", std::string()}; }

void PrepareCancel() {}

void PrepareWaiterThread() {}

WaiterThread CurrentWaiterThread() { return reinterpret_cast<WaiterThread>(tSelf); }

void CancelWaiterThread(WaiterThread thread) {
  HANDLE handle = reinterpret_cast<HANDLE>(thread);
  if (handle == nullptr) return;
  QueueUserAPC(NoOpApc, handle, 0);
  CancelSynchronousIo(handle);
}

}  // namespace ipckit
