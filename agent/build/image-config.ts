// How a Dockerfile's metadata instructions read their (expanded) arguments into an image config,
// with Docker's rules and messages: EXPOSE's port/protocol forms and ranges, HEALTHCHECK's
// durations, STOPSIGNAL's names, COPY's --chmod and --chown. Pure.

import { constants } from 'node:os';
import { BerthError } from '../../proto/errors';
import type { Healthcheck } from '../oci';
import type { CommandForm } from './dockerfile';

const MAX_PORT = 65535;

/** EXPOSE's words as ExposedPorts keys: "80" -> "80/tcp", "7000-7002/udp" -> three keys. */
export function exposedPorts(words: string[]): string[] {
  const out: string[] = [];
  for (const word of words) {
    const m = /^(\d+)(?:-(\d+))?(?:\/([a-zA-Z]+))?$/.exec(word);
    if (!m) throw new BerthError('invalid-argument', `invalid containerPort: ${word}`);
    const proto = (m[3] ?? 'tcp').toLowerCase();
    if (!['tcp', 'udp', 'sctp'].includes(proto)) throw new BerthError('invalid-argument', `invalid proto: ${m[3]}`);
    const start = Number(m[1]);
    const end = m[2] === undefined ? start : Number(m[2]);
    if (start < 1 || end > MAX_PORT || end < start) throw new BerthError('invalid-argument', `invalid port range: ${word}`);
    for (let p = start; p <= end; p++) out.push(`${p}/${proto}`);
  }
  return out;
}

/** A Go duration ("30s", "1m30s", "1.5h", "300ms") in nanoseconds. */
export function parseDuration(text: string, flag: string): number {
  const unit: Record<string, number> = { ns: 1, us: 1e3, 'µs': 1e3, ms: 1e6, s: 1e9, m: 60e9, h: 3600e9 };
  if (text === '0') return 0;
  const re = /(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|ms|s|m|h)/gy;
  let total = 0;
  let at = 0;
  for (let m = re.exec(text); m; m = re.exec(text)) {
    total += Number(m[1]) * unit[m[2]!]!;
    at = re.lastIndex;
  }
  if (text === '' || at !== text.length) throw new BerthError('invalid-argument', `invalid duration for --${flag}: "${text}" (for example 30s, 1m30s)`);
  return Math.round(total);
}

/** HEALTHCHECK's test and flags as the config's Healthcheck, checked as Docker checks them. */
export function healthcheck(test: CommandForm | undefined, options: Partial<Record<string, string>>): Healthcheck {
  if (!test) return { Test: ['NONE'] };
  const check: Healthcheck = { Test: 'exec' in test ? ['CMD', ...test.exec] : ['CMD-SHELL', test.shell] };
  const durations: Array<[string, keyof Healthcheck]> = [['interval', 'Interval'], ['timeout', 'Timeout'], ['start-period', 'StartPeriod'], ['start-interval', 'StartInterval']];
  for (const [flag, field] of durations) {
    const value = options[flag];
    if (value === undefined) continue;
    const ns = parseDuration(value, flag);
    if (ns !== 0 && ns < 1e6) throw new BerthError('invalid-argument', `--${flag} cannot be less than 1ms`);
    (check as Record<string, unknown>)[field] = ns;
  }
  if (options.retries !== undefined) {
    const retries = Number(options.retries);
    if (!Number.isInteger(retries) || retries < 0) throw new BerthError('invalid-argument', `--retries must be a non-negative integer, not "${options.retries}"`);
    check.Retries = retries;
  }
  return check;
}

/** STOPSIGNAL: a signal name (with or without SIG) or number. */
export function checkStopSignal(signal: string): string {
  const name = signal.toUpperCase().startsWith('SIG') ? signal.toUpperCase() : `SIG${signal.toUpperCase()}`;
  if (/^\d+$/.test(signal) ? Number(signal) > 0 && Number(signal) < 65 : name in constants.signals || /^SIGRTM(IN|AX)(\+|-)\d+$/.test(name)) return signal;
  throw new BerthError('invalid-argument', `invalid signal: ${signal}`);
}

/** --chmod: octal permission bits (Docker's form; 0755, 755, 4755). */
export function parseChmod(text: string): number {
  if (!/^[0-7]{3,4}$/.test(text)) throw new BerthError('invalid-argument', `invalid --chmod "${text}": expected octal permission bits such as 0755`);
  return parseInt(text, 8);
}

/** KEY=VALUE lines as a map (later wins) and back, keeping the first position of each key. */
export function envMap(env: readonly string[] | undefined): Map<string, string> {
  const map = new Map<string, string>();
  for (const line of env ?? []) {
    const eq = line.indexOf('=');
    map.set(eq < 0 ? line : line.slice(0, eq), eq < 0 ? '' : line.slice(eq + 1));
  }
  return map;
}

export const envList = (map: ReadonlyMap<string, string>): string[] => [...map].map(([k, v]) => `${k}=${v}`);
