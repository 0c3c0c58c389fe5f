// Flags and arguments for every verb, node (docker's) and cluster (kubectl's) alike: node:util
// parseArgs, with the words both tools print for a bad flag (they share cobra's).

import { parseArgs, type ParseArgsConfig } from 'node:util';
import { CliError } from './errors';

export type Options = NonNullable<ParseArgsConfig['options']>;

/**
 * Parse `argv` strictly, positionals allowed. Flags that take an optional value (`--wait`,
 * `--dry-run`) are given `bareDefaults`' value when written bare: parseArgs knows only required ones.
 */
export function parseFlags<const O extends Options>(argv: string[], options: O, bareDefaults: Record<string, string> = {}) {
  const args = argv.map((a) => (a.startsWith('--') && Object.hasOwn(bareDefaults, a.slice(2)) ? `${a}=${bareDefaults[a.slice(2)]}` : a));
  try {
    return parseArgs({ args, options, allowPositionals: true as const, strict: true as const });
  } catch (err) {
    throw new CliError(cobraWording((err as Error).message));
  }
}

/** parseArgs's messages, in the words docker and kubectl print. */
function cobraWording(message: string): string {
  const unknown = /Unknown option '([^']+)'/.exec(message);
  if (unknown) return `unknown flag: ${unknown[1]}`;
  const missing = /Option '(?:-\w, )?(--[\w-]+)(?: <value>)?' argument missing/.exec(message);
  if (missing) return `flag needs an argument: ${missing[1]}`;
  return message.split('. To specify')[0]!.replace(/\.$/, '');
}

/** docker's complaint when a verb has too few arguments: `"berth pull REF" requires an argument`. */
export function requireArgs(positionals: string[], count: number, usage: string, atLeast = false): void {
  if (positionals.length >= count) return;
  const what = count === 1 ? 'an argument' : `${count} arguments`;
  throw new CliError(`"${usage}" requires ${atLeast ? `at least ${count} argument${count > 1 ? 's' : ''}` : what}`);
}

/** "500ms", "30s", "5m", "1h30m", or a bare number of seconds → milliseconds; undefined when malformed. */
/**
 * A size flag as docker reads --keep-storage: a number with an optional binary unit (512MB, 2GB,
 * 1.5g, 100): bytes.
 */
export function sizeFlag(flag: string, value: string): number {
  const m = /^(\d+(?:\.\d+)?)\s*([kmgt]?i?b?)?$/i.exec(value.trim());
  if (!m) throw new CliError(`invalid --${flag} "${value}": a size such as 512MB or 2GB`);
  const unit = (m[2] ?? '').toLowerCase().replace(/i?b?$/, '');
  const power = ({ '': 0, k: 1, m: 2, g: 3, t: 4 } as Record<string, number>)[unit];
  if (power === undefined) throw new CliError(`invalid --${flag} "${value}": a size such as 512MB or 2GB`);
  return Math.round(Number(m[1]) * 1024 ** power);
}

export function parseDuration(text: string): number | undefined {
  const t = text.trim();
  if (/^\d+$/.test(t)) return Number(t) * 1000;
  if (!/^(\d+(\.\d+)?(ms|s|m|h))+$/.test(t)) return undefined;
  const units: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };
  let total = 0;
  for (const m of t.matchAll(/(\d+(?:\.\d+)?)(ms|s|m|h)/g)) total += Number(m[1]) * units[m[2]!]!;
  return Math.round(total);
}

/** A duration flag ("30s", "5m", "1h", bare seconds; "0" means no limit where the verb says so). */
export function durationFlag(flag: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const ms = parseDuration(value);
  if (ms === undefined) throw new CliError(`invalid argument "${value}" for "${flag}" flag: expected a duration such as 30s, 5m or 1h`);
  return ms;
}

/** A flag that must be a non-negative integer. */
export function intFlag(flag: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  if (!/^\d+$/.test(value.trim())) throw new CliError(`invalid argument "${value}" for "${flag}" flag: expected a non-negative integer`);
  return Number(value);
}
