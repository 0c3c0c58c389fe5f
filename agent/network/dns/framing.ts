// DNS over TCP carries each message after its length, two bytes big-endian (RFC 1035 4.2.2,
// RFC 7766), and one connection may carry many. The messages themselves are dns-packet's business.

/** A message with its length in front, ready to write. */
export function frame(message: Buffer): Buffer {
  const length = Buffer.allocUnsafe(2);
  length.writeUInt16BE(message.length, 0);
  return Buffer.concat([length, message]);
}

/** Cuts a TCP byte stream into the messages it carries, however the chunks fall. */
export class FrameReader {
  private pending: Buffer = Buffer.alloc(0);

  /** The messages completed by this chunk (none, one or several), in order. */
  push(chunk: Buffer): Buffer[] {
    this.pending = this.pending.length === 0 ? chunk : Buffer.concat([this.pending, chunk]);
    const messages: Buffer[] = [];
    while (this.pending.length >= 2) {
      const length = this.pending.readUInt16BE(0);
      if (this.pending.length < 2 + length) break;
      messages.push(this.pending.subarray(2, 2 + length));
      this.pending = this.pending.subarray(2 + length);
    }
    return messages;
  }
}
