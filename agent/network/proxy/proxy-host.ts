// Applies ProxyRulesets to the host's nftables, one `nft -f -` transaction per sync (the executor
// behind plan.ts and diff.ts). It remembers the last ruleset the kernel accepted and sends only
// the difference; when it does not know what the table holds (its first sync, or after a failed
// one) it replaces the table as a whole, which also clears whatever an earlier agent left.

import { spawn } from 'node:child_process';
import { BerthError } from '../../../proto/errors';
import { diffRuleset, renderRuleset } from './diff';
import type { CompiledServiceProxyOptions, ProxyRuleset, ServiceProxyOptions, SyncResult } from './types';

export function compileServiceProxyOptions(options: ServiceProxyOptions = {}): CompiledServiceProxyOptions {
  const table = options.table ?? 'berth';
  // An nft identifier that needs no quoting (network device names fit after a prefix: "berth-br.0").
  if (!/^[A-Za-z_][A-Za-z0-9_.-]{0,63}$/.test(table)) {
    throw new BerthError('invalid-argument', `service proxy table name ${JSON.stringify(table)}: a letter or '_', then up to 63 letters, digits, '_', '.' or '-'`);
  }
  const nft = options.nft ?? 'nft';
  if (options.netns !== undefined && !/^[A-Za-z0-9_.-]{1,255}$/.test(options.netns)) {
    throw new BerthError('invalid-argument', `service proxy network namespace ${JSON.stringify(options.netns)}: not a namespace name`);
  }
  return {
    table,
    log: options.log ?? ((line) => process.stderr.write(`berth agent: service proxy: ${line}\n`)),
    command: options.netns === undefined ? [nft] : ['ip', 'netns', 'exec', options.netns, nft],
  };
}

interface PendingSync {
  ruleset: ProxyRuleset;
  full: boolean;
  result: Promise<SyncResult>;
}

export class ServiceProxy {
  private readonly o: CompiledServiceProxyOptions;
  /** What the table holds, as far as this process knows; undefined: unknown, rewrite it whole. */
  private applied: ProxyRuleset | undefined;
  /** Operations run one at a time, in the order asked. */
  private queue: Promise<unknown> = Promise.resolve();
  /** A sync asked for and not started: a newer ruleset replaces its ruleset (the latest wins). */
  private pending: PendingSync | undefined;

  constructor(options: ServiceProxyOptions = {}) {
    this.o = compileServiceProxyOptions(options);
  }

  get table(): string {
    return this.o.table;
  }

  /**
   * Make the table hold `ruleset`. Syncs run one at a time; while one runs, further calls
   * coalesce into the next, which applies the newest ruleset and answers all of them. `full`
   * rewrites the table whole (a periodic repair, as kube-proxy's full resyncs). A failure names
   * the nft line that was refused; the next sync then rewrites the table whole.
   */
  sync(ruleset: ProxyRuleset, options: { full?: boolean } = {}): Promise<SyncResult> {
    if (this.pending) {
      this.pending.ruleset = ruleset;
      this.pending.full ||= options.full === true;
      return this.pending.result;
    }
    const job = { ruleset, full: options.full === true } as PendingSync;
    job.result = this.enqueue(() => {
      if (this.pending === job) this.pending = undefined;
      return this.apply(job.ruleset, job.full);
    });
    this.pending = job;
    return job.result;
  }

  /** Remove the table and everything in it. Idempotent; after it, a sync starts from nothing again. */
  destroy(): Promise<void> {
    // A sync asked for after this must run after it, not be folded into one queued before.
    this.pending = undefined;
    return this.enqueue(async () => {
      this.applied = undefined;
      // Adding first makes the delete succeed when there is no table.
      await this.run(`add table ip ${this.o.table}\ndelete table ip ${this.o.table}\n`);
    });
  }

