// A parsed Dockerfile's instructions read into typed commands grouped into stages, with Docker's
// syntax rules: which flags each instruction takes, how many arguments, ENV/LABEL's key=value
// words (and the legacy `ENV key value`), ARG before the first FROM, stage names. Words are kept
// as written; the builder expands them with the environment of the moment (expand.ts). Pure.

import { DockerfileError } from './errors';
import { parseDockerfile, type Flag, type Heredoc, type Keyword, type RawInstruction } from './parse';

/** RUN, CMD, ENTRYPOINT and HEALTHCHECK CMD: exec form (a JSON array) or shell form (a string for the shell). */
export type CommandForm = { exec: string[] } | { shell: string };

interface Base {
  line: number;
  /** The instruction as written: error messages and the history's created_by. */
  text: string;
}

export interface KeyValue {
  key: string;
  value: string;
}

export type Command = Base & (
  | { kind: 'RUN'; form: CommandForm; mounts: string[]; network?: string; security?: string; heredocs: Heredoc[] }
  | {
    kind: 'COPY' | 'ADD';
    sources: string[];
    dest: string;
    from?: string;
    chown?: string;
    chmod?: string;
    link: boolean;
    exclude: string[];
    /** ADD --checksum=sha256:...: the remote file's expected digest. */
    checksum?: string;
    heredocs: Heredoc[];
  }
  | { kind: 'ENV' | 'LABEL'; pairs: KeyValue[] }
  | { kind: 'ARG'; args: Array<{ key: string; value?: string }> }
  | { kind: 'WORKDIR' | 'USER' | 'STOPSIGNAL' | 'MAINTAINER'; value: string }
  | { kind: 'CMD' | 'ENTRYPOINT'; form: CommandForm }
  | { kind: 'SHELL'; shell: string[] }
  | { kind: 'EXPOSE' | 'VOLUME'; values: string[] }
  | { kind: 'HEALTHCHECK'; test?: CommandForm; options: Partial<Record<'interval' | 'timeout' | 'start-period' | 'start-interval' | 'retries', string>> }
  | { kind: 'ONBUILD'; trigger: string }
);

export interface FromCommand extends Base {
  image: string;
  platform?: string;
}

export interface Stage {
  index: number;
  /** `AS name`, lower-cased. */
  name?: string;
  from: FromCommand;
  commands: Command[];
}

export interface Dockerfile {
  escape: string;
  /** ARGs before the first FROM: usable in FROM lines, and in a stage that declares them again. */
  metaArgs: Array<Extract<Command, { kind: 'ARG' }>>;
  stages: Stage[];
  warnings: string[];
}

const FLAGS: Partial<Record<Keyword, readonly string[]>> = {
  FROM: ['platform'],
  RUN: ['mount', 'network', 'security'],
  COPY: ['from', 'chown', 'chmod', 'link', 'exclude', 'parents'],
  ADD: ['chown', 'chmod', 'link', 'exclude', 'checksum', 'keep-git-dir'],
  HEALTHCHECK: ['interval', 'timeout', 'start-period', 'start-interval', 'retries'],
};

const STAGE_NAME = /^[a-z][a-z0-9-_.]*$/;
const BOOLEAN_FLAGS = new Set(['link', 'parents', 'keep-git-dir']);

export function readDockerfile(text: string, file = 'Dockerfile'): Dockerfile {
  const parsed = parseDockerfile(text, file);
  const result: Dockerfile = { escape: parsed.escape, metaArgs: [], stages: [], warnings: parsed.warnings };
  const names = new Set<string>();
  for (const raw of parsed.instructions) {
    const fail = (reason: string): never => {
      throw new DockerfileError(reason, file, raw.line);
    };
    checkFlags(raw, fail);
    if (raw.keyword === 'FROM') {
      const stage = readFrom(raw, result.stages.length, fail);
      if (stage.name) {
        if (names.has(stage.name)) fail(`duplicate stage name "${stage.name}"`);
        names.add(stage.name);
      }
      result.stages.push(stage);
      continue;
    }
    const command = readCommand(raw, parsed.escape, fail);
    const stage = result.stages.at(-1);
    if (stage) stage.commands.push(command);
    else if (command.kind === 'ARG') result.metaArgs.push(command);
    else fail(`${raw.keyword} before the first FROM: only ARG may come before it (no build stage in current context)`);
  }
  if (result.stages.length === 0) throw new DockerfileError('the Dockerfile has no FROM instruction: nothing to build', file, 1);
  return result;
}

