// berth auth can-i VERB RESOURCE [NAME] | VERB RESOURCE/NAME [-n NS | -A] [--as USER]
// [--as-group G]... [-q]: "yes" (exit 0) or "no" (exit 1), as kubectl auth can-i answers.

import { parseFlags } from '../common/args';
import { CliError } from '../common/errors';
import type { Verb } from './types';

export const auth: Verb = async (ctx, argv) => {
  const [sub, ...rest] = argv;
  if (sub !== 'can-i') throw new CliError(`unknown command "auth ${sub ?? ''}": berth auth can-i VERB RESOURCE`);
  const { values, positionals } = parseFlags(rest, {
    namespace: { type: 'string', short: 'n' },
    'all-namespaces': { type: 'boolean', short: 'A' },
    as: { type: 'string' },
    'as-group': { type: 'string', multiple: true },
    quiet: { type: 'boolean', short: 'q' },
  });
  if (positionals.length < 2 || positionals.length > 3) throw new CliError('you must specify two or three arguments: verb, resource, and optional resourceName');
  const [verb, resourceArg, nameArg] = positionals as [string, string, string | undefined];
  const slash = resourceArg.indexOf('/');
  // "pods/log" is a subresource; "pod/web" (a kind alias and a name) names one object.
  const [resource, name] = nameArg === undefined && slash > 0 && !['log', 'exec', 'status', 'scale', 'attach', 'portforward'].includes(resourceArg.slice(slash + 1))
    ? [resourceArg.slice(0, slash), resourceArg.slice(slash + 1)]
    : [resourceArg, nameArg ?? ''];
  if (values['as-group']?.length && !values.as) throw new CliError('--as-group needs --as USER');
  const answer = await ctx.client.reviewAccess({
    verb,
    resource,
    name,
    namespace: values['all-namespaces'] ? '' : values.namespace || 'default',
    user: values.as ?? '',
    groups: values['as-group'] ?? [],
  });
  if (!values.quiet) ctx.out(answer.allowed ? 'yes\n' : 'no\n');
  return answer.allowed ? 0 : 1;
};
