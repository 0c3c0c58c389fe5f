// berth token create [--ttl 24h] [--description TEXT] | list | delete ID|TOKEN: the join tokens an
// agent joins with (kubeadm token's verbs). `create` prints the whole token, once; the controller
// keeps only a hash of its secret.

import { durationFlag, parseFlags } from '../common/args';
import { CliError } from '../common/errors';
import { renderTable } from '../common/table';
import { humanDuration } from './age';
import type { Verb } from './types';

export const token: Verb = async (ctx, argv) => {
  const [sub, ...rest] = argv;
  if (sub === 'create') {
    const { values, positionals } = parseFlags(rest, { ttl: { type: 'string' }, description: { type: 'string' } });
    noArguments(positionals, 'token create');
    const ttlMs = durationFlag('--ttl', values.ttl);
    if (ttlMs !== undefined && ttlMs < 1000) throw new CliError(`invalid argument "${values.ttl}" for "--ttl" flag: at least 1s`);
    const made = await ctx.client.createToken({ ttlSeconds: Math.floor((ttlMs ?? 0) / 1000), description: values.description ?? '' });
    ctx.out(`${made.token}\n`);
    return 0;
  }
  if (sub === 'list') {
    const { positionals } = parseFlags(rest, {});
    noArguments(positionals, 'token list');
    const tokens = await ctx.client.listTokens();
    const now = ctx.now();
    const rows = tokens.map((t) => [
      t.id,
      Date.parse(t.expires) <= now.getTime() ? '<expired>' : humanDuration(Date.parse(t.expires) - now.getTime()),
      t.expires,
      t.usedBy ? `used by ${t.usedBy}` : 'unused',
      t.description || '<none>',
    ]);
    ctx.out(renderTable(['TOKEN ID', 'TTL', 'EXPIRES', 'STATE', 'DESCRIPTION'], rows));
    return 0;
  }
  if (sub === 'delete') {
    const { positionals } = parseFlags(rest, {});
    if (positionals.length === 0) throw new CliError('missing token ID (berth token delete ID...)');
    for (const id of positionals) {
      await ctx.client.deleteToken(id);
      ctx.out(`bootstrap token "${id.includes('::') ? id.split('::')[1]!.split('.')[0] : id}" deleted\n`);
    }
    return 0;
  }
  throw new CliError(`unknown command "token ${sub ?? ''}": berth token create|list|delete`);
};

function noArguments(positionals: string[], command: string): void {
  if (positionals.length > 0) throw new CliError(`berth ${command} takes no arguments (got "${positionals[0]}")`);
}
