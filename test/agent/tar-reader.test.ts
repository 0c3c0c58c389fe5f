// The layer tar reader's limits: PAX global headers, which apply to the rest of the archive and
// are kept until its end, are capped in total, not only one by one.

import t from 'tap';
import { readTar } from '../../agent/diff/tar-reader';

/** A ustar header block of `type` for `size` bytes of data, with its checksum. */
function header(type: string, size: number, name = 'pax'): Buffer {
  const b = Buffer.alloc(512);
  b.write(name, 0, 'latin1');
  b.write('0000644\0', 100, 'latin1');
  b.write(`${size.toString(8).padStart(11, '0')}\0`, 124, 'latin1');
  b.write('00000000000\0', 136, 'latin1');
  b.write(type, 156, 'latin1');
  b.write('ustar\0', 257, 'latin1');
  b.write('00', 263, 'latin1');
  b.fill(' ', 148, 156);
  let sum = 0;
  for (const byte of b) sum += byte;
  b.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148, 'latin1');
  return b;
}

/** A PAX record "LEN key=value\n" with its own length counted. */
function record(key: string, value: string): string {
  const body = ` ${key}=${value}\n`;
  let len = body.length + 1;
  while (String(len).length + body.length !== len) len = String(len).length + body.length;
  return `${len}${body}`;
}

function globalHeader(i: number, valueBytes: number): Buffer {
  const data = Buffer.from(record(`berth.test${i}`, 'x'.repeat(valueBytes)), 'latin1');
  return Buffer.concat([header('g', data.length), data, Buffer.alloc((512 - (data.length % 512)) % 512)]);
}

async function drain(bytes: Buffer, maxHeaderBytes: number): Promise<number> {
  let n = 0;
  for await (const item of readTar((async function* () { yield bytes; })(), { maxHeaderBytes })) {
    n++;
    for await (const chunk of item.content) void chunk;
  }
  return n;
}

t.test('many global PAX headers, each small, are refused once their total passes the limit', async (t) => {
  const few = Buffer.concat([globalHeader(1, 1000), header('0', 0, 'a'), globalHeader(2, 1000), header('0', 0, 'b'), Buffer.alloc(1024)]);
  t.equal(await drain(few, 64 * 1024), 2, 'within the limit: read');
  // Each global header before its own file: every entry's headers are small, the globals kept add up.
  const many = Buffer.concat([...Array.from({ length: 100 }, (_, i) => [globalHeader(i, 1000), header('0', 0, `f${i}`)]).flat(), Buffer.alloc(1024)]);
  await t.rejects(drain(many, 64 * 1024), { code: 'resource-exhausted', message: /^PAX global headers of \d+ bytes in all exceed the limit of 65536 bytes \(maxHeaderBytes\)$/ });
});
