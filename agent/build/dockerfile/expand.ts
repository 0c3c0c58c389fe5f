// Variable substitution in Dockerfile words, as Docker's builder does it (its own small shell
// lexer, not a shell): `$VAR` and `${VAR}`, the modifiers `:-` `-` `:+` `+` `:?` `?`, BuildKit's
// `#` `##` `%` `%%` `/` `//`, single quotes taken literally, double quotes expanding, the escape
// character escaping the next character. Quotes are removed from the result. Pure.

export type Env = ReadonlyMap<string, string>;

export interface Expanded {
  value: string;
  /** Names that were looked up and set: which build args a word used. */
  used: Set<string>;
}

export class ExpansionError extends Error {}

/** One word, expanded: quotes removed, variables replaced. Throws ExpansionError on bad syntax. */
export function expandWord(word: string, env: Env, escape = '\\'): Expanded {
  const lexer = new Lexer(word, env, escape);
  const value = lexer.until(undefined, false);
  return { value, used: lexer.used };
}

/** Shorthand when the used names do not matter. */
export const expand = (word: string, env: Env, escape = '\\'): string => expandWord(word, env, escape).value;

const SPECIAL_PARAMS = new Set(['@', '*', '#', '?', '-', '$', '!', '0']);

class Lexer {
  private pos = 0;
  readonly used = new Set<string>();

  constructor(
    private readonly text: string,
    private readonly env: Env,
    private readonly escape: string,
  ) {}

  private peek(): string | undefined {
    return this.text[this.pos];
  }

  private next(): string | undefined {
    return this.text[this.pos++];
  }

  /** Reads up to `stop` (consumed), or to the end when stop is undefined. */
  until(stop: string | undefined, rawEscapes: boolean): string {
    let out = '';
    for (let ch = this.peek(); ch !== undefined; ch = this.peek()) {
      if (stop !== undefined && ch === stop) {
        this.next();
        return out;
      }
      if (ch === "'") out += this.singleQuoted();
      else if (ch === '"') out += this.doubleQuoted();
      else if (ch === '$') out += this.dollar();
      else {
        this.next();
        if (ch === this.escape) {
          const escaped = this.next();
          // In a pattern the escape is kept for it to read, unless it escapes the end itself.
          if (rawEscapes && escaped !== stop) out += ch;
          if (escaped === undefined) break;
          out += escaped;
        } else out += ch;
      }
    }
    if (stop !== undefined) throw new ExpansionError(`unexpected end of statement while looking for matching ${stop}`);
    return out;
  }

  private singleQuoted(): string {
    this.next();
    const end = this.text.indexOf("'", this.pos);
    if (end < 0) throw new ExpansionError('unexpected end of statement while looking for matching single-quote');
    const out = this.text.slice(this.pos, end);
    this.pos = end + 1;
    return out;
  }

  private doubleQuoted(): string {
    this.next();
    let out = '';
    for (;;) {
      const ch = this.peek();
      if (ch === undefined) throw new ExpansionError('unexpected end of statement while looking for matching double-quote');
      if (ch === '"') {
        this.next();
        return out;
      }
      if (ch === '$') {
        out += this.dollar();
        continue;
      }
      this.next();
      if (ch === this.escape) {
        const after = this.peek();
        if (after === undefined) continue;
        // Only these can be escaped inside double quotes; any other escape stays as written.
        if (after === '"' || after === '$' || after === this.escape) {
          out += this.next();
          continue;
        }
      }
      out += ch;
    }
  }

  private lookup(name: string): string | undefined {
    const value = this.env.get(name);
    if (value !== undefined) this.used.add(name);
    return value;
  }

