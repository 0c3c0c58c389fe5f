// berth create configmap NAME [--from-literal k=v] [--from-file [key=]PATH] [--from-env-file PATH]
// berth create secret generic NAME (the same, [--type T]) | docker-registry NAME --docker-server S
//   --docker-username U --docker-password P [--docker-email E] | tls NAME --cert PATH --key PATH
// [-n NS] [--dry-run=client -o yaml|json]: the object made from local files and literals, as
// kubectl create makes it ("configmap/app created"). Values are read here; a Secret's travel
// base64 and are sealed at rest by the controller.

import * as fs from 'node:fs';
import * as path from 'node:path';
import type { ConfigMap, CronJob, Job, Resource, Secret } from '../../proto/resources';
import { parseFlags } from '../common/args';
import { CliError } from '../common/errors';
import { isNotFound } from './errors';
import { formatObjects } from './output';
import { objectRef, pluralRef, resolveKind } from './resource-names';
import type { Verb, VerbContext } from './types';

const SOURCE_FLAGS = {
  'from-literal': { type: 'string', multiple: true },
  'from-file': { type: 'string', multiple: true },
  'from-env-file': { type: 'string', multiple: true },
} as const;

const COMMON_FLAGS = {
  namespace: { type: 'string', short: 'n' },
  'dry-run': { type: 'string' },
  output: { type: 'string', short: 'o' },
} as const;

export const create: Verb = async (ctx, argv) => {
  const [what, ...rest] = argv;
  let object: Resource;
  let flags: { namespace?: string | undefined; 'dry-run'?: string | undefined; output?: string | undefined };
  if (what === 'configmap' || what === 'cm') {
    const { values, positionals } = parseFlags(rest, { ...SOURCE_FLAGS, ...COMMON_FLAGS }, { 'dry-run': 'client' });
    const name = onlyName(positionals, 'berth create configmap NAME [--from-literal k=v] [--from-file [key=]PATH] [--from-env-file PATH]');
    const entries = collect(values, `ConfigMap "${name}"`);
    const data: Record<string, string> = {};
    const binaryData: Record<string, string> = {};
    for (const [key, bytes] of entries) {
      if (isUtf8(bytes)) data[key] = bytes.toString('utf8');
      else binaryData[key] = bytes.toString('base64');
    }
    object = { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name, namespace: values.namespace || 'default' }, ...(Object.keys(data).length ? { data } : {}), ...(Object.keys(binaryData).length ? { binaryData } : {}) } satisfies ConfigMap;
    flags = values;
  } else if (what === 'secret') {
    const [type, ...more] = rest;
    ({ object, flags } = secret(type, more));
  } else if (what === 'job') {
    ({ object, flags } = await job(ctx, rest));
  } else {
    throw new CliError(`berth create supports configmap, secret generic|docker-registry|tls and job (got ${JSON.stringify(what ?? '')})`);
  }
  const dryRun = flags['dry-run'];
  if (dryRun !== undefined && dryRun !== 'client' && dryRun !== 'server' && dryRun !== 'none') throw new CliError(`--dry-run must be client, server or none (got ${JSON.stringify(dryRun)})`);
  const ref = objectRef(object);
  if (dryRun === 'client') {
    ctx.out(flags.output === 'yaml' || flags.output === 'json' ? formatObjects([object], flags.output, true) : `${ref} created (dry run)\n`);
    return 0;
  }
  try {
    await ctx.client.get(object.kind, object.metadata.namespace, object.metadata.name!);
    throw new CliError(`Error from server (AlreadyExists): ${pluralRef(resolveKind(object.kind), object.metadata.name!)} already exists`);
  } catch (err) {
    if (!isNotFound(err)) throw err;
  }
  await ctx.client.apply([object], { dryRun: dryRun === 'server', applySet: '', prune: false });
  ctx.out(`${ref} created${dryRun === 'server' ? ' (server dry run)' : ''}\n`);
  return 0;
};

/**
 * create job NAME --from=cronjob/CJ: a Job of the CronJob's template, run now (as kubectl, annotated
 * cronjob.kubernetes.io/instantiate: manual and owned, not controlled, by the CronJob); or
 * create job NAME --image=IMAGE [-- COMMAND [ARG...]].
 */
