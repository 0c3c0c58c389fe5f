// A Dockerfile's text as Docker's builder reads it: parser directives, comments, line
// continuations with the escape character, heredocs, and one instruction per logical line with
// its leading `--flag=value` options and its arguments, in JSON (exec) or shell form. Pure: no
// variable is expanded here (that needs the build's environment, expand.ts), and no instruction is
// interpreted beyond its syntax (instructions.ts).

import { DockerfileError } from './errors';

export const KEYWORDS = [
  'ADD', 'ARG', 'CMD', 'COPY', 'ENTRYPOINT', 'ENV', 'EXPOSE', 'FROM', 'HEALTHCHECK', 'LABEL',
  'MAINTAINER', 'ONBUILD', 'RUN', 'SHELL', 'STOPSIGNAL', 'USER', 'VOLUME', 'WORKDIR',
] as const;
export type Keyword = (typeof KEYWORDS)[number];

/** `--name=value` (value undefined for a bare `--name`), as written before an instruction's arguments. */
export interface Flag {
  name: string;
  value?: string;
}

/** A here-document (`<<EOF` ... `EOF`) of a RUN, COPY or ADD. */
export interface Heredoc {
  /** The delimiter word: also the file's name for COPY <<NAME. */
  name: string;
  /** The lines between the marker and the delimiter, each ending in a newline. */
  content: string;
  /** `<<"EOF"` or `<<'EOF'`: the content is taken literally, never expanded. */
  quoted: boolean;
  /** `<<-EOF`: leading tabs were removed from the content lines and the delimiter line. */
  stripTabs: boolean;
}

export interface RawInstruction {
  keyword: Keyword;
  /** 1-based lines the instruction spans (its heredocs included). */
  line: number;
  endLine: number;
  flags: Flag[];
  /** The arguments after the flags, continuation lines joined (the escape character and newline removed). */
  args: string;
  /** The arguments as a JSON array of strings, when written in that (exec) form. */
  json?: string[];
  heredocs: Heredoc[];
  /** The logical line as written (keyword included), for messages and history. */
  text: string;
}

export interface ParsedDockerfile {
  /** The escape character: `\` unless a `# escape=` directive says otherwise. */
  escape: string;
  /** `# syntax=`: accepted and recorded, never acted on (there is one frontend). */
  syntax?: string;
  instructions: RawInstruction[];
  /** Things Docker's builder warns about (empty continuation lines...), with their line. */
  warnings: string[];
}

const HEREDOC_KEYWORDS = new Set<Keyword>(['RUN', 'COPY', 'ADD']);
const DIRECTIVE = /^#\s*([a-zA-Z][a-zA-Z0-9]*)\s*=\s*(.+?)\s*$/;