function checkFlags(raw: RawInstruction, fail: (reason: string) => never): void {
  const allowed = FLAGS[raw.keyword] ?? [];
  const seen = new Set<string>();
  for (const f of raw.flags) {
    if (!allowed.includes(f.name)) fail(`unknown flag: --${f.name} (${raw.keyword} takes ${allowed.length ? allowed.map((a) => `--${a}`).join(', ') : 'no flags'})`);
    const repeatable = f.name === 'mount' || f.name === 'exclude';
    if (!BOOLEAN_FLAGS.has(f.name) && (f.value === undefined || f.value === '')) fail(`missing a value on flag: --${f.name}`);
    if (seen.has(f.name) && !repeatable) fail(`duplicate flag specified: --${f.name}`);
    seen.add(f.name);
  }
}

const flag = (flags: Flag[], name: string): string | undefined => flags.find((f) => f.name === name)?.value;
const boolFlag = (flags: Flag[], name: string, fail: (reason: string) => never): boolean => {
  const f = flags.find((x) => x.name === name);
  if (!f) return false;
  const value = f.value?.toLowerCase();
  if (value === undefined || value === 'true') return true;
  if (value === 'false') return false;
  return fail(`expecting boolean value for flag --${name}, not: ${f.value}`);
};

function readFrom(raw: RawInstruction, index: number, fail: (reason: string) => never): Stage {
  const words = raw.args.trim().split(/\s+/).filter(Boolean);
  if (words.length !== 1 && !(words.length === 3 && words[1]!.toLowerCase() === 'as')) {
    fail('FROM requires either one or three arguments (FROM image [AS name])');
  }
  const from: FromCommand = { line: raw.line, text: raw.text, image: words[0]! };
  const platform = flag(raw.flags, 'platform');
  if (platform !== undefined) from.platform = platform;
  const stage: Stage = { index, from, commands: [] };
  if (words.length === 3) {
    const name = words[2]!.toLowerCase();
    if (!STAGE_NAME.test(name)) fail(`invalid name for build stage: "${words[2]}", name can't start with a number or contain symbols`);
    stage.name = name;
  }
  return stage;
}

