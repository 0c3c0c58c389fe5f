// berth controller: run the API server, the store and the control loops in the foreground until
// SIGINT/SIGTERM.

import { parseArgs } from 'node:util';
import { BerthError } from '../proto/errors';
import { DEFAULT_LISTEN, DEFAULT_NODE_GRACE_PERIOD_MS, DEFAULT_POD_EVICTION_TIMEOUT_MS, startController } from '../controller';

export const DEFAULT_CONTROLLER_DATA_ROOT = '/var/lib/berth/controller';

export async function runControllerCommand(argv: string[]): Promise<void> {
  let values;
  try {
    ({ values } = parseArgs({
      args: argv,
      options: {
        'data-root': { type: 'string', default: DEFAULT_CONTROLLER_DATA_ROOT },
        listen: { type: 'string', default: DEFAULT_LISTEN },
        store: { type: 'string', default: 'sqlite' },
        'node-grace-period': { type: 'string' },
        'pod-eviction-timeout': { type: 'string' },
      },
      strict: true,
    }));
  } catch (err) {
    throw new BerthError('invalid-argument', (err as Error).message);
  }
  const controller = await startController({
    dataRoot: values['data-root'],
    listen: values.listen,
    store: values.store,
    nodeGracePeriodMs: durationFlag('--node-grace-period', values['node-grace-period'], DEFAULT_NODE_GRACE_PERIOD_MS),
    podEvictionTimeoutMs: durationFlag('--pod-eviction-timeout', values['pod-eviction-timeout'], DEFAULT_POD_EVICTION_TIMEOUT_MS),
    log: (line) => process.stdout.write(`${line}\n`),
  });
  process.stdout.write(`berth controller: listening on ${controller.address} (data root ${values['data-root']}, store ${values.store})\n`);
  await new Promise<void>((resolve) => {
    process.once('SIGINT', resolve);
    process.once('SIGTERM', resolve);
  });
  await controller.stop();
}

/** "500ms", "4s", "2m", "1h" → milliseconds. */
export function durationFlag(flag: string, value: string | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  const m = /^(\d+(?:\.\d+)?)(ms|s|m|h)$/.exec(value.trim());
  if (!m) throw new BerthError('invalid-argument', `${flag}: "${value}" is not a duration (use e.g. 500ms, 4s, 2m)`);
  const unit = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 }[m[2] as 'ms' | 's' | 'm' | 'h'];
  return Math.round(Number(m[1]) * unit);
}
