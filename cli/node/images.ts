// Node verbs for images: pull, push, images, image inspect|history|prune, tag, rmi, save, load, login.

import { createReadStream, createWriteStream } from 'node:fs';
import * as fs from 'node:fs/promises';
import { pipeline } from 'node:stream/promises';
import { BerthError } from '../../proto/errors';
import type { ImagesClient } from '../../proto/grpc';
import { agentSocket, call, consume, fromAgentStatus, imagesClient } from './agent-client';
import { parseFlags, requireArgs } from '../common/args';
import { renderTable } from '../common/table';
import { ago, humanSize, shortId } from './format';
import { ProgressPrinter } from './progress';

type Verb = (client: ImagesClient, argv: string[]) => Promise<void>;

const out = (s: string) => process.stdout.write(s);

const pull: Verb = async (client, argv) => {
  const { values, positionals } = parseFlags(argv, { platform: { type: 'string' }, quiet: { type: 'boolean', short: 'q' } });
  requireArgs(positionals, 1, 'berth pull REF');
  const printer = new ProgressPrinter('pull');
  let last = '';
  await consume(client.Pull({ reference: positionals[0]!, platform: values.platform ?? '' }), (m) => {
    if (!values.quiet) printer.handle(m);
    if (m.kind === 'done') last = m.reference;
  });
  if (values.quiet) out(`${last}\n`);
};

const push: Verb = async (client, argv) => {
  const { values, positionals } = parseFlags(argv, { quiet: { type: 'boolean', short: 'q' } });
  requireArgs(positionals, 1, 'berth push REF');
  const printer = new ProgressPrinter('push');
  await consume(client.Push({ reference: positionals[0]! }), (m) => {
    if (!values.quiet) printer.handle(m);
  });
};

const images: Verb = async (client, argv) => {
  const { values, positionals } = parseFlags(argv, {
    all: { type: 'boolean', short: 'a' },
    quiet: { type: 'boolean', short: 'q' },
    digests: { type: 'boolean' },
    'no-trunc': { type: 'boolean' },
    filter: { type: 'string', short: 'f', multiple: true },
  });
  const res = await call(client.List.bind(client), { all: Boolean(values.all), filters: values.filter ?? [] });
  const wanted = positionals[0];
  const id = (s: string) => (values['no-trunc'] ? s : shortId(s));
  const rows: string[][] = [];
  for (const image of res.images) {
    const tags = image.repoTags.length ? image.repoTags : ['<none>:<none>'];
    for (const tag of tags) {
      const at = tag.lastIndexOf(':');
      const repo = tag.slice(0, at);
      if (wanted && repo !== wanted && tag !== wanted) continue;
      const digest = image.repoDigests.find((d) => d.startsWith(`${repo}@`))?.split('@')[1] ?? '<none>';
      rows.push([repo, tag.slice(at + 1), ...(values.digests ? [digest] : []), id(image.id), ago(image.created), humanSize(Number(image.size))]);
    }
  }
  if (values.quiet) {
    out([...new Set(rows.map((r) => r[values.digests ? 3 : 2]))].map((s) => `${s}\n`).join(''));
    return;
  }
  out(renderTable(['REPOSITORY', 'TAG', ...(values.digests ? ['DIGEST'] : []), 'IMAGE ID', 'CREATED', 'SIZE'], rows));
};

const inspect: Verb = async (client, argv) => {
  const { positionals } = parseFlags(argv, { format: { type: 'string', short: 'f' } });
  requireArgs(positionals, 1, 'berth image inspect IMAGE');
  const docs: unknown[] = [];
  let failed: BerthError | undefined;
  for (const name of positionals) {
    try {
      docs.push(JSON.parse((await call(client.Inspect.bind(client), { name })).json));
    } catch (err) {
      failed = err as BerthError;
    }
  }
  out(`${JSON.stringify(docs, null, 4)}\n`);
  if (failed) throw failed;
};

const history: Verb = async (client, argv) => {
  const { values, positionals } = parseFlags(argv, { 'no-trunc': { type: 'boolean' }, quiet: { type: 'boolean', short: 'q' } });
  requireArgs(positionals, 1, 'berth image history IMAGE');
  const res = await call(client.History.bind(client), { name: positionals[0]! });
  if (values.quiet) {
    out(res.rows.map((r) => `${r.id ? shortId(r.id) : '<missing>'}\n`).join(''));
    return;
  }
  const createdBy = (s: string) => (values['no-trunc'] || s.length <= 45 ? s : `${s.slice(0, 44)}…`);
  out(renderTable(
    ['IMAGE', 'CREATED', 'CREATED BY', 'SIZE', 'COMMENT'],
    res.rows.map((r) => [r.id ? (values['no-trunc'] ? r.id : shortId(r.id)) : '<missing>', r.created ? ago(r.created) : 'N/A', createdBy(r.createdBy), humanSize(Number(r.size)), r.comment]),
  ));
};