async function job(ctx: VerbContext, argv: string[]): Promise<{ object: Job; flags: { namespace?: string | undefined; 'dry-run'?: string | undefined; output?: string | undefined } }> {
  const usage = 'berth create job NAME --from=cronjob/NAME | --image=IMAGE [-- COMMAND [ARG...]]';
  const dash = argv.indexOf('--');
  const command = dash >= 0 ? argv.slice(dash + 1) : [];
  const { values, positionals } = parseFlags(dash >= 0 ? argv.slice(0, dash) : argv, { ...COMMON_FLAGS, from: { type: 'string' }, image: { type: 'string' } }, { 'dry-run': 'client' });
  const name = onlyName(positionals, usage);
  const namespace = values.namespace || 'default';
  if (values.from) {
    const slash = values.from.indexOf('/');
    const kind = slash > 0 ? resolveKind(values.from.slice(0, slash)) : undefined;
    if (!kind || kind.kind !== 'CronJob') throw new CliError(`--from must name a cronjob: cronjob/NAME (got ${JSON.stringify(values.from)})`);
    const cj = await ctx.client.get<CronJob>('CronJob', namespace, values.from.slice(slash + 1));
    const template = cj.spec.jobTemplate;
    return {
      object: {
        apiVersion: 'batch/v1', kind: 'Job',
        metadata: {
          name, namespace,
          ...(template.metadata?.labels ? { labels: template.metadata.labels } : {}),
          annotations: { ...template.metadata?.annotations, 'cronjob.kubernetes.io/instantiate': 'manual' },
          ownerReferences: [{ apiVersion: 'batch/v1', kind: 'CronJob', name: cj.metadata.name!, uid: cj.metadata.uid ?? '' }],
        },
        spec: template.spec,
      },
      flags: values,
    };
  }
  if (!values.image) throw new CliError(`either --image or --from must be specified (${usage})`);
  return {
    object: {
      apiVersion: 'batch/v1', kind: 'Job', metadata: { name, namespace },
      spec: { template: { spec: { containers: [{ name, image: values.image, ...(command.length ? { command } : {}) }], restartPolicy: 'Never' } } },
    },
    flags: values,
  };
}

function secret(type: string | undefined, argv: string[]): { object: Secret; flags: { namespace?: string | undefined; 'dry-run'?: string | undefined; output?: string | undefined } } {
  const meta = (name: string, namespace: string | undefined) => ({ name, namespace: namespace || 'default' });
  const b64 = (b: Buffer | string) => Buffer.from(b).toString('base64');
  switch (type) {
    case 'generic': {
      const { values, positionals } = parseFlags(argv, { ...SOURCE_FLAGS, ...COMMON_FLAGS, type: { type: 'string' } }, { 'dry-run': 'client' });
      const name = onlyName(positionals, 'berth create secret generic NAME [--from-literal k=v] [--from-file [key=]PATH] [--from-env-file PATH] [--type T]');
      const data = Object.fromEntries([...collect(values, `Secret "${name}"`)].map(([k, v]) => [k, b64(v)]));
      return { object: { apiVersion: 'v1', kind: 'Secret', metadata: meta(name, values.namespace), type: values.type || 'Opaque', data }, flags: values };
    }
    case 'docker-registry': {
      const { values, positionals } = parseFlags(argv, {
        ...COMMON_FLAGS, 'docker-server': { type: 'string', default: 'https://index.docker.io/v1/' }, 'docker-username': { type: 'string' },
        'docker-password': { type: 'string' }, 'docker-email': { type: 'string' },
      }, { 'dry-run': 'client' });
      const name = onlyName(positionals, 'berth create secret docker-registry NAME --docker-server S --docker-username U --docker-password P');
      if (!values['docker-username'] || !values['docker-password']) throw new CliError('--docker-username and --docker-password are required (berth create secret docker-registry NAME ...)');
      const server = values['docker-server'];
      const auth = b64(`${values['docker-username']}:${values['docker-password']}`);
      const config = { auths: { [server]: { username: values['docker-username'], password: values['docker-password'], ...(values['docker-email'] ? { email: values['docker-email'] } : {}), auth } } };
      return { object: { apiVersion: 'v1', kind: 'Secret', metadata: meta(name, values.namespace), type: 'kubernetes.io/dockerconfigjson', data: { '.dockerconfigjson': b64(JSON.stringify(config)) } }, flags: values };
    }
    case 'tls': {
      const { values, positionals } = parseFlags(argv, { ...COMMON_FLAGS, cert: { type: 'string' }, key: { type: 'string' } }, { 'dry-run': 'client' });
      const name = onlyName(positionals, 'berth create secret tls NAME --cert PATH --key PATH');
      if (!values.cert || !values.key) throw new CliError('--cert and --key are required (berth create secret tls NAME --cert PATH --key PATH)');
      const cert = readSource(values.cert);
      const key = readSource(values.key);
      if (!cert.includes('-----BEGIN CERTIFICATE-----')) throw new CliError(`${values.cert}: not a PEM certificate`);
      if (!/-----BEGIN [A-Z ]*PRIVATE KEY-----/.test(key.toString())) throw new CliError(`${values.key}: not a PEM private key`);
      return { object: { apiVersion: 'v1', kind: 'Secret', metadata: meta(name, values.namespace), type: 'kubernetes.io/tls', data: { 'tls.crt': b64(cert), 'tls.key': b64(key) } }, flags: values };
    }
    default:
      throw new CliError(`berth create secret takes generic, docker-registry or tls (got ${JSON.stringify(type ?? '')})`);
  }
}