  private dollar(): string {
    this.next();
    if (this.peek() !== '{') {
      const name = this.name();
      if (name === '') return '$';
      return this.lookup(name) ?? '';
    }
    this.next();
    const first = this.peek();
    if (first === undefined) throw new ExpansionError("syntax error: missing '}'");
    if (first === '{' || first === '}' || first === ':') throw new ExpansionError('syntax error: bad substitution');
    const name = this.name();
    let ch = this.next();
    if (ch === undefined) throw new ExpansionError("syntax error: missing '}'");
    if (ch === '}') return this.lookup(name) ?? '';
    let modifier = ch;
    let nullIsUnset = false;
    if (ch === ':') {
      nullIsUnset = true;
      ch = this.next();
      if (ch === undefined) throw new ExpansionError("syntax error: missing '}'");
      modifier += ch;
    }
    if (ch === '/' && !nullIsUnset) return this.replace(name);
    if (!['+', '-', '?', '#', '%'].includes(ch)) throw new ExpansionError(`unsupported modifier (${modifier}) in substitution`);
    const trims = ch === '#' || ch === '%';
    if (nullIsUnset && trims) throw new ExpansionError(`unsupported modifier (${modifier}) in substitution`);
    let word = this.until('}', trims);
    const value = this.lookup(name);
    const unset = value === undefined || (nullIsUnset && value === '');
    switch (ch) {
      case '-':
        return unset ? word : value!;
      case '+':
        return unset ? '' : word;
      case '?':
        if (value === undefined) throw new ExpansionError(`${name}: ${word || 'is not allowed to be unset'}`);
        if (unset) throw new ExpansionError(`${name}: ${word || 'is not allowed to be empty'}`);
        return value;
      default: {
        // `##`/`%%` remove the longest match, `#`/`%` the shortest.
        const greedy = word.startsWith(ch);
        if (greedy) word = word.slice(1);
        return trim(value ?? '', word, ch === '#' ? 'prefix' : 'suffix', greedy, this.escape);
      }
    }
  }

  /** ${VAR/pattern/replacement} and ${VAR//pattern/replacement}. */
  private replace(name: string): string {
    const all = this.peek() === '/';
    if (all) this.next();
    const pattern = this.until('/', true);
    const replacement = this.until('}', true);
    const value = this.lookup(name) ?? '';
    if (pattern === '') return value;
    const re = new RegExp(globToRegExp(pattern, true, this.escape), all ? 'gs' : 's');
    return value.replace(re, () => replacement);
  }

  /** A name: letters, digits and underscores; or all digits; or one special parameter. */
  private name(): string {
    const first = this.peek();
    if (first === undefined) return '';
    if (/\d/.test(first)) {
      let digits = '';
      while (this.peek() !== undefined && /\d/.test(this.peek()!)) digits += this.next();
      return digits;
    }
    if (SPECIAL_PARAMS.has(first)) {
      this.next();
      return first;
    }
    let name = '';
    while (this.peek() !== undefined && /[\p{L}\p{N}_]/u.test(this.peek()!)) name += this.next();
    return name;
  }
}

function trim(value: string, pattern: string, side: 'prefix' | 'suffix', greedy: boolean, escape: string): string {
  const whole = new RegExp(`^(?:${globToRegExp(pattern, true, escape)})$`, 's');
  // Candidate cut points, the shortest match first unless greedy.
  const cuts = Array.from({ length: value.length + 1 }, (_, i) => i);
  if (side === 'prefix') {
    for (const i of greedy ? cuts.reverse() : cuts) if (whole.test(value.slice(0, i))) return value.slice(i);
  } else {
    for (const i of greedy ? cuts : cuts.reverse()) if (whole.test(value.slice(i))) return value.slice(0, i);
  }
  return value;
}

/**
 * A substitution pattern as BuildKit reads it: `*` and `?` only (a `[` is itself), and the escape
 * character may escape only `*`, `?` and itself.
 */
function globToRegExp(pattern: string, greedy: boolean, escape: string): string {
  let out = '';
  for (let i = 0; i < pattern.length; i++) {
    const ch = pattern[i]!;
    if (ch === escape) {
      const next = pattern[++i];
      if (next !== '*' && next !== '?' && next !== escape) throw new ExpansionError(`invalid escape in pattern "${pattern}": only \\*, \\? and \\\\ may be escaped`);
      out += escapeRegExp(next);
    } else if (ch === '*') out += greedy ? '.*' : '.*?';
    else if (ch === '?') out += '.';
    else out += escapeRegExp(ch);
  }
  return out;
}

const escapeRegExp = (s: string): string => s.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