export function parseDockerfile(text: string, file = 'Dockerfile'): ParsedDockerfile {
  const lines = text.replace(/^\uFEFF/, '').split(/\r?\n/);
  const result: ParsedDockerfile = { escape: '\\', instructions: [], warnings: [] };
  let i = readDirectives(lines, result, file);
  const escape = result.escape;

  while (i < lines.length) {
    const first = lines[i]!;
    if (isBlankOrComment(first)) {
      i++;
      continue;
    }
    const start = i + 1;
    let logical = first;
    let physical = first;
    i++;
    let emptyContinuation = false;
    let continued = continues(logical, escape);
    if (continued) logical = dropContinuation(logical, escape);
    while (continued && i < lines.length) {
      const next = lines[i]!;
      i++;
      // Comment lines inside a continued instruction are dropped, as Docker drops them.
      if (/^\s*#/.test(next)) continue;
      if (next.trim() === '') {
        emptyContinuation = true;
        continue;
      }
      continued = continues(next, escape);
      logical += continued ? dropContinuation(next, escape) : next;
      physical += `\n${next}`;
    }
    if (emptyContinuation) result.warnings.push(`${file}:${start}: empty continuation line (it will be an error in a future release)`);

    const match = /^\s*(\S+)\s*([\s\S]*)$/.exec(logical)!;
    const word = match[1]!;
    const keyword = word.toUpperCase() as Keyword;
    if (!(KEYWORDS as readonly string[]).includes(keyword)) {
      throw new DockerfileError(`unknown instruction: ${word}${suggestion(word)}`, file, start);
    }
    const { flags, rest } = splitFlags(match[2]!.trim(), file, start);
    const instruction: RawInstruction = { keyword, line: start, endLine: i, flags, args: rest, heredocs: [], text: physical.trim() };
    const json = jsonForm(rest, file, start);
    if (json) instruction.json = json;
    else if (HEREDOC_KEYWORDS.has(keyword) || (keyword === 'ONBUILD' && HEREDOC_KEYWORDS.has(rest.split(/\s+/)[0]!.toUpperCase() as Keyword))) {
      for (const marker of heredocMarkers(rest)) {
        const doc = readHeredoc(lines, i, marker, file, start);
        instruction.heredocs.push(doc.heredoc);
        i = doc.next;
      }
      instruction.endLine = i;
    }
    result.instructions.push(instruction);
  }
  return result;
}

/** Parser directives: `# name=value` lines at the very top, before anything else. Returns the next line. */
function readDirectives(lines: string[], result: ParsedDockerfile, file: string): number {
  const seen = new Set<string>();
  let i = 0;
  for (; i < lines.length; i++) {
    const m = DIRECTIVE.exec(lines[i]!);
    if (!m) break;
    const name = m[1]!.toLowerCase();
    const value = m[2]!;
    // An unknown directive is a comment, and ends the directives as any comment does.
    if (name !== 'escape' && name !== 'syntax' && name !== 'check') break;
    if (seen.has(name)) throw new DockerfileError(`only one ${name} parser directive can be used`, file, i + 1);
    seen.add(name);
    if (name === 'escape') {
      if (value !== '\\' && value !== '`') throw new DockerfileError(`invalid escape token '${value}' does not match ` + '` or \\', file, i + 1);
      result.escape = value;
    } else if (name === 'syntax') result.syntax = value;
  }
  return i;
}

const isBlankOrComment = (line: string): boolean => /^\s*(#.*)?$/.test(line);

/** A line continues on the next when it ends (trailing blanks aside) in an unescaped escape character. */
function continues(line: string, escape: string): boolean {
  const trimmed = line.replace(/[ \t]+$/, '');
  let run = 0;
  while (run < trimmed.length && trimmed[trimmed.length - 1 - run] === escape) run++;
  return run % 2 === 1;
}

const dropContinuation = (line: string, escape: string): string => line.replace(/[ \t]+$/, '').slice(0, -escape.length);

/**
 * Leading `--name[=value]` words. A value may hold quotes (`--mount=target="/a b"`), kept as written
 * and read by the instruction that takes the flag.
 */
function splitFlags(args: string, file: string, line: number): { flags: Flag[]; rest: string } {
  const flags: Flag[] = [];
  let pos = 0;
  while (args.startsWith('--', pos)) {
    if (/^--(\s|$)/.test(args.slice(pos))) {
      // `--` ends the flags.
      pos += 2;
      while (pos < args.length && /\s/.test(args[pos]!)) pos++;
      break;
    }
    let end = pos;
    let quote: string | undefined;
    while (end < args.length) {
      const ch = args[end]!;
      if (quote) {
        if (ch === quote) quote = undefined;
      } else if (ch === '"' || ch === "'") quote = ch;
      else if (/\s/.test(ch)) break;
      end++;
    }
    const word = args.slice(pos + 2, end);
    if (word === '') throw new DockerfileError('a flag without a name ("--")', file, line);
    const eq = word.indexOf('=');
    // Quotes in a value group its words; they are not part of it (--exclude="*.md").
    flags.push(eq < 0 ? { name: word } : { name: word.slice(0, eq), value: word.slice(eq + 1).replace(/"([^"]*)"|'([^']*)'/g, '$1$2') });
    pos = end;
    while (pos < args.length && /\s/.test(args[pos]!)) pos++;
  }
  return { flags, rest: args.slice(pos) };
}

/** `["a", "b"]`: the exec form. Anything that is not a JSON array of strings is shell form. */
function jsonForm(rest: string, file: string, line: number): string[] | undefined {
  const trimmed = rest.trim();
  if (!trimmed.startsWith('[') || !trimmed.endsWith(']')) return undefined;
  let value: unknown;
  try {
    value = JSON.parse(trimmed);
  } catch {
    return undefined; // not JSON: shell form, as Docker falls back
  }
  if (!Array.isArray(value)) return undefined;
  if (!value.every((v) => typeof v === 'string')) throw new DockerfileError('arrays must be comprised of strings only', file, line);
  return value as string[];
}

interface HeredocMarker {
  name: string;
  quoted: boolean;
  stripTabs: boolean;
}

/**
 * Heredoc markers outside quotes, in order: `<<WORD` or `<<-WORD`, where WORD is read as a shell
 * word (quotes anywhere in it make the heredoc literal and are not part of its name).
 */
function heredocMarkers(args: string): HeredocMarker[] {
  const markers: HeredocMarker[] = [];
  let quote: string | undefined;
  for (let i = 0; i < args.length; i++) {
    const ch = args[i]!;
    if (quote) {
      if (ch === quote) quote = undefined;
      continue;
    }
    if (ch === "'" || ch === '"') {
      quote = ch;
      continue;
    }
    if (ch !== '<' || args[i + 1] !== '<' || args[i + 2] === '<') continue;
    const before = args.slice(0, i).replace(/\d+$/, '');
    if (before !== '' && !/[\s;|&(]$/.test(before)) continue;
    let j = i + 2;
    const stripTabs = args[j] === '-';
    if (stripTabs) j++;
    while (j < args.length && (args[j] === ' ' || args[j] === '\t')) j++;
    let name = '';
    let quoted = false;
    let inQuote: string | undefined;
    for (; j < args.length; j++) {
      const c = args[j]!;
      if (inQuote) {
        if (c === inQuote) inQuote = undefined;
        else name += c;
      } else if (c === "'" || c === '"') {
        inQuote = c;
        quoted = true;
      } else if (c === '\\' && j + 1 < args.length) {
        name += args[++j];
      } else if (/[\s;|&()<>]/.test(c)) break;
      else name += c;
    }
    if (name !== '') markers.push({ name, quoted, stripTabs });
    i = j - 1;
  }
  return markers;
}

function readHeredoc(lines: string[], from: number, marker: HeredocMarker, file: string, line: number): { heredoc: Heredoc; next: number } {
  let content = '';
  for (let i = from; i < lines.length; i++) {
    const raw = marker.stripTabs ? lines[i]!.replace(/^\t+/, '') : lines[i]!;
    if (raw === marker.name) {
      return { heredoc: { name: marker.name, content, quoted: marker.quoted, stripTabs: marker.stripTabs }, next: i + 1 };
    }
    content += `${raw}\n`;
  }
  throw new DockerfileError(`unterminated heredoc: no line "${marker.name}" ends the here-document`, file, line);
}

function suggestion(word: string): string {
  const upper = word.toUpperCase();
  let best: string | undefined;
  let bestDistance = 3;
  for (const k of KEYWORDS) {
    const d = editDistance(upper, k);
    if (d < bestDistance) {
      best = k;
      bestDistance = d;
    }
  }
  return best ? ` (did you mean ${word === word.toLowerCase() ? best.toLowerCase() : best}?)` : '';
}

function editDistance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    let diagonal = row[0]!;
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const above = row[j]!;
      row[j] = Math.min(row[j]! + 1, row[j - 1]! + 1, diagonal + (a[i - 1] === b[j - 1] ? 0 : 1));
      diagonal = above;
    }
  }
  return row[b.length]!;
}

