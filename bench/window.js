'use strict';
// Flow control for the suite's message-passing rows that have none of their own (child_process
// IPC and worker_threads postMessage queue without bound): the sender keeps at most `window`
// messages unacknowledged, where window * size is the byte capacity the Channel rows use
// (max(1 MiB, 4 x size)); the receiver acknowledges every window/2 messages.

function windowFor(size) {
  const capacity = Math.max(1 << 20, 4 * size);
  const window = Math.max(2, Math.floor(capacity / Math.max(size, 1)));
  return { window, ackEvery: Math.max(1, window >> 1) };
}

module.exports = { windowFor };
