// npm run chaos: break a real cluster on a seeded schedule while Deployments roll, then check
// that nothing acknowledged was lost, that it converged, and that no host kept anything (chaos.ts).
//
//   npm run chaos -- [--seed N] [--duration 5m] [--store sqlite|etcd|both] [--converge-timeout 3m]
//
// Without --seed a random one is taken; every run prints its seed and the command that replays it.
// --store both (the default) runs on SQLite (one controller) and then on a three-member etcd with two
// controllers. Exits 1 when an invariant failed.

import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import { Cleanup } from '../bench/cleanup';
import { runChaos, type ChaosReport } from './chaos';
import type { ChaosStore } from './cluster';
import { parseDuration } from './schedule';

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: {
      seed: { type: 'string' },
      duration: { type: 'string', default: '5m' },
      store: { type: 'string', default: 'both' },
      'converge-timeout': { type: 'string', default: '3m' },
    },
  });
  const seed = values.seed === undefined ? Math.floor(Math.random() * 2 ** 31) : Number(values.seed);
  if (!Number.isInteger(seed) || seed < 0) throw new Error(`invalid --seed "${values.seed}": expected a non-negative integer`);
  const stores: ChaosStore[] = values.store === 'both' ? ['sqlite', 'etcd'] : values.store === 'sqlite' || values.store === 'etcd' ? [values.store] : [];
  if (stores.length === 0) throw new Error(`invalid --store "${values.store}": expected sqlite, etcd or both`);
  const durationMs = parseDuration(values.duration);
  const convergeTimeoutMs = parseDuration(values['converge-timeout']);
  if (process.getuid?.() !== 0) throw new Error('npm run chaos needs root (network namespaces, mounts, runc)');

  const reports: ChaosReport[] = [];
  // One cleanup, run after each store's cluster (and on SIGINT/SIGTERM).
  const cleanup = new Cleanup();
  cleanup.onSignals();
  for (const store of stores) {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), `berth-chaos-${store}-`));
    cleanup.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
    try {
      reports.push(await runChaos(cleanup, dir, { seed, durationMs, store, convergeTimeoutMs, log: (line) => process.stderr.write(`${line}\n`) }));
    } finally {
      await cleanup.run();
    }
  }
  for (const r of reports) {
    const acknowledged = r.attempts.filter((a) => a.acknowledged).length;
    process.stdout.write(`${r.store}: seed ${r.seed}, ${r.faults.length} faults, ${acknowledged}/${r.attempts.length} applies acknowledged, ${r.probePods} probe pods, `
      + `${r.convergedAfterMs === undefined ? 'did not converge' : `converged ${(r.convergedAfterMs / 1000).toFixed(1)}s after the last fault`}, ${r.violations.length} violations\n`);
    for (const v of r.violations) process.stdout.write(`  ${v}\n`);
  }
  return reports.every((r) => r.violations.length === 0) ? 0 : 1;
}

main().then((code) => process.exit(code), (err: Error) => {
  process.stderr.write(`chaos: ${err.message}\n`);
  process.exit(2);
});