function readCommand(raw: RawInstruction, escape: string, fail: (reason: string) => never): Command {
  const base = { line: raw.line, text: raw.text };
  const args = raw.args.trim();
  const requireArgs = () => {
    if (args === '' && raw.heredocs.length === 0) fail(`${raw.keyword} requires at least one argument`);
  };
  switch (raw.keyword) {
    case 'RUN':
      requireArgs();
      return {
        ...base, kind: 'RUN', form: form(raw), heredocs: raw.heredocs,
        mounts: raw.flags.filter((f) => f.name === 'mount').map((f) => f.value ?? ''),
        ...optional('network', flag(raw.flags, 'network')),
        ...optional('security', flag(raw.flags, 'security')),
      };
    case 'CMD':
    case 'ENTRYPOINT':
      return { ...base, kind: raw.keyword, form: form(raw) };
    case 'COPY':
    case 'ADD': {
      const words = raw.json ?? args.split(/\s+/).filter(Boolean);
      if (words.length < 2) fail(`${raw.keyword} requires at least two arguments, but only one was provided. Destination could not be determined`);
      if (!raw.json && raw.heredocs.some((h) => new RegExp(`^\\d*<<-?["']?${h.name.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}["']?$`).test(words.at(-1)!))) {
        fail(`${raw.keyword} cannot accept a heredoc as a destination`);
      }
      if (raw.flags.some((f) => f.name === 'parents')) fail(`${raw.keyword} --parents is not supported yet`);
      if (raw.flags.some((f) => f.name === 'keep-git-dir')) fail('ADD --keep-git-dir: git sources are not supported');
      return {
        ...base, kind: raw.keyword, sources: words.slice(0, -1), dest: words.at(-1)!, heredocs: raw.heredocs,
        link: boolFlag(raw.flags, 'link', fail),
        exclude: raw.flags.filter((f) => f.name === 'exclude').map((f) => f.value ?? ''),
        ...optional('from', flag(raw.flags, 'from')),
        ...optional('chown', flag(raw.flags, 'chown')),
        ...optional('chmod', flag(raw.flags, 'chmod')),
        ...optional('checksum', flag(raw.flags, 'checksum')),
      };
    }
    case 'ENV':
    case 'LABEL':
      requireArgs();
      return { ...base, kind: raw.keyword, pairs: nameValues(args, escape, raw.keyword, fail) };
    case 'ARG': {
      requireArgs();
      const words = splitWords(args, escape);
      return {
        ...base, kind: 'ARG',
        args: words.map((w) => {
          const eq = w.indexOf('=');
          const key = eq < 0 ? w : w.slice(0, eq);
          if (key === '') fail(`ARG names can not be blank`);
          return eq < 0 ? { key } : { key, value: w.slice(eq + 1) };
        }),
      };
    }
    case 'WORKDIR':
    case 'USER':
    case 'STOPSIGNAL':
    case 'MAINTAINER':
      requireArgs();
      return { ...base, kind: raw.keyword, value: args };
    case 'SHELL':
      if (!raw.json) fail('SHELL requires the arguments to be in JSON form (SHELL ["executable", "parameters"])');
      if (raw.json!.length === 0) fail('SHELL requires at least one argument');
      return { ...base, kind: 'SHELL', shell: raw.json! };
    case 'EXPOSE':
      requireArgs();
      return { ...base, kind: 'EXPOSE', values: args.split(/\s+/) };
    case 'VOLUME': {
      const values = raw.json ?? args.split(/\s+/).filter(Boolean);
      if (values.length === 0 || values.some((v) => v.trim() === '')) fail('VOLUME specified can not be an empty string');
      return { ...base, kind: 'VOLUME', values };
    }
    case 'HEALTHCHECK': {
      const options = Object.fromEntries(raw.flags.map((f) => [f.name, f.value ?? ''])) as Extract<Command, { kind: 'HEALTHCHECK' }>['options'];
      const [word, ...rest] = args.split(/\s+/);
      if (word?.toUpperCase() === 'NONE') {
        if (rest.length > 0 || raw.flags.length > 0) fail('HEALTHCHECK NONE takes no other arguments');
        return { ...base, kind: 'HEALTHCHECK', options };
      }
      if (word?.toUpperCase() !== 'CMD') fail('HEALTHCHECK takes NONE or CMD followed by a command');
      const commandText = args.slice(word!.length).trim();
      if (commandText === '') fail('HEALTHCHECK CMD requires a command');
      const json = jsonArray(commandText);
      return { ...base, kind: 'HEALTHCHECK', options, test: json ? { exec: json } : { shell: commandText } };
    }
    case 'ONBUILD': {
      requireArgs();
      const trigger = args.split(/\s+/)[0]!.toUpperCase();
      if (trigger === 'ONBUILD') fail('Chaining ONBUILD via `ONBUILD ONBUILD` isn\'t allowed');
      if (trigger === 'FROM' || trigger === 'MAINTAINER') fail(`${trigger} isn't allowed as an ONBUILD trigger`);
      // A trigger's heredocs travel with it, as the lines they were written as.
      const withHeredocs = [args, ...raw.heredocs.map((h) => `${h.content}${h.name}`)].join('\n');
      return { ...base, kind: 'ONBUILD', trigger: withHeredocs };
    }
    case 'FROM':
      return fail('FROM is read elsewhere');
  }
}

