'use strict';
// Length-prefixed framing for the suite's socket rows: a 4-byte little-endian length, then the
// payload. The parser hands out each message as one Buffer (a slice of the chunk it arrived in,
// or one concatenation when it spans chunks), as a user of `net` would need it.

function frame(data) {
  const header = Buffer.allocUnsafe(4);
  header.writeUInt32LE(data.length, 0);
  return header;
}

/** Writes one framed message: header and payload, corked into one writev. Returns write()'s answer. */
function writeFrame(socket, data) {
  socket.cork();
  socket.write(frame(data));
  const ok = socket.write(data);
  socket.uncork();
  return ok;
}

class FrameParser {
  constructor(onMessage) {
    this.onMessage = onMessage;
    this.chunks = [];
    this.offset = 0; // into chunks[0]
    this.have = 0;
    this.need = -1; // payload bytes of the frame being read, -1 while reading a header
  }

  #take(n) {
    const first = this.chunks[0];
    if (first.length - this.offset >= n) {
      const out = first.subarray(this.offset, this.offset + n);
      this.offset += n;
      if (this.offset === first.length) {
        this.chunks.shift();
        this.offset = 0;
      }
      this.have -= n;
      return out;
    }
    const out = Buffer.allocUnsafe(n);
    let filled = 0;
    while (filled < n) {
      const chunk = this.chunks[0];
      const take = Math.min(n - filled, chunk.length - this.offset);
      chunk.copy(out, filled, this.offset, this.offset + take);
      filled += take;
      this.offset += take;
      if (this.offset === chunk.length) {
        this.chunks.shift();
        this.offset = 0;
      }
    }
    this.have -= n;
    return out;
  }

  push(chunk) {
    this.chunks.push(chunk);
    this.have += chunk.length;
    for (;;) {
      if (this.need < 0) {
        if (this.have < 4) return;
        this.need = this.#take(4).readUInt32LE(0);
      }
      if (this.have < this.need) return;
      const message = this.#take(this.need);
      this.need = -1;
      this.onMessage(message);
    }
  }
}

module.exports = { writeFrame, FrameParser };