function onlyName(positionals: string[], usage: string): string {
  if (positionals.length !== 1) throw new CliError(`exactly one NAME is required, got ${positionals.length} (${usage})`);
  return positionals[0]!;
}

/** The keys and bytes of --from-literal, --from-file and --from-env-file, in order; a key twice is refused. */
function collect(values: { 'from-literal'?: string[] | undefined; 'from-file'?: string[] | undefined; 'from-env-file'?: string[] | undefined }, what: string): Map<string, Buffer> {
  const out = new Map<string, Buffer>();
  const add = (key: string, value: Buffer) => {
    if (!/^[-._a-zA-Z0-9]+$/.test(key) || key.length > 253) throw new CliError(`"${key}" is not a valid key name for ${what}: a key of letters, digits, '-', '_' or '.'`);
    if (out.has(key)) throw new CliError(`cannot add key ${key}, another key by that name already exists in ${what}`);
    out.set(key, value);
  };
  for (const literal of values['from-literal'] ?? []) {
    const eq = literal.indexOf('=');
    if (eq <= 0) throw new CliError(`--from-literal ${JSON.stringify(literal)}: expected KEY=VALUE`);
    add(literal.slice(0, eq), Buffer.from(literal.slice(eq + 1)));
  }
  for (const spec of values['from-file'] ?? []) {
    const eq = spec.indexOf('=');
    const [key, source] = eq > 0 ? [spec.slice(0, eq), spec.slice(eq + 1)] : [undefined, spec];
    const stat = statOrFail(source);
    if (stat.isDirectory()) {
      if (key) throw new CliError(`--from-file ${spec}: a key cannot name a directory`);
      for (const entry of fs.readdirSync(source, { withFileTypes: true }).filter((e) => e.isFile()).sort((a, b) => a.name.localeCompare(b.name))) {
        add(entry.name, readSource(path.join(source, entry.name)));
      }
    } else add(key ?? path.basename(source), readSource(source));
  }
  for (const file of values['from-env-file'] ?? []) {
    for (const [i, raw] of readSource(file).toString('utf8').split('\n').entries()) {
      const line = raw.replace(/^\uFEFF/, '').trimStart();
      if (line === '' || line.startsWith('#')) continue;
      const eq = line.indexOf('=');
      if (eq <= 0) throw new CliError(`${file}:${i + 1}: expected KEY=VALUE, got ${JSON.stringify(raw)}`);
      add(line.slice(0, eq), Buffer.from(line.slice(eq + 1)));
    }
  }
  return out;
}

function statOrFail(file: string): fs.Stats {
  try {
    return fs.statSync(file);
  } catch (err) {
    throw new CliError(`error reading ${file}: ${(err as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file or directory' : (err as Error).message}`);
  }
}

function readSource(file: string): Buffer {
  statOrFail(file);
  return fs.readFileSync(file);
}

function isUtf8(bytes: Buffer): boolean {
  return Buffer.from(bytes.toString('utf8'), 'utf8').equals(bytes);
}