  private async apply(ruleset: ProxyRuleset, full: boolean): Promise<SyncResult> {
    const started = process.hrtime.bigint();
    const replace = full || this.applied === undefined;
    const script = replace ? renderRuleset(ruleset, this.o.table, { replace: true }) : diffRuleset(this.applied, ruleset, this.o.table);
    const diffMs = msSince(started);
    if (script === '') return { mode: 'unchanged', lines: 0, diffMs, nftMs: 0 };
    const lines = countLines(script);
    // Until nft says yes the table's content is not known for sure (the failure may be the
    // table's, changed behind our back): the next sync rewrites it whole.
    this.applied = undefined;
    let nftMs: number;
    try {
      nftMs = await this.run(script);
    } catch (err) {
      this.o.log(`${(err as Error).message} (${lines} lines; the next sync rewrites table ip ${this.o.table} whole)`);
      throw err;
    }
    this.applied = ruleset;
    // diffRuleset itself falls back to replacing the table when a definition changed.
    return { mode: replace || script.startsWith('add table') ? 'full' : 'incremental', lines, diffMs, nftMs };
  }

  private enqueue<T>(fn: () => Promise<T>): Promise<T> {
    const next = this.queue.then(fn, fn);
    this.queue = next.catch(() => undefined);
    return next;
  }

  /** Feed a script to `nft -f -`; resolves with the milliseconds it took. */
  private run(script: string): Promise<number> {
    const [cmd, ...args] = this.o.command;
    const started = process.hrtime.bigint();
    return new Promise((resolve, reject) => {
      let settled = false;
      const settle = (err: BerthError | undefined) => {
        if (settled) return;
        settled = true;
        if (err) reject(err);
        else resolve(msSince(started));
      };
      const child = spawn(cmd, [...args, '-f', '-'], { stdio: ['pipe', 'ignore', 'pipe'] });
      let stderr = '';
      child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
      // nft stopping early (a syntax error) closes its stdin: its exit status says what happened.
      child.stdin.on('error', () => undefined);
      child.on('error', (err: NodeJS.ErrnoException) => {
        settle(err.code === 'ENOENT'
          ? new BerthError('failed-precondition', `service proxy: ${cmd} not found (the nftables package provides nft)`, { cause: err })
          : new BerthError('internal', `service proxy: run ${cmd}: ${err.message}`, { cause: err }));
      });
      child.on('close', (code, signal) => settle(code === 0 ? undefined : nftError(script, stderr, code, signal)));
      child.stdin.end(script);
    });
  }
}

/** "nft: line 7: Could not process rule: No such file or directory: add rule ip berth ..." from nft's report. */
export function nftError(script: string, stderr: string, code: number | null, signal: NodeJS.Signals | null = null): BerthError {
  const errors = [...stderr.matchAll(/^\/dev\/stdin:(\d+):[\d-]+: Error: (.*)$/gm)];
  const first = errors[0];
  if (!first) {
    const why = stderr.trim().split('\n')[0] || (signal ? `killed by ${signal}` : `exit status ${code}`);
    return new BerthError('internal', `nft: ${why}`);
  }
  const n = Number(first[1]);
  const line = lineAt(script, n);
  const more = errors.length > 1 ? ` (and ${errors.length - 1} more error${errors.length > 2 ? 's' : ''})` : '';
  return new BerthError('internal', `nft: line ${n}: ${first[2]!.trim()}: ${line.length > 300 ? `${line.slice(0, 300)}...` : line}${more}`);
}

function lineAt(text: string, n: number): string {
  let start = 0;
  for (let i = 1; i < n; i++) {
    start = text.indexOf('\n', start) + 1;
    if (start === 0) return '';
  }
  const end = text.indexOf('\n', start);
  return text.slice(start, end === -1 ? undefined : end);
}

function countLines(text: string): number {
  let n = 0;
  for (let i = text.indexOf('\n'); i !== -1; i = text.indexOf('\n', i + 1)) n++;
  return n;
}

const msSince = (started: bigint) => Number(process.hrtime.bigint() - started) / 1e6;
