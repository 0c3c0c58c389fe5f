// The Dockerfile front end held to Docker's own behaviour. Expected results come from BuildKit's
// parser, lexer and instruction code and tests (moby/buildkit frontend/dockerfile/parser,
// shell/lex.go with shell/envVarTest and lex_test.go, instructions/, dockerfile2llb/), its parser
// testfiles, Go's time and path/filepath packages, moby/sys/signal and the Dockerfile reference.
// Cases marked "Docker:" are ones where berth is known to have differed. Pure: no I/O.

import t from 'tap';
import { isBerthError } from '../../proto/errors';
import {
  type Command, DockerfileError, type Env, expand, expandWord, parseDockerfile, readDockerfile, readTriggers, splitWords,
} from '../../agent/build/dockerfile';
import { checkStopSignal, exposedPorts, healthcheck, parseChmod, parseDuration } from '../../agent/build/image-config';
import { globRegExp } from '../../agent/build/context';

const NOTHING = '(nothing thrown)';
/** The message of what `fn` throws, or NOTHING. */
function thrown(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    return err instanceof Error ? err.message : String(err);
  }
  return NOTHING;
}

/** The one command of a `FROM scratch` stage made of `body`, checked to be of `kind`. */
function only<K extends Command['kind']>(kind: K, body: string): Command & { kind: K } {
  const commands = readDockerfile(`FROM scratch\n${body}`).stages[0]!.commands;
  if (commands.length !== 1 || commands[0]!.kind !== kind) throw new Error(`expected one ${kind}, got ${commands.map((c) => c.kind).join(', ')}`);
  return commands[0] as Command & { kind: K };
}

/** Each instruction's arguments as the parser joined them, or the error's message. */
function argsOf(text: string): string[] | string {
  try {
    return parseDockerfile(text).instructions.map((i) => i.args);
  } catch (err) {
    return (err as Error).message;
  }
}

/** ENV or LABEL pairs of one instruction, as written. */
function pairsOf(line: string): Array<[string, string]> {
  const c = readDockerfile(`FROM scratch\n${line}`).stages[0]!.commands[0]!;
  if (c.kind !== 'ENV' && c.kind !== 'LABEL') throw new Error(`not ENV or LABEL: ${c.kind}`);
  return c.pairs.map((p) => [p.key, p.value]);
}

const vars = (v: Record<string, string>): Env => new Map(Object.entries(v));
const ERROR = Symbol('error');

