/* ipckit/channel.h as a shared library, for test/python/channel_peer.py (ctypes):
 *   cc -shared -fPIC -D_GNU_SOURCE -I native/include -o libipckit_channel.so test/c/channel_lib.c
 * Defining IPCKIT_CHANNEL_API empty makes the header's functions external. The allocator spares
 * a ctypes caller from knowing sizeof(ipckit_channel_t). */
#define IPCKIT_CHANNEL_API
#include "ipckit/channel.h"

#include <stdlib.h>

ipckit_channel_t *ipckit_channel_alloc(void) {
  ipckit_channel_t *ch = calloc(1, sizeof *ch);
  if (ch != NULL) ch->fd = -1;
  return ch;
}

void ipckit_channel_free(ipckit_channel_t *ch) { free(ch); }
