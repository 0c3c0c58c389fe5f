// Flags only the cluster verbs take (namespaces, output formats), on cli/common/args.ts's parser.

import type { Options } from '../common/args';
import { CliError } from '../common/errors';

/** Namespace flags every namespaced verb takes. */
export const NAMESPACE_OPTIONS = {
  namespace: { type: 'string', short: 'n' },
  'all-namespaces': { type: 'boolean', short: 'A' },
} as const satisfies Options;

/** The namespace a verb works in: -n, else "default"; with -A, every namespace (undefined). */
export function namespaceOf(values: { namespace?: string; 'all-namespaces'?: boolean }): { namespace: string | undefined; all: boolean } {
  if (values['all-namespaces']) return { namespace: undefined, all: true };
  return { namespace: values.namespace || 'default', all: false };
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
