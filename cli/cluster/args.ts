// Flag parsing for the cluster verbs: node:util parseArgs with kubectl's spellings and errors.

import { parseArgs, type ParseArgsConfig } from 'node:util';
import { parseDuration } from './age';
import { CliError } from './errors';

export type Options = NonNullable<ParseArgsConfig['options']>;

/** Namespace flags every namespaced verb takes. */
export const NAMESPACE_OPTIONS = {
  namespace: { type: 'string', short: 'n' },
  'all-namespaces': { type: 'boolean', short: 'A' },
} as const satisfies Options;

/**
 * Parse `argv`. Flags that take an optional value (`--wait`, `--dry-run`, `--watch` of rollout
 * status) are given theirs when written bare: parseArgs only knows required values.
 */
export function parse<const O extends Options>(argv: string[], options: O, bareDefaults: Record<string, string> = {}) {
  const args = argv.map((a) => (a.startsWith('--') && Object.hasOwn(bareDefaults, a.slice(2)) ? `${a}=${bareDefaults[a.slice(2)]}` : a));
  try {
    return parseArgs({ args, options, allowPositionals: true as const, strict: true as const });
  } catch (err) {
    throw new CliError(kubectlWording((err as Error).message));
  }
}

/** parseArgs's messages, shortened to what kubectl would say. */
function kubectlWording(message: string): string {
  const unknown = /Unknown option '([^']+)'/.exec(message);
  if (unknown) return `unknown flag: ${unknown[1]}`;
  const missing = /Option '(?:-\w, )?(--[\w-]+)(?: <value>)?' argument missing/.exec(message);
  if (missing) return `flag needs an argument: ${missing[1]}`;
  return message.split('. To specify')[0]!.replace(/\.$/, '');
}

/** The namespace a verb works in: -n, else "default"; with -A, every namespace (undefined). */
export function namespaceOf(values: { namespace?: string; 'all-namespaces'?: boolean }): { namespace: string | undefined; all: boolean } {
  if (values['all-namespaces']) return { namespace: undefined, all: true };
  return { namespace: values.namespace || 'default', all: false };
}

/** A flag that must be a non-negative integer. */
export function intFlag(flag: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  if (!/^\d+$/.test(value.trim())) throw new CliError(`invalid argument "${value}" for "${flag}" flag: expected a non-negative integer`);
  return Number(value);
}

/** A duration flag ("30s", "5m", "1h", bare seconds; "0" means no limit where the verb says so). */
export function durationFlag(flag: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const ms = parseDuration(value);
  if (ms === undefined) throw new CliError(`invalid argument "${value}" for "${flag}" flag: expected a duration such as 30s, 5m or 1h`);
  return ms;
}

export const OUTPUT_FORMATS = ['wide', 'yaml', 'json', 'name'] as const;
export type OutputFormat = (typeof OUTPUT_FORMATS)[number];

export function outputFlag(value: string | undefined, allowed: readonly OutputFormat[] = OUTPUT_FORMATS): OutputFormat | undefined {
  if (value === undefined || value === '') return undefined;
  if (!(allowed as readonly string[]).includes(value)) {
    throw new CliError(`unable to match a printer suitable for the output format "${value}", allowed formats are: ${allowed.join(',')}`);
  }
  return value as OutputFormat;
}
