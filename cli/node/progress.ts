// Pull and push progress as docker prints it: one line per layer, redrawn in place with a bar on
// a terminal; on anything else, one plain line whenever a layer's state changes.

import type { ProgressMessage } from '../../proto/grpc';
import { humanSize, shortId } from './format';

const WORDS: Record<string, Record<string, string>> = {
  pull: { waiting: 'Waiting', exists: 'Already exists', downloading: 'Downloading', resuming: 'Resuming', complete: 'Pull complete' },
  push: { waiting: 'Preparing', exists: 'Layer already exists', uploading: 'Pushing', mounted: 'Mounted from another repository', complete: 'Pushed' },
};

export class ProgressPrinter {
  private readonly order: string[] = [];
  private readonly lines = new Map<string, string>();
  private readonly lastStatus = new Map<string, string>();
  private drawn = 0;

  constructor(private readonly verb: 'pull' | 'push', private readonly out: NodeJS.WriteStream = process.stdout) {}

  private get tty(): boolean {
    return Boolean(this.out.isTTY);
  }

  handle(m: ProgressMessage): void {
    if (m.kind === 'layer') return this.layer(m);
    if (m.kind === 'resolved' && this.verb === 'pull') {
      // "1.0: Pulling from team/hello", as docker names the tag and the repository path.
      const at = m.reference.search(/[@:][^/]*$/);
      const name = at < 0 ? m.reference : m.reference.slice(0, at);
      const tag = at < 0 ? 'latest' : m.reference.slice(at + 1);
      const path = name.includes('/') && /[.:]|^localhost$/.test(name.split('/')[0]!) ? name.slice(name.indexOf('/') + 1) : name;
      this.out.write(`${tag}: Pulling from ${path}\n`);
    }
    if (m.kind === 'done') {
      this.out.write(`Digest: ${m.digest}\n`);
      if (this.verb === 'pull') this.out.write(`Status: ${m.status}\n${m.reference}\n`);
    }
  }

  private layer(m: ProgressMessage): void {
    const id = shortId(m.digest);
    if (!this.lines.has(id)) this.order.push(id);
    const word = WORDS[this.verb]![m.status] ?? m.status;
    const current = Number(m.current);
    const total = Number(m.total);
    const moving = m.status === 'downloading' || m.status === 'uploading';
    const text = moving && total > 0 ? `${id}: ${word} ${bar(current, total)} ${humanSize(current)}/${humanSize(total)}` : `${id}: ${word}`;
    this.lines.set(id, text);
    if (this.tty) return this.redraw();
    // Plain output: a line per state change, not per chunk.
    if (this.lastStatus.get(id) !== m.status) {
      this.lastStatus.set(id, m.status);
      this.out.write(`${id}: ${word}\n`);
    }
  }

  private redraw(): void {
    if (this.drawn > 0) this.out.write(`\x1b[${this.drawn}A`);
    for (const id of this.order) this.out.write(`\x1b[2K${this.lines.get(id)}\n`);
    this.drawn = this.order.length;
  }
}

function bar(current: number, total: number): string {
  const width = 50;
  const filled = Math.min(width, Math.floor((current / total) * width));
  return `[${'='.repeat(Math.max(0, filled - 1))}${filled > 0 ? '>' : ''}${' '.repeat(width - filled)}]`;
}
