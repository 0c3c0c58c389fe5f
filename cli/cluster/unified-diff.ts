// A unified diff of two texts (diff -u's format, 3 lines of context), for `berth diff`. Lines are
// matched by Myers' algorithm: the shortest edit script, so that a change reads as small as it is.

type Op = { type: ' ' | '-' | '+'; line: string };

/** The edit script turning `a` into `b`, line by line. */
export function diffLines(a: string[], b: string[]): Op[] {
  const n = a.length;
  const m = b.length;
  const max = n + m;
  const offset = max + 1;
  const v = new Int32Array(2 * max + 3);
  const trace: Int32Array[] = [];
  let found = false;
  for (let d = 0; d <= max && !found; d++) {
    trace.push(v.slice());
    for (let k = -d; k <= d; k += 2) {
      let x = k === -d || (k !== d && v[offset + k - 1]! < v[offset + k + 1]!) ? v[offset + k + 1]! : v[offset + k - 1]! + 1;
      let y = x - k;
      while (x < n && y < m && a[x] === b[y]) {
        x++;
        y++;
      }
      v[offset + k] = x;
      if (x >= n && y >= m) {
        found = true;
        break;
      }
    }
  }
  // Walk the trace back from the end to recover the script.
  const ops: Op[] = [];
  let x = n;
  let y = m;
  for (let d = trace.length - 1; d >= 0; d--) {
    const vd = trace[d]!;
    const k = x - y;
    const prevK = k === -d || (k !== d && vd[offset + k - 1]! < vd[offset + k + 1]!) ? k + 1 : k - 1;
    const prevX = d === 0 ? 0 : vd[offset + prevK]!;
    const prevY = prevX - prevK;
    while (x > prevX && y > prevY) ops.push({ type: ' ', line: a[--x]! }), y--;
    if (d > 0) {
      if (x === prevX) ops.push({ type: '+', line: b[--y]! });
      else ops.push({ type: '-', line: a[--x]! });
    }
  }
  while (x > 0 && y > 0) ops.push({ type: ' ', line: a[--x]! }), y--;
  return ops.reverse();
}

const split = (text: string) => (text === '' ? [] : text.replace(/\n$/, '').split('\n'));

/**
 * `--- fromName` / `+++ toName` and @@ hunks, or '' when the texts are equal. An empty side
 * (an object that does not exist yet) is the empty file, as `diff -N` treats a missing one.
 */
export function unifiedDiff(from: string, to: string, fromName: string, toName: string, context = 3): string {
  const a = split(from);
  const b = split(to);
  const ops = diffLines(a, b);
  if (ops.every((o) => o.type === ' ')) return '';
  const lines = [`--- ${fromName}`, `+++ ${toName}`];
  // Positions of changes; hunks are the changes with `context` lines around, merged when close.
  const changed = ops.map((o, i) => (o.type === ' ' ? -1 : i)).filter((i) => i >= 0);
  let start = 0;
  while (start < changed.length) {
    let end = start;
    while (end + 1 < changed.length && changed[end + 1]! - changed[end]! <= 2 * context + 1) end++;
    const from0 = Math.max(0, changed[start]! - context);
    const to0 = Math.min(ops.length - 1, changed[end]! + context);
    let aLine = 1;
    let bLine = 1;
    for (let i = 0; i < from0; i++) {
      if (ops[i]!.type !== '+') aLine++;
      if (ops[i]!.type !== '-') bLine++;
    }
    const hunk = ops.slice(from0, to0 + 1);
    const aCount = hunk.filter((o) => o.type !== '+').length;
    const bCount = hunk.filter((o) => o.type !== '-').length;
    // diff -u numbers an empty range by the line before it.
    lines.push(`@@ -${aCount === 0 ? aLine - 1 : aLine},${aCount} +${bCount === 0 ? bLine - 1 : bLine},${bCount} @@`);
    for (const o of hunk) lines.push(`${o.type}${o.line}`);
    start = end + 1;
  }
  return `${lines.join('\n')}\n`;
}