/**
 * Commands of an ONBUILD trigger, as if they were written in the child's Dockerfile right after
 * its FROM (the image's config keeps them as text).
 */
export function readTriggers(triggers: string[], file: string, line: number): Command[] {
  return triggers.map((trigger) => {
    const parsed = readDockerfile(`FROM scratch\n${trigger}`, `${file}:${line} ONBUILD`);
    const command = parsed.stages[0]!.commands[0];
    if (!command) throw new DockerfileError(`ONBUILD trigger "${trigger}" is empty`, file, line);
    if (command.kind === 'ONBUILD') throw new DockerfileError('Chaining ONBUILD via `ONBUILD ONBUILD` isn\'t allowed', file, line);
    return { ...command, line };
  });
}

function form(raw: RawInstruction): CommandForm {
  return raw.json ? { exec: raw.json } : { shell: raw.args.trim() };
}

function jsonArray(text: string): string[] | undefined {
  try {
    const v: unknown = JSON.parse(text);
    return Array.isArray(v) && v.every((x) => typeof x === 'string') ? (v as string[]) : undefined;
  } catch {
    return undefined;
  }
}

const optional = <K extends string>(key: K, value: string | undefined): Partial<Record<K, string>> =>
  (value === undefined ? {} : { [key]: value }) as Partial<Record<K, string>>;

/** ENV/LABEL: `k=v k2="v 2"` words, or the legacy single pair `ENV key the value`. */
function nameValues(args: string, escape: string, keyword: string, fail: (reason: string) => never): KeyValue[] {
  const words = splitWords(args, escape);
  if (words.length > 0 && !words[0]!.includes('=')) {
    // Legacy form: the first word is the name, the rest of the line (as written) the value.
    const m = /^(\S+)\s+([\s\S]*)$/.exec(args);
    if (!m || m[2]!.trim() === '') fail(`${keyword} must have two arguments (${keyword} name=value)`);
    return [{ key: m![1]!, value: m![2]!.trim() }];
  }
  return words.map((w) => {
    const eq = w.indexOf('=');
    if (eq < 0) fail(`Syntax error - can't find = in "${w}". Must be of the form: name=value`);
    const key = w.slice(0, eq);
    if (key === '') fail(`${keyword} names can not be blank`);
    return { key, value: w.slice(eq + 1) };
  });
}

/**
 * Whitespace-separated words, quotes and escapes kept as written (they are removed when the word
 * is expanded): Docker's parseWords.
 */
export function splitWords(text: string, escape: string): string[] {
  const words: string[] = [];
  let word = '';
  let inWord = false;
  let quote: string | undefined;
  let blankOk = false;
  for (let i = 0; i < text.length; i++) {
    let ch = text[i]!;
    if (!inWord && !quote) {
      if (/\s/.test(ch)) continue;
      inWord = true;
    }
    if (quote) {
      if (ch === quote) quote = undefined;
      else if (ch === escape && quote !== "'") {
        if (i + 1 === text.length) continue;
        word += ch;
        ch = text[++i]!;
      }
      word += ch;
      continue;
    }
    if (/\s/.test(ch)) {
      if (blankOk || word.length > 0) words.push(word);
      word = '';
      blankOk = false;
      inWord = false;
      continue;
    }
    if (ch === "'" || ch === '"') {
      quote = ch;
      blankOk = true;
    }
    if (ch === escape) {
      if (i + 1 === text.length) continue;
      word += ch;
      ch = text[++i]!;
    }
    word += ch;
  }
  if (blankOk || word.length > 0) words.push(word);
  return words;
}
