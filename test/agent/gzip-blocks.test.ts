// The layer compressor (images/gzip-blocks.ts): one valid gzip member that gunzip and GNU gzip
// read back exactly, the same bytes however the input was written (a blob's digest depends on the
// tar alone), at any length including block multiples and nothing.

import { execFileSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import * as zlib from 'node:zlib';
import t from 'tap';
import { GzipBlocks } from '../../agent/images/gzip-blocks';

async function compress(input: Buffer, chunk: number): Promise<Buffer> {
  const gzip = new GzipBlocks();
  const out: Buffer[] = [];
  gzip.on('data', (c: Buffer) => out.push(c));
  const ended = new Promise((resolve, reject) => gzip.on('end', resolve).on('error', reject));
  for (let i = 0; i < input.length; i += chunk) {
    if (!gzip.write(input.subarray(i, i + chunk))) await new Promise((resolve) => gzip.once('drain', resolve));
  }
  gzip.end();
  await ended;
  return Buffer.concat(out);
}

/** Text that compresses like source code, from a fixed seed. */
function text(bytes: number): Buffer {
  const words = ['int', 'return', 'static', 'void', 'struct', 'if', 'else', 'for', 'while', 'const'];
  const parts: string[] = [];
  let seed = 1;
  for (let n = 0; n < bytes;) {
    seed = (Math.imul(seed, 1103515245) + 12345) & 0x7fffffff;
    const w = `${words[seed % words.length]}${seed % 7 === 0 ? ';\n' : ' '}`;
    parts.push(w);
    n += w.length;
  }
  return Buffer.from(parts.join('')).subarray(0, bytes);
}

const MiB = 1024 * 1024;
const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

t.test('round trip and the same bytes whatever the writes', async (t) => {
  const big = text(3 * MiB + 17);
  const inputs: Array<[string, Buffer]> = [
    ['nothing', Buffer.alloc(0)], ['a few bytes', Buffer.from('hello')], ['one block', big.subarray(0, MiB)],
    ['three blocks', big.subarray(0, 3 * MiB)], ['three blocks and a bit', big], ['incompressible', randomBytes(2 * MiB + 5)],
  ];
  for (const [name, input] of inputs) {
    const outputs = await Promise.all([7919, 65536, MiB, 3 * MiB].map((chunk) => compress(input, chunk)));
    t.ok(zlib.gunzipSync(outputs[0]!).equals(input), `${name}: inflates to the input`);
    t.same(new Set(outputs.map(sha)).size, 1, `${name}: one output for every way of writing it`);
  }
  const out = await compress(big, 65536);
  execFileSync('gzip', ['-t'], { input: out });
  t.ok(execFileSync('gzip', ['-dc'], { input: out, maxBuffer: 8 * MiB }).equals(big), 'GNU gzip reads it back');
  t.ok(out.length < zlib.gzipSync(big, { level: 6 }).length * 1.01, 'about the size of one-stream gzip at the same level');
});
