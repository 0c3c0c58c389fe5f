// The network suite's attach + detach figure: what the agent's network module (agent/network,
// createContainerNetwork) takes to give a pod its namespace in 'bridge' mode (a namespace, the
// CNI bridge plugin with host-local IPAM) and to take it away again, as the pod worker calls it.
//
// It runs in a child process inside a network namespace made for it (`ip netns add`), so that the
// bridge, the iptables rules the network adds with its first attachment and ip_forward stay
// there; its namespace files and records live under a temporary directory. The first attaches
// (which make the bridge and add those rules) are not timed.
//
//   nsenter --net=/run/netns/NAME -- node network-attach.js DIR RUNS

import { spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { createContainerNetwork } from '../../agent/network';
import type { Cleanup } from './cleanup';
import { removeTree } from './tools';

const WARMUP = 3;

export interface AttachSamples {
  /** ms per attach('bridge'), in order. */
  attach: number[];
  /** ms per detach, in order. */
  detach: number[];
}

/** In the bench: RUNS timed attach + detach pairs in a namespace of their own; everything made is removed. */
export async function attachBench(runs: number, cleanup: Cleanup): Promise<AttachSamples> {
  const tag = randomBytes(3).toString('hex');
  const netns = `bna${tag}`;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'berth-bench-attach-'));
  const undo = () => {
    removeTree(dir); // the namespace files first (unmounted), then the directory
    spawnSync('ip', ['netns', 'del', netns]);
  };
  cleanup.teardown(undo);
  const made = spawnSync('ip', ['netns', 'add', netns], { encoding: 'utf8' });
  if (made.status !== 0) throw new Error(`ip netns add ${netns}: ${made.stderr.trim()}`);
  try {
    const child = spawn('setpriv', ['--pdeathsig', 'KILL', '--', 'nsenter', `--net=/run/netns/${netns}`, '--', process.execPath, __filename, dir, String(runs), tag], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const code = await new Promise<number | null>((resolve, reject) => {
      child.once('error', reject);
      child.once('close', resolve);
    });
    if (code !== 0) throw new Error(`attach bench exited ${code}: ${stderr.trim().slice(-2000)}`);
    return JSON.parse(stdout.trim().split('\n').pop()!) as AttachSamples;
  } finally {
    undo();
  }
}

/** The child, inside its namespace. */
async function child(dir: string, runs: number, tag: string): Promise<AttachSamples> {
  const network = createContainerNetwork({
    runDir: path.join(dir, 'run'),
    stateDir: path.join(dir, 'state'),
    bridge: `bnab${tag}`,
    subnet: '10.222.0.0/16',
  });
  const samples: AttachSamples = { attach: [], detach: [] };
  const ms = (since: bigint) => Number(process.hrtime.bigint() - since) / 1e6;
  try {
    for (let i = 0; i < WARMUP + runs; i++) {
      const id = `bench-pod-${i}`;
      let started = process.hrtime.bigint();
      const attachment = await network.attach(id, 'bridge', []);
      const attached = ms(started);
      if (!attachment?.ip) throw new Error(`attach ${id}: no address in ${JSON.stringify(attachment)}`);
      started = process.hrtime.bigint();
      await network.detach(id);
      const detached = ms(started);
      if (i >= WARMUP) {
        samples.attach.push(attached);
        samples.detach.push(detached);
      }
    }
  } finally {
    for (const id of await network.list()) await network.detach(id).catch(() => undefined);
    await network.destroy().catch((err: Error) => process.stderr.write(`destroy: ${err.message}\n`));
  }
  return samples;
}

if (require.main === module) {
  const [dir, runs, tag] = process.argv.slice(2);
  child(dir!, Number(runs), tag!).then(
    (s) => process.stdout.write(`${JSON.stringify(s)}\n`),
    (err: unknown) => {
      process.stderr.write(`${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
      process.exit(1);
    },
  );
}