t.test('parser directives: escape, syntax and check, at the very top only', async (t) => {
  // reference.md "Parser directives": whitespace is allowed around the parts, keys are case-insensitive.
  for (const line of ['#escape=`', '# escape =`', '#\tescape= `', '# escape = `', '#\t  eScApE=`', '# escape=`   ']) {
    t.equal(parseDockerfile(`${line}\nFROM a`).escape, '`', JSON.stringify(line));
  }
  t.equal(parseDockerfile('FROM a').escape, '\\', 'the default');

  // parser/testfiles/escape-with-syntax
  const both = parseDockerfile('# syntax = docker/dockerfile\n# escape = `\n\nFROM `\n    image\n');
  t.equal(both.syntax, 'docker/dockerfile');
  t.equal(both.escape, '`');
  t.strictSame(both.instructions.map((i) => [i.keyword, i.args]), [['FROM', 'image']]);
  t.equal(parseDockerfile('# syntax=docker/dockerfile:1\n# check=skip=all\nFROM a').syntax, 'docker/dockerfile:1', 'check is a known directive');
  t.equal(parseDockerfile('\uFEFF# escape=`\nFROM a').escape, '`', 'a byte-order mark is dropped first');

  // testfiles/escape and escape-nonewline: with ` the backslash is an ordinary character.
  for (const text of [
    '#escape = `\n\nFROM image\nLABEL maintainer foo@bar.com\nENV GOPATH `\n\\go',
    '# escape = `\n# There is no white space line after the directives. This still succeeds, but goes\n# against best practices.\nFROM image\nLABEL maintainer foo@bar.com\nENV GOPATH `\n\\go\n',
  ]) {
    t.strictSame(argsOf(text), ['image', 'maintainer foo@bar.com', 'GOPATH \\go']);
  }
  // reference.md "escape": with ` a path ending in \ does not continue the line.
  const windows = parseDockerfile('# escape=`\n\nFROM microsoft/nanoserver\nCOPY testfile.txt c:\\\nRUN dir c:\\\n');
  t.strictSame(windows.instructions.map((i) => [i.keyword, i.args]), [['FROM', 'microsoft/nanoserver'], ['COPY', 'testfile.txt c:\\'], ['RUN', 'dir c:\\']]);

  // Not directives: after an instruction, after a comment, after a blank line (reference.md).
  t.equal(parseDockerfile('FROM a\n# escape=`\nRUN x').escape, '\\');
  t.equal(parseDockerfile('# About my dockerfile\n# escape=`\nFROM a').escape, '\\');
  t.equal(parseDockerfile('\n# escape=`\nFROM a').escape, '\\');
  // testfiles/escape-after-comment: the escape stays \ and continues the ENV line.
  const afterComment = '# Comment here. Should not be looking for the following parser directive.\n# Hence the following line will be ignored, and the subsequent backslash\n# continuation will be the default.\n# escape = `\n\nFROM image\nLABEL maintainer foo@bar.com\nENV GOPATH \\\n\\go';
  t.strictSame(argsOf(afterComment), ['image', 'maintainer foo@bar.com', 'GOPATH \\go']);
  // Docker: an unknown directive is a comment and ends the directives, so a known one after it is
  // a comment too (reference.md "Parser directives"; parser/directives.go sets done).
  t.equal(parseDockerfile('# unknowndirective=value\n# escape=`\nFROM a').escape, '\\', 'escape after an unknown directive');
  t.equal(parseDockerfile('# unknowndirective=value\n# syntax=value\nFROM a').syntax, undefined, 'syntax after an unknown directive');
  // Docker: `# escape=` has no value, and directives.go's pattern needs one (`(.+?)`): a comment, not an error.
  t.equal(thrown(() => parseDockerfile('# escape=\nFROM a')), NOTHING, '# escape= with no value');

  t.match(thrown(() => parseDockerfile('# escape=`\n# escape=\\\nFROM a')), /only one escape parser directive can be used/);
  t.match(thrown(() => parseDockerfile('# escape=`\n# ESCAPE=`\nFROM a')), /only one escape parser directive can be used/);
  t.match(thrown(() => parseDockerfile('# syntax=a\n# syntax=b\nFROM a')), /only one syntax parser directive can be used/);
  t.match(thrown(() => parseDockerfile('# escape=x\nFROM a')), /^Dockerfile:1: invalid escape token 'x' does not match ` or \\$/);
});

t.test('line continuations, comments inside them, and empty continuation lines', async (t) => {
  const cases: Array<[string, string[]]> = [
    // parser/testfiles/continueIndent: the escape and newline go, the next line's indentation stays.
    ['RUN echo hello\\\n  world\\\n  goodnight  \\\n  moon\\\n  light\\\nning', ['echo hello  world  goodnight    moon  lightning']],
    ['RUN echo hello  \\\n  world', ['echo hello    world']],
    ['RUN echo hello  \\\nworld', ['echo hello  world']],
    ['RUN echo hello \\\ngoodbye\\\nfrog', ['echo hello goodbyefrog']],
    ['RUN echo hello  \\  \nworld', ['echo hello  world']],
    ['RUN echo hi \\\n \\\n world \\\n\\\n good\\\n\\\nnight', ['echo hi   world  goodnight']],
    ['RUN echo good\\\nbye\\\nfrog', ['echo goodbyefrog']],
    // Comment lines and empty lines inside a continued instruction are dropped; it goes on.
    ['RUN echo hello \\\n# this is a comment\n\n# this is a comment with a blank line surrounding it\n\nthis is some more useful stuff', ['echo hello this is some more useful stuff']],
    ['RUN non-indented \\\n# this is a comment\n   after-comment', ['non-indented    after-comment']],
    ['RUN indented \\\n    # this is an indented comment\n    comment', ['indented     comment']],
    ['RUN foo \\\n\nbar \\\n\nbaz', ['foo bar baz']], // testfiles/escapes
    // testfiles/trailing-backslash: an escaped escape at the end does not continue the line.
    ['ENV A path\nENV B another\\\\path', ['A path', 'B another\\\\path']],
    ['ENV C trailing\\\\backslash\\\\\nENV D This should not be appended to C', ['C trailing\\\\backslash\\\\', 'D This should not be appended to C']],
    ['ENV E hello\\\n\\\nworld', ['E helloworld']],
    ['ENV F hello\\\n \\\nworld', ['F hello world']],
    ['ENV G hello \\\n\\\nworld', ['G hello world']],
    // testfiles/escapes: escapes elsewhere are kept for the instruction to read.
    ['RUN apt-get \\update && \\\n  apt-get \\"install znc -y', ['apt-get \\update &&   apt-get \\"install znc -y']],
    ['ADD \\conf\\\\" /.znc', ['\\conf\\\\" /.znc']],
    // testfiles/continue-at-eof
    ['FROM alpine:3.5\n\nRUN something \\', ['alpine:3.5', 'something']],
    ['FROM a\r\nRUN echo \\\r\n  b\r\n', ['a', 'echo   b']],
    ['RUN echo hi # not a comment', ['echo hi # not a comment']],
    ['  # an indented comment\n\tRUN x\n   \n', ['x']],
  ];
  for (const [text, args] of cases) t.strictSame(argsOf(text), args, JSON.stringify(text));

  // parser_test.go TestParseWarnsOnEmptyContinutationLine: two instructions with empty lines, none for comments.
  const warned = `
FROM alpine:3.6

RUN valid \\
    continuation

RUN something \\

    following \\

    more

RUN another \\

    thing

RUN non-indented \\
# this is a comment
   after-comment

RUN indented \\
    # this is an indented comment
    comment
	`;
  const w = thrown(() => {
    const parsed = parseDockerfile(warned);
    t.equal(parsed.warnings.length, 2, 'two warnings');
    for (const warning of parsed.warnings) t.match(warning, /empty continuation line/i);
    t.strictSame(parsed.instructions.map((i) => i.args), ['alpine:3.6', 'valid     continuation', 'something     following     more', 'another     thing', 'non-indented    after-comment', 'indented     comment']);
  });
  t.equal(w, NOTHING, 'empty continuation lines are warned about, not fatal');
  t.strictSame(parseDockerfile('FROM a\nRUN a \\\n  b').warnings, []);
});

t.test('instructions know the lines they span', async (t) => {
  // parser/testfile-line/Dockerfile and TestParseIncludesLineNumbers: FROM 5-5, ENV 11-12, RUN 17-31.
  const text = [
    '# ESCAPE=\\', '', '', '', 'FROM brimstone/ubuntu:14.04', '', '', '# TORUN -v /var/run/docker.sock:/var/run/docker.sock', '', '',
    'ENV GOPATH \\', '/go', '', '', '', '# Install the packages we need, clean up after them and us',
    'RUN apt-get update \\',
    "\t&& dpkg -l | awk '/^ii/ {print $2}' > /tmp/dpkg.clean \\",
    '', '',
    '    && apt-get --no-install-recommends install -y git golang ca-certificates \\',
    '    && apt-get clean \\',
    '    && rm -rf /var/lib/apt/lists \\',
    '',
    '\t&& go get -v github.com/brimstone/consuldock \\',
    '    && mv $GOPATH/bin/consuldock /usr/local/bin/consuldock \\',
    '',
    "\t&& dpkg -l | awk '/^ii/ {print $2}' > /tmp/dpkg.dirty \\",
    "\t&& apt-get remove --purge -y $(diff /tmp/dpkg.clean /tmp/dpkg.dirty | awk '/^>/ {print $2}') \\",
    '\t&& rm /tmp/dpkg.* \\',
    '\t&& rm -rf $GOPATH', '', '', '', '',
  ].join('\n');
  const lines = thrown(() => {
    const parsed = parseDockerfile(text);
    t.strictSame(parsed.instructions.map((i) => [i.keyword, i.line, i.endLine]), [['FROM', 5, 5], ['ENV', 11, 12], ['RUN', 17, 31]]);
  });
  t.equal(lines, NOTHING, 'testfile-line parses');

  const parsed = parseDockerfile('FROM a\n\nRUN <<EOF\none\ntwo\nEOF\n\n# c\nCOPY a \\\n  b\n');
  t.strictSame(parsed.instructions.map((i) => [i.keyword, i.line, i.endLine]), [['FROM', 1, 1], ['RUN', 3, 6], ['COPY', 9, 10]]);
});

t.test('exec (JSON) form and the fall back to shell form', async (t) => {
  const cases: Array<[string, string[] | undefined]> = [
    // parser/testfiles/json
    ['CMD []', []],
    ['CMD [""]', ['']],
    ['CMD ["a"]', ['a']],
    ['CMD ["a","b"]', ['a', 'b']],
    ['CMD [ "a", "b" ]', ['a', 'b']],
    ['CMD [\t"a",\t"b"\t]', ['a', 'b']],
    ['CMD\t[\t"a",\t"b"\t]\t', ['a', 'b']],
    ['CMD ["abc 123", "♥", "☃", "\\" \\\\ \\/ \\b \\f \\n \\r \\t \\u0000"]', ['abc 123', '♥', '☃', '" \\ / \b \f \n \r \t \u0000']],
    ['CMD [ "\\/usr\\\\\\"/bin/znc", "-f", "-r" ]', ['/usr\\"/bin/znc', '-f', '-r']], // testfiles/escapes
    ['RUN ["c:\\\\windows\\\\system32\\\\tasklist.exe"]', ['c:\\windows\\system32\\tasklist.exe']],
    ['ENTRYPOINT ["echo", "$HOME"]', ['echo', '$HOME']],
    // Not JSON arrays: shell form, as written (testfiles/jeztah-invalid-json-*).
    ['CMD "[\\"echo\\", \\"Phew, I just managed to escaped those double quotes\\"]"', undefined],
    ['CMD \'["echo", "Well, JSON in a string is JSON too?"]\'', undefined],
    ["CMD ['echo','single quotes are invalid JSON']", undefined],
    ['CMD ["echo", "Please, close the brackets when you\'re done"', undefined],
    ['CMD ["echo", "look ma, no quote!]', undefined],
    ['CMD ["a"] b', undefined],
  ];
  for (const [line, json] of cases) {
    const i = parseDockerfile(line).instructions[0]!;
    t.strictSame(i.json, json, line);
    if (json === undefined) t.equal(i.args, line.replace(/^CMD\s+/, ''), `${line}: shell form as written`);
  }
  t.strictSame(only('CMD', 'CMD ["a", "b"]').form, { exec: ['a', 'b'] });
  t.strictSame(only('ENTRYPOINT', 'ENTRYPOINT  /bin/sh -c  "x"  ').form, { shell: '/bin/sh -c  "x"' });
  t.strictSame(only('RUN', 'RUN ["echo", "hi"]').form, { exec: ['echo', 'hi'] });

  // Docker: a JSON array of something other than strings is an error, not shell form
  // (parser/line_parsers.go errDockerfileNotStringArray; testfiles-negative/shykes-nested-json).
  t.match(thrown(() => parseDockerfile('CMD ["echo", 1]')), /string/, 'a number in the array');
  t.match(thrown(() => parseDockerfile('CMD [ "echo", [ "nested json" ] ]')), /string/, 'a nested array');

  // testfiles/ADD-COPY-with-JSON: tabs separate; JSON lets a path hold spaces.
  t.match(only('COPY', 'COPY\t[ "test file", "/tmp" ]'), { sources: ['test file'], dest: '/tmp' });
  t.match(only('ADD', 'ADD\t\t[ "test file", "/tmp/test file" ]'), { sources: ['test file'], dest: '/tmp/test file' });
  t.match(only('ADD', 'ADD\t\t.\t/'), { sources: ['.'], dest: '/' });
  t.match(only('COPY', 'COPY\t.\t/go/src/github.com/docker/docker'), { sources: ['.'], dest: '/go/src/github.com/docker/docker' });
  // In shell form quotes do not group words (reference.md: paths with whitespace need the JSON form).
  t.match(only('COPY', 'COPY "a b" /c'), { sources: ['"a', 'b"'], dest: '/c' });
});

t.test('flags: --name=value words before the arguments, checked for each instruction', async (t) => {
  const run = only('RUN', 'RUN --mount=type=cache,target=/root/.cache --mount=type=secret,id=npm --network=none --security=insecure npm ci');
  t.strictSame(run.mounts, ['type=cache,target=/root/.cache', 'type=secret,id=npm'], '--mount repeats');
  t.equal(run.network, 'none');
  t.equal(run.security, 'insecure');
  t.strictSame(run.form, { shell: 'npm ci' });
  t.strictSame(only('RUN', 'RUN --network=host ["echo", "hi"]').form, { exec: ['echo', 'hi'] });

  const copy = only('COPY', 'COPY --from=build --chown=1000:1000 --chmod=0755 --link --exclude=*.md --exclude=*.txt src/ /app/');
  t.match(copy, { from: 'build', chown: '1000:1000', chmod: '0755', link: true, exclude: ['*.md', '*.txt'], sources: ['src/'], dest: '/app/' });
  t.match(only('ADD', 'ADD --checksum=sha256:abc --chown=app --link=false https://x/a.tgz /a'), { checksum: 'sha256:abc', chown: 'app', link: false });
  t.match(readDockerfile('FROM --platform=$BUILDPLATFORM golang:1.22 AS build').stages[0]!.from, { image: 'golang:1.22', platform: '$BUILDPLATFORM' });
  t.match(only('HEALTHCHECK', 'HEALTHCHECK --interval=5s --timeout=3s --retries=3 \\\n  CMD /app/check.sh --quiet'), {
    options: { interval: '5s', timeout: '3s', retries: '3' }, test: { shell: '/app/check.sh --quiet' },
  });

  // Flags are read only before the first argument (parser/split_command.go extractBuilderFlags).
  const late = only('COPY', 'COPY a --from=x b');
  t.match(late, { sources: ['a', '--from=x'], dest: 'b' });
  t.equal(late.from, undefined);
  t.strictSame(parseDockerfile('RUN echo --foo').instructions[0]!.flags, []);
  t.strictSame(parseDockerfile('RUN echo --foo').instructions[0]!.args, 'echo --foo');

  const unknown: Array<[string, string]> = [
    ['RUN --bogus=1 echo', '--bogus'],
    ['CMD --doit [ "a", "b" ]', '--doit'], // testfiles/flags
    ['COPY --user=me foo /tmp/', '--user'],
    ['ADD --from=x a b', '--from'],
    ['ENV --x=1 a=b', '--x'],
    ['WORKDIR --p=1 /x', '--p'],
    ['COPY --link=true --bogus a b', '--bogus'],
  ];
  for (const [line, name] of unknown) {
    t.match(thrown(() => readDockerfile(`FROM scratch\n${line}`)), new RegExp(`^Dockerfile:2: unknown flag: ${name}\\b`), line);
  }
  t.match(thrown(() => readDockerfile('FROM --foo=bar alpine')), /^Dockerfile:1: unknown flag: --foo\b/);
  t.match(thrown(() => readDockerfile('FROM scratch\nCOPY --from=a --from=b x y')), /duplicate flag specified: --from/);
  t.match(thrown(() => readDockerfile('FROM scratch\nCOPY --link=maybe a b')), /expecting boolean value for flag --link, not: maybe/);

  // Docker: boolean values are case-insensitive (instructions/bflag.go lower-cases them).
  t.equal(thrown(() => t.equal(only('COPY', 'COPY --link=TRUE a b').link, true)), NOTHING, '--link=TRUE');
  // Docker: `--` ends the flags (testfiles/flags; bflag.go).
  t.strictSame(argsOf('COPY -- foo /tmp/'), ['foo /tmp/'], 'COPY -- foo /tmp/');
  t.strictSame(argsOf('COPY --link -- foo /tmp/'), ['foo /tmp/'], 'COPY --link -- foo /tmp/');
  // Docker: a string flag needs a value ("missing a value on flag: --from", bflag.go).
  t.match(thrown(() => readDockerfile('FROM scratch\nCOPY --from x y')), /--from/, 'COPY --from x y');
  // Docker: the parser removes quotes from flag words (split_command.go), and --exclude is never
  // expanded afterwards (instructions/commands.go CopyCommand.Expand), so the pattern has no quotes.
  t.equal(thrown(() => t.strictSame(only('COPY', 'COPY --exclude="*.md" . /app').exclude, ['*.md'])), NOTHING);
});

t.test('heredocs', async (t) => {
  type Doc = { name: string; content: string; quoted: boolean; stripTabs: boolean };
  const doc = (name: string, content: string, quoted = false, stripTabs = false): Doc => ({ name, content, quoted, stripTabs });
  // parser/parser_heredoc_test.go TestParseExtractsHeredoc (Expand is !quoted; <<- content as the
  // builder uses it, ChompHeredocContent applied).
  const cases: Array<[string, Doc[]]> = [
    ['RUN <<EMPTY\nEMPTY', [doc('EMPTY', '')]],
    ['RUN 3<<EMPTY2\nEMPTY2', [doc('EMPTY2', '')]],
    ['RUN "<<NOHEREDOC"', []],
    ["RUN '<<EOF'", []],
    ['RUN ["<<EOF"]', []],
    ['RUN ["<<\'EOF\'"]', []],
    ['USER <<INVALID', []],
    ['RUN <<INDENT\n\tfoo\n\tbar\nINDENT', [doc('INDENT', '\tfoo\n\tbar\n')]],
    ['RUN <<-UNINDENT\n\tbaz\n\tquux\nUNINDENT', [doc('UNINDENT', 'baz\nquux\n', false, true)]],
    ['RUN <<-UNINDENT2\n\tbaz\n\tquux\n\tUNINDENT2', [doc('UNINDENT2', 'baz\nquux\n', false, true)]],
    ['RUN <<-EXPAND\n\texpand $NAME\nEXPAND', [doc('EXPAND', 'expand $NAME\n', false, true)]],
    ["RUN <<-'NOEXPAND'\n\tdon't expand $NAME\nNOEXPAND", [doc('NOEXPAND', "don't expand $NAME\n", true, true)]],
    ['RUN <<"EOF"\n$X\nEOF', [doc('EOF', '$X\n', true)]],
    ['RUN <<COPY\necho hello world\necho foo bar\nCOPY', [doc('COPY', 'echo hello world\necho foo bar\n')]],
    ['RUN <<COMMENT\n# internal comment\necho hello world\necho foo bar # trailing comment\nCOMMENT', [doc('COMMENT', '# internal comment\necho hello world\necho foo bar # trailing comment\n')]],
    ['RUN --mount=type=cache,target=/foo <<MOUNT\necho hello\nMOUNT', [doc('MOUNT', 'echo hello\n')]],
    ['COPY <<FILE1 <<FILE2 /dest\ncontent 1\nFILE1\ncontent 2\nFILE2', [doc('FILE1', 'content 1\n'), doc('FILE2', 'content 2\n')]],
    ['COPY <<EOF /quotes\n"foo"\n\'bar\'\nEOF', [doc('EOF', '"foo"\n\'bar\'\n')]],
    ['COPY <<X <<Y /dest\nY\nX\nX\nY', [doc('X', 'Y\n'), doc('Y', 'X\n')]],
    ["RUN <<COMPLEX python3\nprint('hello world')\nCOMPLEX", [doc('COMPLEX', "print('hello world')\n")]],
    ['COPY <<file.txt /dest\nhello world\nfile.txt', [doc('file.txt', 'hello world\n')]],
    ['RUN cat <<EOF > /file\nhello\nEOF', [doc('EOF', 'hello\n')]],
    ['RUN <<EOF\na\n\n  b\nEOF', [doc('EOF', 'a\n\n  b\n')]],
    // The delimiter must be the whole line: with trailing space, or tab-indented without <<-, it is content.
    ['RUN <<EOF\nEOF \n\tEOF\nEOF', [doc('EOF', 'EOF \n\tEOF\n')]],
    // Docker: a delimiter word partly quoted, quoted with a space, or holding `$` (same test file).
    ["RUN <<eo'f'\necho foo\neof", [doc('eof', 'echo foo\n', true)]],
    ["RUN <<eo\\'f\necho foo\neo'f", [doc("eo'f", 'echo foo\n')]],
    ["RUN <<'e'o\\'f\necho foo\neo'f", [doc("eo'f", 'echo foo\n', true)]],
    ["RUN <<'one two'\necho bar\none two", [doc('one two', 'echo bar\n', true)]],
    ['RUN <<$EOF\n$EOF', [doc('$EOF', '')]],
    // Docker: whitespace between << and the word (BuildKit 0b77373 "dockerfile: allow whitespace in heredocs", 2025).
    ['RUN <<  EOF\nEOF', [doc('EOF', '')]],
  ];
  for (const [body, docs] of cases) {
    const got = thrown(() => {
      const instructions = parseDockerfile(`FROM a\n${body}\nRUN next`).instructions;
      t.strictSame(instructions[1]!.heredocs, docs, JSON.stringify(body));
      t.strictSame(instructions.map((i) => i.keyword), ['FROM', body.split(/\s/)[0], 'RUN'], `${JSON.stringify(body)}: the next instruction follows`);
    });
    t.equal(got, NOTHING, `${JSON.stringify(body)} parses`);
  }

  const run = only('RUN', 'RUN <<EOF\napt-get update\napt-get install -y curl\nEOF');
  t.strictSame(run.heredocs, [doc('EOF', 'apt-get update\napt-get install -y curl\n')]);
  t.strictSame(run.form, { shell: '<<EOF' });
  const copy = only('COPY', 'COPY <<-"EOT" /script.sh\n\techo "hello ${FOO}"\n\tEOT');
  t.match(copy, { sources: ['<<-"EOT"'], dest: '/script.sh', heredocs: [doc('EOT', 'echo "hello ${FOO}"\n', true, true)] });

  t.match(thrown(() => parseDockerfile('FROM a\nRUN <<EOF\necho hi\n')), /^Dockerfile:2: .*unterminated heredoc/);
  t.match(thrown(() => parseDockerfile('FROM a\nCOPY <<A <<B /d\na\nA\nb\n')), /^Dockerfile:2: .*unterminated heredoc/);
  t.match(thrown(() => readDockerfile('FROM a\nRUN <<EOF\n1\n2\nEOF\nRUM x')), /^Dockerfile:6: unknown instruction: RUM/);
  // Docker: a heredoc cannot be COPY's destination (instructions/parse.go errBadHeredoc).
  t.match(thrown(() => readDockerfile('FROM a\nCOPY a <<EOF\nx\nEOF')), /heredoc/, 'COPY a <<EOF');
  // Docker: ONBUILD RUN takes heredocs too; the trigger is the instruction with its here-document
  // (parser.go canContainHeredoc for compound ONBUILD; instructions/parse.go parseOnBuild).
  t.equal(thrown(() => t.equal(only('ONBUILD', 'ONBUILD RUN <<EOF\necho hi\nEOF').trigger, 'RUN <<EOF\necho hi\nEOF')), NOTHING, 'ONBUILD RUN <<EOF');
});

t.test('ENV and LABEL: key=value words, and the legacy `ENV key value`', async (t) => {
  // parser/testfiles/env: values are kept as written; the builder expands them.
  const cases: Array<[string, Array<[string, string]>]> = [
    ['ENV name value', [['name', 'value']]],
    ['ENV name=value', [['name', 'value']]],
    ['ENV name=value name2=value2', [['name', 'value'], ['name2', 'value2']]],
    ['ENV name="value value1"', [['name', '"value value1"']]],
    ['ENV name=value\\ value2', [['name', 'value\\ value2']]],
    ['ENV name="value\'quote space\'value2"', [['name', '"value\'quote space\'value2"']]],
    ['ENV name=\'value"double quote"value2\'', [['name', '\'value"double quote"value2\'']]],
    ['ENV name=value\\ value2 name2=value2\\ value3', [['name', 'value\\ value2'], ['name2', 'value2\\ value3']]],
    ['ENV name="a\\"b"', [['name', '"a\\"b"']]],
    ['ENV name="a\\\'b"', [['name', '"a\\\'b"']]],
    ["ENV name='a\\'b'", [['name', "'a\\'b'"]]],
    ["ENV name='a\\'b''", [['name', "'a\\'b''"]]],
    ["ENV name='a\\\"b'", [['name', "'a\\\"b'"]]],
    ['ENV name="\'\'"', [['name', '"\'\'"']]],
    ['ENV name=value \\\n    name1=value1 \\\n    name2="value2a \\\n           value2b" \\\n    name3="value3a\\n\\"value3b\\"" \\\n\tname4="value4a\\\\nvalue4b" \\\n', [
      ['name', 'value'], ['name1', 'value1'], ['name2', `"value2a${' '.repeat(12)}value2b"`], ['name3', '"value3a\\n\\"value3b\\""'], ['name4', '"value4a\\\\nvalue4b"'],
    ]],
    ['ENV MY_VAR my-value  and  more ', [['MY_VAR', 'my-value  and  more']]],
    ['ENV a= b=""', [['a', ''], ['b', '""']]],
    ['ENV a=x=y', [['a', 'x=y']]],
    // reference.md LABEL
    ['LABEL "com.example.vendor"="ACME Incorporated"', [['"com.example.vendor"', '"ACME Incorporated"']]],
    ['LABEL com.example.label-with-value="foo"', [['com.example.label-with-value', '"foo"']]],
    ['LABEL description="This text illustrates \\\nthat label-values can span multiple lines."', [['description', '"This text illustrates that label-values can span multiple lines."']]],
    ['LABEL multi.label1="value1" \\\n      multi.label2="value2" \\\n      other="value3"', [['multi.label1', '"value1"'], ['multi.label2', '"value2"'], ['other', '"value3"']]],
    ['LABEL maintainer Erik \\\\Hollensbe <erik@hollensbe.org>\\"', [['maintainer', 'Erik \\\\Hollensbe <erik@hollensbe.org>\\"']]], // testfiles/escapes
  ];
  for (const [line, pairs] of cases) t.strictSame(thrown(() => t.strictSame(pairsOf(line), pairs, JSON.stringify(line))), NOTHING, `${JSON.stringify(line)} reads`);

  // What the builder makes of them (reference.md ENV and LABEL examples).
  const expanded: Array<[string, string]> = [
    ['"value value1"', 'value value1'],
    ['value\\ value2', 'value value2'],
    ['"a\\"b"', 'a"b'],
    ['"a\\\'b"', "a\\'b"],
    ["'a\\\"b'", 'a\\"b'],
    ['"\'\'"', "''"],
    ['"John Doe"', 'John Doe'],
    ['Rex\\ The\\ Dog', 'Rex The Dog'],
    ['"com.example.vendor"', 'com.example.vendor'],
    ['"value4a\\\\nvalue4b"', 'value4a\\nvalue4b'],
  ];
  for (const [raw, value] of expanded) t.equal(expand(raw, vars({})), value, raw);

  const errors: Array<[string, RegExp]> = [
    ['ENV name', /ENV must have two arguments/], // testfiles-negative/env_no_value
    ['LABEL foo', /LABEL must have two arguments/],
    ['ENV a=1 b', /Syntax error - can't find = in "b"\. Must be of the form: name=value/],
    ['ENV =x', /ENV names can not be blank/],
    ['LABEL =x', /LABEL names can not be blank/],
    ['ENV', /ENV requires at least one argument/],
  ];
  for (const [line, re] of errors) t.match(thrown(() => readDockerfile(`FROM scratch\n${line}`)), re, line);
});

t.test('ARG: names with optional defaults, before the first FROM and in stages', async (t) => {
  // parser/testfiles/args
  const df = readDockerfile('ARG foo bar=baz\nFROM ubuntu\nARG abc="123 456" def');
  t.strictSame(df.metaArgs.map((a) => a.args), [[{ key: 'foo' }, { key: 'bar', value: 'baz' }]]);
  t.strictSame(df.stages[0]!.commands.map((c) => (c.kind === 'ARG' ? c.args : c.kind)), [[{ key: 'abc', value: '"123 456"' }, { key: 'def' }]]);
  t.strictSame(only('ARG', 'ARG a= b==c d=x=y').args, [{ key: 'a', value: '' }, { key: 'b', value: '=c' }, { key: 'd', value: 'x=y' }]);
  t.strictSame(only('ARG', 'ARG v=a\\ b').args, [{ key: 'v', value: 'a\\ b' }]);
  t.match(thrown(() => readDockerfile('FROM a\nARG =x')), /ARG names can not be blank/);
  t.match(thrown(() => readDockerfile('FROM a\nARG')), /ARG requires at least one argument/);
  t.match(thrown(() => readDockerfile('ARG VERSION=1')), /no FROM|no stages/i, 'only ARGs: nothing to build');
});

t.test('FROM and stages', async (t) => {
  const df = readDockerfile('ARG BASE=alpine\nFROM $BASE AS Build\nRUN make\nfrom scratch as final\nCOPY --from=build /out /\nFROM final');
  t.strictSame(df.stages.map((s) => [s.index, s.name, s.from.image, s.commands.map((c) => c.kind)]), [
    [0, 'build', '$BASE', ['RUN']], [1, 'final', 'scratch', ['COPY']], [2, undefined, 'final', []],
  ]);
  t.equal(df.stages[0]!.from.line, 2);
  for (const name of ['a', 'a-b_c.d', 'x1', 'LOWERED']) t.equal(readDockerfile(`FROM a AS ${name}`).stages[0]!.name, name.toLowerCase(), name);
  t.equal(readDockerfile('FROM a aS x').stages[0]!.name, 'x', 'AS in any case');

  const errors: Array<[string, RegExp]> = [
    ['FROM', /FROM requires either one or three arguments/],
    ['FROM a b', /FROM requires either one or three arguments/],
    ['FROM a AS', /FROM requires either one or three arguments/],
    ['FROM a AS b c', /FROM requires either one or three arguments/],
    ['FROM a FOR b', /FROM requires either one or three arguments/],
    ['FROM a AS 1st', /invalid name for build stage: "1st", name can't start with a number or contain symbols/],
    ['FROM a AS b$c', /invalid name for build stage/],
    ['FROM a AS _b', /invalid name for build stage/],
    // reference / linter DuplicateStageName: a stage name must be unique (case-insensitively).
    ['FROM a AS x\nFROM b AS X', /^Dockerfile:2: duplicate stage name/i],
    // instructions/commands.go CurrentStage
    ['RUN echo hi\nFROM a', /^Dockerfile:1: .*no build stage in current context/],
    ['# just a comment\n\nENV a=b\nFROM a', /^Dockerfile:3: .*no build stage in current context/],
    ['', /./],
  ];
  for (const [text, re] of errors) t.match(thrown(() => readDockerfile(text)), re, JSON.stringify(text));
});

t.test('other instructions: arguments and their checks', async (t) => {
  t.strictSame(only('SHELL', 'SHELL ["powershell", "-command"]').shell, ['powershell', '-command']);
  t.match(thrown(() => only('SHELL', 'SHELL powershell -command')), /SHELL requires the arguments to be in JSON form/);
  t.match(thrown(() => only('SHELL', 'SHELL []')), /SHELL requires at least one argument/);
  // testfiles/multiple-volumes; VOLUME in JSON form.
  t.strictSame(only('VOLUME', 'VOLUME /opt/nagios/var /opt/nagios/etc /var/log/apache2').values, ['/opt/nagios/var', '/opt/nagios/etc', '/var/log/apache2']);
  t.strictSame(only('VOLUME', 'VOLUME ["/data", "/with space"]').values, ['/data', '/with space']);
  t.match(thrown(() => only('VOLUME', 'VOLUME ["/data", ""]')), /VOLUME specified can not be an empty string/);
  t.equal(only('WORKDIR', 'WORKDIR /path with space').value, '/path with space');
  t.equal(only('USER', 'USER app:app').value, 'app:app');
  t.equal(only('STOPSIGNAL', 'STOPSIGNAL SIGQUIT').value, 'SIGQUIT');
  t.strictSame(only('EXPOSE', 'EXPOSE 80/tcp   443').values, ['80/tcp', '443']);
  t.equal(only('MAINTAINER', 'MAINTAINER Jane <j@example.com>').value, 'Jane <j@example.com>');
  t.match(thrown(() => only('COPY', 'COPY onlyone')), /COPY requires at least two arguments, but only one was provided\. Destination could not be determined/);
  t.match(thrown(() => only('ADD', 'ADD onlyone')), /ADD requires at least two arguments/);

  // parser/testfiles/health and instructions/parse.go parseHealthcheck.
  t.strictSame(only('HEALTHCHECK', 'HEALTHCHECK   CMD   a b').test, { shell: 'a b' });
  t.match(only('HEALTHCHECK', 'HEALTHCHECK --timeout=3s CMD ["foo"]'), { test: { exec: ['foo'] }, options: { timeout: '3s' } });
  t.strictSame(only('HEALTHCHECK', 'healthcheck cmd ["foo"]').test, { exec: ['foo'] });
  t.equal(only('HEALTHCHECK', 'HEALTHCHECK NONE').test, undefined);
  for (const bad of ['HEALTHCHECK', 'HEALTHCHECK CMD', 'HEALTHCHECK CONNECT TCP 7000', 'HEALTHCHECK NONE extra', 'HEALTHCHECK --bogus=1 CMD x']) {
    t.not(thrown(() => readDockerfile(`FROM a\n${bad}`)), NOTHING, bad);
  }

  // ONBUILD: the trigger is kept as text; these triggers are refused (instructions/parse.go parseOnBuild).
  t.equal(only('ONBUILD', 'ONBUILD RUN echo "hi there"').trigger, 'RUN echo "hi there"');
  t.equal(only('ONBUILD', 'ONBUILD COPY --chown=app . /app').trigger, 'COPY --chown=app . /app');
  t.match(thrown(() => only('ONBUILD', 'ONBUILD ONBUILD RUN x')), /Chaining ONBUILD via `ONBUILD ONBUILD` isn't allowed/);
  t.match(thrown(() => only('ONBUILD', 'ONBUILD FROM x')), /FROM isn't allowed as an ONBUILD trigger/);
  t.match(thrown(() => only('ONBUILD', 'onbuild maintainer me')), /MAINTAINER isn't allowed as an ONBUILD trigger/);
  const triggers = readTriggers(['RUN echo hi', 'ENV a=b', 'COPY x /y'], 'Dockerfile', 7);
  t.strictSame(triggers.map((c) => [c.kind, c.line]), [['RUN', 7], ['ENV', 7], ['COPY', 7]]);
  t.match(triggers[1], { pairs: [{ key: 'a', value: 'b' }] });
});

t.test('errors name the file and the line, and suggest an instruction', async (t) => {
  let caught: unknown;
  try {
    readDockerfile('FROM a\n\nRUN --bogus \\\n  x', 'ci/Dockerfile.dev');
  } catch (err) {
    caught = err;
  }
  t.ok(caught instanceof DockerfileError, 'a DockerfileError');
  t.ok(isBerthError(caught, 'invalid-argument'), 'code invalid-argument');
  t.match(caught, { file: 'ci/Dockerfile.dev', line: 3, message: /^ci\/Dockerfile\.dev:3: unknown flag: --bogus/ }, 'the line where the instruction starts');

  // instructions/parse.go UnknownInstructionError wrapped by util/suggest: the suggestion keeps the word's case.
  const unknown: Array<[string, string]> = [
    ['RUM echo hi', 'unknown instruction: RUM (did you mean RUN?)'],
    ['COPPY a b', 'unknown instruction: COPPY (did you mean COPY?)'],
    ['ENTRYPOIN x', 'unknown instruction: ENTRYPOIN (did you mean ENTRYPOINT?)'],
    ['FROBNICATE x', 'unknown instruction: FROBNICATE'],
    // Docker: a lower-case word gets a lower-case suggestion (util/suggest matchCase).
    ['rum echo hi', 'unknown instruction: rum (did you mean run?)'],
  ];
  for (const [line, message] of unknown) t.equal(thrown(() => readDockerfile(`FROM a\n# c\n${line}`)), `Dockerfile:3: ${message}`, line);
  t.match(thrown(() => readDockerfile('FROM a\nCOPY x', 'Containerfile')), /^Containerfile:2: COPY requires at least two arguments/);
});

t.test('splitWords keeps quotes and escapes as written (parser.parseWords)', async (t) => {
  const cases: Array<[string, string[], string?]> = [
    // parser_test.go TestParseWords
    ['foo', ['foo']],
    ['foo bar', ['foo', 'bar']],
    ['foo\\ bar', ['foo\\ bar']],
    ['foo=bar', ['foo=bar']],
    ["foo bar 'abc xyz'", ['foo', 'bar', "'abc xyz'"]],
    ['foo bar "abc xyz"', ['foo', 'bar', '"abc xyz"']],
    ['àöû', ['àöû']],
    ['föo bàr "âbc xÿz"', ['föo', 'bàr', '"âbc xÿz"']],
    ['  lead \t trail  ', ['lead', 'trail']],
    ['a "" b', ['a', '""', 'b']],
    ['a="x \\" y" b', ['a="x \\" y"', 'b']],
    ["a='x \\' b", ["a='x \\'", 'b']],
    ['a` b c', ['a` b', 'c'], '`'],
    ['a\\ b', ['a\\', 'b'], '`'],
  ];
  for (const [text, words, escape] of cases) t.strictSame(splitWords(text, escape ?? '\\'), words, JSON.stringify(text));
});

t.test('expand: shell/envVarTest, word by word', async (t) => {
  // BuildKit's table, run with PWD=/home SHELL=bash KOREAN=한국어 NULL= (the Unix and "all" rows;
  // a few of the Korean duplicates and positional parameters are left out).
  const env = vars({ PWD: '/home', SHELL: 'bash', KOREAN: '한국어', NULL: '' });
  const cases: Array<[string, string | typeof ERROR]> = [
    ['hello', 'hello'],
    ["he'll'o", 'hello'],
    ["he'llo", ERROR],
    ["he\\'llo", "he'llo"],
    ["he\\\\'llo", ERROR],
    ['abc\\tdef', 'abctdef'],
    ['"abc\\tdef"', 'abc\\tdef'],
    ['"abc\\\\tdef"', 'abc\\tdef'],
    ["'abc\\tdef'", 'abc\\tdef'],
    ['hello\\', 'hello'],
    ['hello\\\\', 'hello\\'],
    ['"hello', ERROR],
    ['"hello\\"', ERROR],
    ['"hel\'lo"', "hel'lo"],
    ["'hello", ERROR],
    ["'hello\\'", 'hello\\'],
    ["'hello\\there'", 'hello\\there'],
    ["'hello\\\\there'", 'hello\\\\there'],
    ['"\'\'"', "''"],
    ['$.', '$.'],
    ['he$1x', 'hex'],
    ['he$.x', 'he$.x'],
    ['he$pwd.', 'he.'],
    ['he$PWD', 'he/home'],
    ['he\\$PWD', 'he$PWD'],
    ['he\\\\$PWD', 'he\\/home'],
    ['"he\\$PWD"', 'he$PWD'],
    ['"he\\\\$PWD"', 'he\\/home'],
    ['\\${}', '${}'],
    ['\\${}aaa', '${}aaa'],
    ['he\\${}', 'he${}'],
    ['he\\${}xx', 'he${}xx'],
    ['${}', ERROR],
    ['${}aaa', ERROR],
    ['he${}', ERROR],
    ['he${}xx', ERROR],
    ['he${hi}', 'he'],
    ['he${hi}xx', 'hexx'],
    ['he${PWD}', 'he/home'],
    ['he${.}', ERROR],
    ['he${XXX:-000}xx', 'he000xx'],
    ['he${PWD:-000}xx', 'he/homexx'],
    ['he${XXX:-$PWD}xx', 'he/homexx'],
    ['he${XXX:-${PWD:-yyy}}xx', 'he/homexx'],
    ['he${XXX:-${YYY:-yyy}}xx', 'heyyyxx'],
    ['he${XXX:YYY}', ERROR],
    ['he${XXX?}', ERROR],
    ['he${XXX:?}', ERROR],
    ['he${PWD?}', 'he/home'],
    ['he${PWD:?}', 'he/home'],
    ['he${NULL?}', 'he'],
    ['he${NULL:?}', ERROR],
    ['he${XXX:+${PWD}}xx', 'hexx'],
    ['he${PWD:+${XXX}}xx', 'hexx'],
    ['he${PWD:+${SHELL}}xx', 'hebashxx'],
    ['he${XXX:+000}xx', 'hexx'],
    ['he${PWD:+000}xx', 'he000xx'],
    ["'he${XX}'", 'he${XX}'],
    ['"he${PWD}"', 'he/home'],
    ['"he\'$PWD\'"', "he'/home'"],
    ['"$PWD"', '/home'],
    ["'$PWD'", '$PWD'],
    ["'\\$PWD'", '\\$PWD'],
    ['\'"hello"\'', '"hello"'],
    ["'he\\$PWD'", 'he\\$PWD'],
    ['he${PWD', ERROR],
    ['he${PWD:=000}xx', ERROR],
    ['he${PWD:+${PWD}:}xx', 'he/home:xx'],
    ['he${XXX:-\\$PWD:}xx', 'he$PWD:xx'],
    ['he${XXX:-\\${PWD}z}xx', 'he${PWDz}xx'],
    ['안녕하세요', '안녕하세요'],
    ["안'녕'하세요", '안녕하세요'],
    ["안'녕하세요", ERROR],
    ["안녕\\'하세요", "안녕'하세요"],
    ['"안녕\'하세요"', "안녕'하세요"],
    ['안녕$PWD', '안녕/home'],
    ['안녕${XXX:-${YYY:-yyy}}xx', '안녕yyyxx'],
    ['"안녕\'$PWD\'"', "안녕'/home'"],
    ['$KOREAN', '한국어'],
    ['안녕$KOREAN', '안녕한국어'],
    ['${{aaa}', ERROR],
    ['${aaa}}', '}'],
    ['${aaa', ERROR],
    ['${{aaa:-bbb}', ERROR],
    ['${aaa:-bbb}}', 'bbb}'],
    ['${aaa:-bbb', ERROR],
    ['${aaa:-bbb}', 'bbb'],
    ['${aaa:-${bbb:-ccc}}', 'ccc'],
    ['${aaa:-bbb ${foo}', ERROR],
    ['${aaa:-bbb {foo}', 'bbb {foo'],
    ['${:}', ERROR],
    ['${:-bbb}', ERROR],
    ['${:+bbb}', ERROR],
    // Positional and special parameters are never set.
    ['$1', ''],
    ['${1}', ''],
    ['${1:+bbb}', ''],
    ['${1:-bbb}', 'bbb'],
    ['$9', ''],
    ['${9:-bbb}', 'bbb'],
    ['$999', ''],
    ['${999}', ''],
    ['${999:+bbb}', ''],
    ['${999:-bbb}', 'bbb'],
    ['$999aaa', 'aaa'],
    ['${999}aaa', 'aaa'],
    ['${999:+bbb}aaa', 'aaa'],
    ['${999:-bbb}aaa', 'bbbaaa'],
    ['$001', ''],
    ['${001}', ''],
    ['${001:+bbb}', ''],
    ['${001:-bbb}', 'bbb'],
    ['$001aaa', 'aaa'],
    ['${001}aaa', 'aaa'],
    ['${001:+bbb}aaa', 'aaa'],
    ['${001:-bbb}aaa', 'bbbaaa'],
    ['$@', ''],
    ['${@}', ''],
    ['${@:+bbb}', ''],
    ['${@:-bbb}', 'bbb'],
    ['$@@@', '@@'],
    ['$@aaa', 'aaa'],
    ['${@}aaa', 'aaa'],
    ['${@:+bbb}aaa', 'aaa'],
    ['${@:-bbb}aaa', 'bbbaaa'],
    ['$*', ''],
    ['${*}', ''],
    ['${*:+bbb}', ''],
    ['${*:-bbb}', 'bbb'],
    ['$#', ''],
    ['${#}', ''],
    ['${#:+bbb}', ''],
    ['${#:-bbb}', 'bbb'],
    ['$?', ''],
    ['${?}', ''],
    ['${?:+bbb}', ''],
    ['${?:-bbb}', 'bbb'],
    ['$-', ''],
    ['${-}', ''],
    ['${-:+bbb}', ''],
    ['${-:-bbb}', 'bbb'],
    ['$$', ''],
    ['${$}', ''],
    ['${$:+bbb}', ''],
    ['${$:-bbb}', 'bbb'],
    ['$!', ''],
    ['${!}', ''],
    ['${!:+bbb}', ''],
    ['${!:-bbb}', 'bbb'],
    ['$0', ''],
    ['${0}', ''],
    ['${0:+bbb}', ''],
    ['${0:-bbb}', 'bbb'],
    // More cases
    ['$', '$'],
    ['a$', 'a$'],
    ['$ x', '$ x'],
    ['$_x-y', '-y'],
    ['"a b"\'c d\'e\\ f', 'a bc de f'],
  ];
  for (const [word, want] of cases) {
    if (want === ERROR) t.not(thrown(() => expand(word, env)), NOTHING, `${word} is an error`);
    else t.equal(thrown(() => t.equal(expand(word, env), want, word)), NOTHING, `${word} expands`);
  }
  t.match(thrown(() => expand('${NULL:?}', env)), /NULL: is not allowed to be empty/);
  t.match(thrown(() => expand('${XXX?}', env)), /XXX: is not allowed to be unset/);
  // shell/lex_test.go TestShellParserMandatoryEnvVars: the message is expanded.
  t.match(thrown(() => expand('${VAR:?message here$ARG}', vars({ VAR: '', ARG: 'x' }))), /message herex/);
  t.match(thrown(() => expand('${VAR?message here$ARG}', vars({ ARG: 'x' }))), /message herex/);
  t.equal(expand('${VAR?message here$ARG}', vars({ VAR: '', ARG: 'x' })), '');
});

t.test('expand: BuildKit modifiers # ## % %% / //', async (t) => {
  const cases: Array<[string, Record<string, string>, string | typeof ERROR]> = [
    // reference.md "Environment replacement"
    ['${str#f*b}', { str: 'foobarbaz' }, 'arbaz'],
    ['${str##f*b}', { str: 'foobarbaz' }, 'az'],
    ['${str%b*}', { str: 'foobarbaz' }, 'foobar'],
    ['${str%%b*}', { str: 'foobarbaz' }, 'foo'],
    ['${str/ba/fo}', { str: 'foobarbaz' }, 'fooforbaz'],
    ['${str//ba/fo}', { str: 'foobarbaz' }, 'fooforfoz'],
    // shell/lex_test.go TestProcessWithMatches
    ['x ${UNUSED}', { DUMMY: 'dummy' }, 'x '],
    ['${FOO-aaa} ${BAR-bbb} ${BAZ-ccc}', { FOO: 'xxx', BAR: '' }, 'xxx  ccc'],
    ['${FOO:-aaa} ${BAR:-bbb} ${BAZ:-ccc}', { FOO: 'xxx', BAR: '' }, 'xxx bbb ccc'],
    ['${FOO:-}', { FOO: 'xxx' }, 'xxx'],
    ['${FOO:-}', {}, ''],
    ['${FOO+aaa} ${BAR+bbb} ${BAZ+ccc}', { FOO: 'xxx', BAR: '' }, 'aaa bbb '],
    ['${FOO:+aaa} ${BAR:+bbb} ${BAZ:+ccc}', { FOO: 'xxx', BAR: '' }, 'aaa  '],
    ['${FOO?aaa}', { FOO: 'xxx' }, 'xxx'],
    ['${BAR?bbb}', { BAR: '' }, ''],
    ['${BAZ?ccc}', {}, ERROR],
    ['${FOO:?aaa}', { FOO: 'xxx' }, 'xxx'],
    ['${BAR:?bbb}', { BAR: '' }, ERROR],
    ['${BAZ:?ccc}', {}, ERROR],
    ['${BAZ:?}', {}, ERROR],
    ['${FOO=aaa}', { FOO: 'xxx' }, ERROR],
    ['${FOO=:aaa}', { FOO: 'xxx' }, ERROR],
    ['${FOO=}', {}, ERROR],
    ['${FOO#()[]{\\}^$.\\*\\?|\\\\}', { FOO: '()[]{}^$.*?|\\x' }, 'x'],
    ['${FOO%%\\**}', { FOO: 'xx**' }, 'xx'],
    ['${FOO#*x*y}', { FOO: 'xxyy' }, 'y'],
    ['${FOO#*}', { FOO: 'xxyy' }, 'xxyy'],
    ['${FOO#$BAR}', { FOO: 'xxyy', BAR: 'x' }, 'xyy'],
    ['${FOO#$BAR}', { FOO: 'xxyy', BAR: '' }, 'xxyy'],
    ['${FOO#}', { FOO: 'xxyy' }, 'xxyy'],
    ['${FOO##*x}', { FOO: 'xxyy' }, 'yy'],
    ['${FOO##}', { FOO: 'xxyy' }, 'xxyy'],
    ['${FOO#?\\?}', { FOO: '???y' }, '?y'],
    ['${ABC:-.}${FOO%x}${ABC:-.}', { FOO: 'xxyy' }, '.xxyy.'],
    ['${FOO%%\\**\\*}', { FOO: 'a***yy*' }, 'a'],
    ['${FOO%}', { FOO: 'xxyy' }, 'xxyy'],
    ['${FOO%%$BAR}', { FOO: 'xxyy', BAR: '' }, 'xxyy'],
    ['${FOO/$NEEDLE/.} - ${FOO//$NEEDLE/.}', { FOO: '/foo*/*/*.txt', NEEDLE: '\\*/' }, '/foo.*/*.txt - /foo..*.txt'],
    ['${FOO/$NEEDLE/} - ${FOO//$NEEDLE/}', { FOO: '/tmp/tmp/bar.txt', NEEDLE: '/tmp' }, '/tmp/bar.txt - /bar.txt'],
    ['${FOO/$NEEDLE/$REPLACEMENT} - ${FOO//$NEEDLE/$REPLACEMENT}', { FOO: '/a/foo/b/c.txt', NEEDLE: '/?/', REPLACEMENT: '/' }, '/foo/b/c.txt - /foo/c.txt'],
    ['${FOO/$NEEDLE/$REPLACEMENT}', { FOO: 'http://google.de', NEEDLE: 'http://', REPLACEMENT: 'https://' }, 'https://google.de'],
    ['${FOO//\\//\\/}', { FOO: '/tmp/foo.txt' }, '\\/tmp\\/foo.txt'],
    ['${FOO//ww}', { FOO: 'xxyy' }, ERROR],
    ['${FOO//}', { FOO: 'xxyy' }, ERROR],
    ['${FOO///}', { FOO: 'xxyy' }, 'xxyy'],
    ['${FOO///}', {}, ''],
    // shell/lex_test.go TestProcessWithMatchesPlatform
    ['something-${VERSION}.${TARGETOS}-${TARGETARCH}${TARGETVARIANT:+-${TARGETVARIANT}}.tar.gz', { VERSION: 'v1.2.3', TARGETOS: 'linux', TARGETARCH: 'arm', TARGETVARIANT: 'v7' }, 'something-v1.2.3.linux-arm-v7.tar.gz'],
    ['something-${VERSION}.${TARGETOS}-${TARGETARCH}${TARGETVARIANT:+-${TARGETVARIANT}}.tar.gz', { VERSION: 'v1.2.3', TARGETOS: 'linux', TARGETARCH: 'arm64', TARGETVARIANT: '' }, 'something-v1.2.3.linux-arm64.tar.gz'],
    ['something-${VERSION}.${TARGETOS}-${TARGETARCH}${TARGETVARIANT:+-${TARGETVARIANT}}.tar.gz', { VERSION: 'v1.2.3', TARGETOS: 'linux', TARGETARCH: 'arm64' }, 'something-v1.2.3.linux-arm64.tar.gz'],
    // lex.go: the trims take no colon ("unsupported modifier"), and ${X:/..} is no replacement.
    ['${FOO:#x}', { FOO: 'xy' }, ERROR],
    ['${FOO:%x}', { FOO: 'xy' }, ERROR],
    ['${FOO:##x}', { FOO: 'xy' }, ERROR],
    ['${FOO:/x/y}', { FOO: 'xy' }, ERROR],
    ['${FOO:-a\\}b}', {}, 'a}b'],
    ['${FOO%"b"}', { FOO: 'ab' }, 'a'],
    ['${FOO#\'*\'}', { FOO: 'a*b' }, 'a*b'],
    ['${UNSET#x}', {}, ''],
    ['${UNSET/x/y}', {}, ''],
    // Docker: patterns have `?` and `*` only, no bracket expressions ("[" is literal: lex.go
    // convertShellPatternToRegex "without the bracket expressions"; reference.md).
    ['${FOO#[ab]}', { FOO: 'abc' }, 'abc'],
    ['${FOO#[ab]*}', { FOO: '[ab]x' }, 'x'],
    ['${FOO//[0-9]/#}', { FOO: 'a1[0-9]' }, 'a1#'],
    // Docker: in a pattern only \*, \? and \\ are escapes; any other is an error (lex_test.go TestConvertShellPatternToRegex).
    ['${FOO#\\x}', { FOO: 'xy' }, ERROR],
  ];
  for (const [word, v, want] of cases) {
    const label = `${word} with ${JSON.stringify(v)}`;
    if (want === ERROR) t.not(thrown(() => expand(word, vars(v))), NOTHING, `${label} is an error`);
    else t.equal(thrown(() => t.equal(expand(word, vars(v)), want, label)), NOTHING, `${label} expands`);
  }
});

t.test('expandWord reports the names it used', async (t) => {
  // shell/lex_test.go TestProcessWithMatches: a name is matched when set, even to ''.
  const cases: Array<[string, Record<string, string>, string[]]> = [
    ['x', { DUMMY: 'dummy' }, []],
    ['x ${UNUSED}', { DUMMY: 'dummy' }, []],
    ['x ${FOO}', { FOO: 'y' }, ['FOO']],
    ['${FOO-aaa} ${BAR-bbb} ${BAZ-ccc}', { FOO: 'xxx', BAR: '' }, ['BAR', 'FOO']],
    ['${FOO:+aaa} ${BAR:+bbb} ${BAZ:+ccc}', { FOO: 'xxx', BAR: '' }, ['BAR', 'FOO']],
    ['${FOO#$BAR}', { FOO: 'xxyy', BAR: '' }, ['BAR', 'FOO']],
    ['${FOO/$NEEDLE/$REPLACEMENT}', { FOO: 'a', NEEDLE: 'a', REPLACEMENT: 'b' }, ['FOO', 'NEEDLE', 'REPLACEMENT']],
    ["'$FOO' \\$BAR", { FOO: 'x', BAR: 'y' }, []],
  ];
  for (const [word, v, used] of cases) t.strictSame([...expandWord(word, vars(v)).used].sort(), used, word);
});

t.test('expand with the escape character `', async (t) => {
  const env = vars({ X: 'y', b: 'B' });
  const cases: Array<[string, string]> = [
    ['a`$b', 'a$b'],
    ['C:\\dir\\$X', 'C:\\dir\\y'],
    ['"a`"b"', 'a"b'],
    ['"C:\\dir\\"', 'C:\\dir\\'],
    ['a` b', 'a b'],
    ['``', '`'],
    ['"``$X"', '`y'],
    ['${NOPE:-C:\\x}', 'C:\\x'],
  ];
  for (const [word, want] of cases) t.equal(expand(word, env, '`'), want, word);
});

t.test('exposedPorts: EXPOSE words as port/proto keys (dockerfile2llb/convert_expose.go)', async (t) => {
  const cases: Array<[string[], string[]]> = [
    [['80'], ['80/tcp']],
    [['80/udp', '53/sctp'], ['80/udp', '53/sctp']],
    [['80/TCP'], ['80/tcp']],
    [['080'], ['80/tcp']],
    [['1234-1236/tcp', '2345-2347/udp'], ['1234/tcp', '1235/tcp', '1236/tcp', '2345/udp', '2346/udp', '2347/udp']],
    [['8080-8080'], ['8080/tcp']],
    [['65535'], ['65535/tcp']],
    // Docker: port 0 is in range (parsePortNumber: 0–65535).
    [['0'], ['0/tcp']],
    // Docker: an empty protocol after the slash is tcp (splitProtoPort).
    [['80/'], ['80/tcp']],
    // Docker: host parts are accepted, with a lint warning, and only the container port kept (TestParsePorts).
    [['8080:80'], ['80/tcp']],
    [['0.0.0.0:1234:1234/tcp'], ['1234/tcp']],
    [['1234-1236:1234-1236/udp'], ['1234/udp', '1235/udp', '1236/udp']],
  ];
  for (const [words, want] of cases) t.equal(thrown(() => t.strictSame(exposedPorts(words), want, words.join(' '))), NOTHING, `${words.join(' ')} is accepted`);
  for (const bad of ['65536', '80/icmp', 'abc', '/tcp', '1236-1234', '', '80-', 'localhost:1234:1234/tcp', '-1']) {
    t.not(thrown(() => exposedPorts([bad])), NOTHING, `${JSON.stringify(bad)} is refused`);
  }
});

t.test('parseDuration: Go time.ParseDuration', async (t) => {
  const cases: Array<[string, number]> = [
    ['0', 0],
    ['0s', 0],
    ['30s', 30e9],
    ['1m30s', 90e9],
    ['1.5h', 5400e9],
    ['300ms', 3e8],
    ['1h2m3s4ms5us6ns', 3723004005006],
    ['.5s', 5e8],
    ['5.s', 5e9],
    ['1us', 1e3],
    ['1\u00b5s', 1e3],
    ['2h45m', 9900e9],
    ['1h1h', 7200e9],
    // Docker: Go also takes U+03BC as micro, and a sign (time.ParseDuration's unitMap and leading [-+]).
    ['1\u03bcs', 1e3],
    ['+5s', 5e9],
    ['-1.5h', -5400e9],
  ];
  for (const [text, ns] of cases) t.equal(thrown(() => t.equal(parseDuration(text, 'interval'), ns, text)), NOTHING, `${text} parses`);
  // '9999999h' overflows int64 nanoseconds: Go refuses it.
  for (const bad of ['', '5', 's', '.s', '1d', '1 s', '1S', '1s5', '1h-5m', '--1s', '9999999h']) {
    t.not(thrown(() => parseDuration(bad, 'interval')), NOTHING, `${JSON.stringify(bad)} is refused`);
  }
  t.match(thrown(() => parseDuration('5', 'timeout')), /--timeout/, 'the message names the flag');
});

t.test('healthcheck: the config Docker writes (instructions/parse.go parseHealthcheck)', async (t) => {
  t.strictSame(healthcheck(undefined, {}), { Test: ['NONE'] });
  t.strictSame(healthcheck({ exec: ['curl', '-f', 'http://localhost/'] }, {}), { Test: ['CMD', 'curl', '-f', 'http://localhost/'] });
  t.strictSame(healthcheck({ shell: 'curl -f http://localhost/ || exit 1' }, {}), { Test: ['CMD-SHELL', 'curl -f http://localhost/ || exit 1'] });
  t.match(healthcheck({ shell: 'x' }, { interval: '5s', timeout: '3s', 'start-period': '1m', 'start-interval': '2s', retries: '3' }), {
    Interval: 5e9, Timeout: 3e9, StartPeriod: 60e9, StartInterval: 2e9, Retries: 3,
  });
  // testfiles/health: zero durations and retries are allowed (0 means the default).
  const zeros = healthcheck({ exec: ['foo'] }, { 'start-period': '0s', 'start-interval': '0s', interval: '5s', timeout: '0s', retries: '0' });
  t.equal(zeros.Interval, 5e9);
  t.equal(zeros.Timeout ?? 0, 0);
  t.equal(zeros.Retries ?? 0, 0);
  t.equal(healthcheck({ shell: 'x' }, { interval: '1ms' }).Interval, 1e6);
  t.match(thrown(() => healthcheck({ shell: 'x' }, { interval: '500us' })), /less than 1ms/);
  t.match(thrown(() => healthcheck({ shell: 'x' }, { timeout: '-5s' })), /timeout|less than 1ms/);
  t.not(thrown(() => healthcheck({ shell: 'x' }, { interval: 'soon' })), NOTHING);
  t.not(thrown(() => healthcheck({ shell: 'x' }, { retries: '-1' })), NOTHING, 'negative retries');
  // Docker: --retries is strconv.ParseInt(value, 10, 32): no hex, exponent, fraction or overflow.
  for (const bad of ['0x10', '1e2', '3.0', '2147483648', ' 3']) {
    t.not(thrown(() => healthcheck({ shell: 'x' }, { retries: bad })), NOTHING, `--retries=${bad} is refused`);
  }
  // Docker: an empty duration is unset (parseOptInterval returns 0 for "").
  t.equal(thrown(() => t.equal(healthcheck({ shell: 'x' }, { interval: '' }).Interval ?? 0, 0)), NOTHING, '--interval= is the default');
});

t.test('checkStopSignal: moby/sys/signal ParseSignal on Linux', async (t) => {
  const good = [
    'SIGTERM', 'TERM', 'sigkill', 'Kill', 'SIGQUIT', 'SIGUSR1', 'USR2', 'SIGIOT', 'SIGPOLL', 'SIGPWR', 'SIGSTKFLT', 'WINCH', '9', '15', '64',
    'SIGRTMIN+3', 'RTMIN+15', 'RTMAX-2', 'SIGRTMAX-14',
    // Docker: plain RTMIN/RTMAX and CLD are in the map; any non-zero number is taken (Atoi).
    'SIGRTMIN', 'RTMAX', 'SIGCLD', '100',
  ];
  for (const s of good) t.equal(thrown(() => t.equal(checkStopSignal(s), s)), NOTHING, `${s} is accepted`);
  const bad = [
    'SIGFOO', '0', 'SIG', '', 'KILL9', 'SIG KILL', '9.0',
    // Docker: the map has RTMIN+1..+15 and RTMAX-14..-1 only.
    'SIGRTMIN+16', 'RTMIN-1', 'RTMAX+1',
  ];
  for (const s of bad) t.match(thrown(() => checkStopSignal(s)), /invalid signal/, `${JSON.stringify(s)} is refused`);
});

t.test('parseChmod: octal permission bits (dockerfile2llb/convert_copy.go)', async (t) => {
  const cases: Array<[string, number]> = [
    ['755', 0o755],
    ['0755', 0o755],
    ['644', 0o644],
    ['4755', 0o4755],
    ['7777', 0o7777],
    // Docker: strconv.ParseUint(chmod, 8, 32), at most 07777: any number of octal digits.
    ['07777', 0o7777],
    ['00644', 0o644],
    ['7', 0o7],
    ['0', 0],
  ];
  for (const [text, mode] of cases) t.equal(thrown(() => t.equal(parseChmod(text), mode, text)), NOTHING, `${text} parses`);
  for (const bad of ['8', '0o755', '10000', '75a', '0x1ed', '99']) t.not(thrown(() => parseChmod(bad)), NOTHING, `${JSON.stringify(bad)} is refused`);
});

t.test('globRegExp: Go filepath.Match over a whole path', async (t) => {
  const cases: Array<[string, string, boolean]> = [
    ['*.go', 'main.go', true],
    ['*.go', 'cmd/main.go', false],
    ['cmd/*.go', 'cmd/main.go', true],
    ['a/*', 'a/b/c', false],
    ['a/*/c', 'a/b/c', true],
    ['*', '.hidden', true],
    ['a*', 'a', true],
    ['a*b', 'a/b', false],
    ['a?c', 'abc', true],
    ['a?c', 'a/c', false],
    ['a?c', 'ac', false],
    ['[abc]x', 'bx', true],
    ['[a-c]x', 'dx', false],
    ['[^a-c]x', 'dx', true],
    ['[^a-c]x', 'ax', false],
    ['a\\*b', 'a*b', true],
    ['a\\*b', 'axb', false],
    ['a\\?', 'a?', true],
    ['*.GO', 'main.go', false],
    ['a/**/b', 'a/x/b', true],
    ['a/**/b', 'a/x/y/b', false],
    ['file.txt', 'filextxt', false],
    ['a+b(c)', 'a+b(c)', true],
    // Docker/Go: only ^ negates a class; `!` is an ordinary member.
    ['[!a]x', 'bx', false],
    ['[!a]x', '!x', true],
    // Go: \ escapes inside a class too.
    ['[\\]]', ']', true],
  ];
  for (const [pattern, path, want] of cases) t.equal(globRegExp(pattern).test(path), want, `${pattern} ~ ${path}`);
});
