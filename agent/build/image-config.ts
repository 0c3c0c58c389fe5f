// How a Dockerfile's metadata instructions read their (expanded) arguments into an image config,
// with Docker's rules and messages: EXPOSE's port/protocol forms and ranges, HEALTHCHECK's
// durations, STOPSIGNAL's names, COPY's --chmod and --chown. Pure.

import { constants } from 'node:os';
import { BerthError } from '../../proto/errors';
import type { Healthcheck } from '../oci';
import type { CommandForm } from './dockerfile';

const MAX_PORT = 65535;

/**
 * EXPOSE's words as ExposedPorts keys: "80" -> "80/tcp", "7000-7002/udp" -> three keys. A host
 * part ("8080:80", "0.0.0.0:1234:1234/tcp") is dropped as Docker drops it: only the container's
 * side is exposed.
 */
export function exposedPorts(words: string[]): string[] {
  const out: string[] = [];
  for (const word of words) {
    const slash = word.lastIndexOf('/');
    const portPart = slash < 0 ? word : word.slice(0, slash);
    const proto = (slash < 0 || slash === word.length - 1 ? 'tcp' : word.slice(slash + 1)).toLowerCase();
    if (!['tcp', 'udp', 'sctp'].includes(proto)) throw new BerthError('invalid-argument', `invalid proto: ${word.slice(slash + 1)}`);
    const parts = portPart.split(':');
    // ip:hostPort:containerPort: the address must be one (a name such as localhost is refused).
    if (parts.length > 3 || (parts.length === 3 && parts[0] !== '' && !/^[\d.]+$|^\[?[0-9a-fA-F:]+\]?$/.test(parts[0]!))) {
      throw new BerthError('invalid-argument', `invalid containerPort: ${word}`);
    }
    const container = parts.at(-1)!;
    const m = /^(\d+)(?:-(\d+))?$/.exec(container);
    if (!m) throw new BerthError('invalid-argument', `invalid containerPort: ${word}`);
    const start = Number(m[1]);
    const end = m[2] === undefined ? start : Number(m[2]);
    if (end > MAX_PORT || end < start) throw new BerthError('invalid-argument', `invalid port range: ${word}`);
    for (let p = start; p <= end; p++) out.push(`${p}/${proto}`);
  }
  return out;
}

/** A Go duration ("30s", "1m30s", "1.5h", "300ms", "-1s") in nanoseconds, as time.ParseDuration reads it. */
export function parseDuration(text: string, flag: string): number {
  const unit: Record<string, number> = { ns: 1, us: 1e3, '\u00b5s': 1e3, '\u03bcs': 1e3, ms: 1e6, s: 1e9, m: 60e9, h: 3600e9 };
  const bad = () => new BerthError('invalid-argument', `invalid duration for --${flag}: "${text}" (for example 30s, 1m30s)`);
  const sign = text.startsWith('-') ? -1 : 1;
  const body = text.replace(/^[-+]/, '');
  if (body === '0') return 0;
  const re = /(\d+(?:\.\d*)?|\.\d+)(ns|us|\u00b5s|\u03bcs|ms|s|m|h)/gy;
  let total = 0;
  let at = 0;
  for (let m = re.exec(body); m; m = re.exec(body)) {
    total += Number(m[1]) * unit[m[2]!]!;
    at = re.lastIndex;
  }
  if (body === '' || at !== body.length) throw bad();
  // Go's durations are int64 nanoseconds.
  if (total > 9223372036854775807) throw new BerthError('invalid-argument', `invalid duration for --${flag}: "${text}" is out of range`);
  return sign * Math.round(total);
}

/** HEALTHCHECK's test and flags as the config's Healthcheck, checked as Docker checks them. */
export function healthcheck(test: CommandForm | undefined, options: Partial<Record<string, string>>): Healthcheck {
  if (!test) return { Test: ['NONE'] };
  const check: Healthcheck = { Test: 'exec' in test ? ['CMD', ...test.exec] : ['CMD-SHELL', test.shell] };
  const durations: Array<[string, keyof Healthcheck]> = [['interval', 'Interval'], ['timeout', 'Timeout'], ['start-period', 'StartPeriod'], ['start-interval', 'StartInterval']];
  for (const [flag, field] of durations) {
    const value = options[flag];
    // An empty value is the default, as an absent one.
    if (value === undefined || value === '') continue;
    const ns = parseDuration(value, flag);
    if (ns !== 0 && ns < 1e6) throw new BerthError('invalid-argument', `--${flag} cannot be less than 1ms`);
    (check as Record<string, unknown>)[field] = ns;
  }
  if (options.retries !== undefined) {
    const retries = /^[+-]?\d+$/.test(options.retries) ? Number(options.retries) : NaN;
    if (!Number.isInteger(retries) || retries > 2147483647) throw new BerthError('invalid-argument', `--retries must be an integer, not "${options.retries}"`);
    if (retries < 0) throw new BerthError('invalid-argument', '--retries cannot be negative');
    check.Retries = retries;
  }
  return check;
}

/** Real-time signals by name, as Docker's signal table has them (RTMIN+1..+15, RTMAX-14..-1). */
const REALTIME = new Set(['RTMIN', 'RTMAX', ...Array.from({ length: 15 }, (_, i) => `RTMIN+${i + 1}`), ...Array.from({ length: 14 }, (_, i) => `RTMAX-${i + 1}`)]);

/** STOPSIGNAL: a signal name (with or without SIG) or a number. */
export function checkStopSignal(signal: string): string {
  if (/^\d+$/.test(signal)) {
    if (Number(signal) > 0) return signal;
  } else {
    const bare = signal.toUpperCase().replace(/^SIG/, '');
    if (`SIG${bare}` in constants.signals || REALTIME.has(bare) || bare === 'CLD') return signal;
  }
  throw new BerthError('invalid-argument', `invalid signal: ${signal}`);
}

/** --chmod: octal permission bits (0755, 755, 4755; at most 07777). */
export function parseChmod(text: string): number {
  const mode = /^[0-7]+$/.test(text) ? parseInt(text, 8) : NaN;
  if (!(mode <= 0o7777)) throw new BerthError('invalid-argument', `invalid --chmod "${text}": expected octal permission bits such as 0755`);
  return mode;
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