const tag: Verb = async (client, argv) => {
  const { positionals } = parseFlags(argv, {});
  requireArgs(positionals, 2, 'berth tag SOURCE_IMAGE TARGET_IMAGE');
  await call(client.Tag.bind(client), { source: positionals[0]!, target: positionals[1]! });
};

const rmi: Verb = async (client, argv) => {
  const { values, positionals } = parseFlags(argv, { force: { type: 'boolean', short: 'f' } });
  requireArgs(positionals, 1, 'berth rmi IMAGE');
  let failed: BerthError | undefined;
  for (const name of positionals) {
    try {
      const res = await call(client.Remove.bind(client), { name, force: Boolean(values.force) });
      for (const u of res.untagged) out(`Untagged: ${u}\n`);
      for (const d of res.deleted) out(`Deleted: ${d}\n`);
    } catch (err) {
      process.stderr.write(`Error response from agent: ${(err as Error).message}\n`);
      failed = err as BerthError;
    }
  }
  if (failed) process.exitCode = 1;
};

const prune: Verb = async (client, argv) => {
  const { values } = parseFlags(argv, { all: { type: 'boolean', short: 'a' }, force: { type: 'boolean', short: 'f' } });
  const res = await call(client.Prune.bind(client), { all: Boolean(values.all) });
  if (res.deleted.length) out(`Deleted Images:\n${res.deleted.map((d) => `deleted: ${d}\n`).join('')}\n`);
  out(`Total reclaimed space: ${humanSize(Number(res.reclaimed))}\n`);
};

const save: Verb = async (client, argv) => {
  const { values, positionals } = parseFlags(argv, { output: { type: 'string', short: 'o' } });
  requireArgs(positionals, 1, 'berth save IMAGE');
  if (!values.output && process.stdout.isTTY) {
    throw new BerthError('invalid-argument', 'cowardly refusing to save to a terminal. Use the -o flag or redirect');
  }
  const stream = client.Save({ names: positionals });
  const target = values.output ? `${values.output}.partial` : undefined;
  const sink = target ? createWriteStream(target) : process.stdout;
  try {
    await pipeline(
      (async function* () {
        try {
          for await (const chunk of stream) yield (chunk as { data: Buffer }).data;
        } catch (err) {
          throw fromAgentStatus(err as never);
        }
      })(),
      sink,
    );
    if (target && values.output) await fs.rename(target, values.output);
  } catch (err) {
    if (target) await fs.rm(target, { force: true });
    throw err;
  }
};

const load: Verb = async (client, argv) => {
  const { values } = parseFlags(argv, { input: { type: 'string', short: 'i' }, quiet: { type: 'boolean', short: 'q' } });
  const input = values.input ? createReadStream(values.input) : process.stdin;
  const res = await new Promise<{ loaded: string[] }>((resolve, reject) => {
    const upload = client.Load((err, r) => {
      if (err) {
        reject(fromAgentStatus(err));
      } else resolve(r as { loaded: string[] });
    });
    input.on('error', (err: Error) => {
      upload.cancel();
      reject(new BerthError('invalid-argument', `cannot read ${values.input ?? 'stdin'}: ${err.message}`));
    });
    input.on('data', (data: Buffer) => {
      if (!upload.write({ data })) {
        input.pause();
        upload.once('drain', () => input.resume());
      }
    });
    input.on('end', () => upload.end());
  });
  for (const name of res.loaded) out(name.startsWith('sha256:') ? `Loaded image ID: ${name}\n` : `Loaded image: ${name}\n`);
};

const login: Verb = async (client, argv) => {
  const { values, positionals } = parseFlags(argv, {
    username: { type: 'string', short: 'u' },
    password: { type: 'string', short: 'p' },
    'password-stdin': { type: 'boolean' },
  });
  let password = values.password;
  if (values['password-stdin']) {
    const chunks: Buffer[] = [];
    for await (const c of process.stdin) chunks.push(c as Buffer);
    password = Buffer.concat(chunks).toString('utf8').replace(/\r?\n$/, '');
  }
  if (!values.username || password === undefined) {
    throw new BerthError('invalid-argument', 'login needs --username and --password or --password-stdin');
  }
  const res = await call(client.Login.bind(client), { registry: positionals[0] ?? '', username: values.username, password });
  out(`${res.status}\n`);
};

const imageSubverbs: Record<string, Verb> = {
  ls: images, list: images, inspect, history, tag, rm: rmi, remove: rmi, prune, pull, push, save, load,
};

const image: Verb = async (client, argv) => {
  const [sub, ...rest] = argv;
  const verb = sub ? imageSubverbs[sub] : undefined;
  if (!verb) throw new BerthError('invalid-argument', `unknown image command "${sub ?? ''}" (one of: ${Object.keys(imageSubverbs).join(', ')})`);
  await verb(client, rest);
};

export const imageVerbs: Record<string, Verb> = { pull, push, images, image, tag, rmi, save, load, login };

export async function runImageVerb(verb: string, argv: string[], agentFlag: string | undefined): Promise<void> {
  const client = imagesClient(agentSocket(agentFlag));
  try {
    await imageVerbs[verb]!(client, argv);
  } finally {
    client.close();
  }
}
