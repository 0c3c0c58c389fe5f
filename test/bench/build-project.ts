// The project the build suite builds, the same for every builder: a context of N files (N - 2
// C-like sources in directories of 100, the Dockerfile, a test script) and a 3-stage Dockerfile on a
// busybox base -
//   compile  COPY the sources, then with busybox tools list them, concatenate them into a gzip
//            artifact and record each file's sha256;
//   test     COPY the test script and run it: every source is listed, every checksum holds, the
//            artifact holds exactly the sources; it writes a one-line report;
//   runtime  the base plus the artifact and the report (COPY --from both stages, so every builder
//            builds all three: BuildKit and buildah skip stages the target does not need).
// The report ("files N bytes B content SHA256") is what the image is checked by: every builder
// must give the same one for the same context, and a rebuild after changing one file another one.
// Sources are generated from a fixed seed: the same bytes every run.

import * as fs from 'node:fs';
import * as path from 'node:path';

export interface BuildProject {
  /** The context directory (a template: each run builds a copy). */
  dir: string;
  /** Regular files in the context. */
  files: number;
  sources: number;
  /** Bytes of all sources. */
  sourceBytes: number;
  /** The source the one-file rebuild changes (relative to the context). */
  changed: string;
}

const PER_DIR = 100;
/** Appended to one source for the one-file rebuild. */
const CHANGE = '/* changed for the rebuild */\nint bench_changed = 1;\n';
const WORDS = ['int', 'return', 'static', 'void', 'struct', 'if', 'else', 'for', 'while', 'const', 'char', 'size_t', 'buffer', 'count', 'value', 'node', 'next', 'alloc', 'free', 'error'];

const pad = (n: number) => String(n).padStart(3, '0');

export function dockerfile(base: string): string {
  return [
    `FROM ${base} AS compile`,
    'WORKDIR /build',
    'COPY src/ src/',
    // Directory by directory (the shell sorts each glob): one argument list of every file would
    // outgrow ARG_MAX for large contexts, and busybox xargs as a shell applet garbles its input.
    'RUN mkdir -p /out \\',
    " && find src -type f -name '*.c' | sort > /out/files.txt \\",
    ' && for d in $(ls src); do cat src/$d/*.c; done | gzip -6 > /out/app.gz \\',
    ' && for d in $(ls src); do sha256sum src/$d/*.c; done > /out/sums.txt',
    '',
    'FROM compile AS test',
    'COPY test/ test/',
    'RUN sh test/check.sh',
    '',
    `FROM ${base}`,
    'COPY --from=compile /out/app.gz /app/app.gz',
    'COPY --from=test /out/report /app/report',
    'CMD ["cat", "/app/report"]',
    '',
  ].join('\n');
}

const CHECK = [
  '#!/bin/sh',
  '# The test stage: every source listed and unchanged since compile, the artifact exactly their concatenation.',
  'set -eu',
  'cd /build',
  'n=$(wc -l < /out/files.txt)',
  "test \"$n\" -eq \"$(find src -type f -name '*.c' | wc -l)\"",
  'sha256sum -c -s /out/sums.txt',
  'bytes=$(gunzip -c /out/app.gz | wc -c)',
  'test "$bytes" -eq "$(for d in $(ls src); do cat src/$d/*.c; done | wc -c)"',
  'echo "files $n bytes $bytes content $(gunzip -c /out/app.gz | sha256sum | cut -d" " -f1)" > /out/report',
  '',
].join('\n');

/** Write the project into `dir` (which must not exist): `files` files in all, the Dockerfile FROM `base`. */
export function writeProject(dir: string, files: number, base: string): BuildProject {
  if (files < 3) throw new Error(`a build context needs at least 3 files (a source, the Dockerfile, the test), not ${files}`);
  const sources = files - 2;
  let seed = 1;
  const next = () => (seed = (Math.imul(seed, 1103515245) + 12345) & 0x7fffffff);
  let sourceBytes = 0;
  let changed = '';
  for (let i = 0; i < sources; i++) {
    const rel = `src/m${pad(Math.floor(i / PER_DIR))}/f${pad(i % PER_DIR)}.c`;
    if (i === Math.floor(sources / 2)) changed = rel;
    const lines = [`/* ${rel} */`];
    for (let l = 20 + (next() % 60); l > 0; l--) {
      const words = Array.from({ length: 3 + (next() % 8) }, () => WORDS[next() % WORDS.length]);
      lines.push(`${words.join(' ')} ${next() % 1000};`);
    }
    const text = `${lines.join('\n')}\n`;
    const file = path.join(dir, rel);
    if (i % PER_DIR === 0) fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.writeFileSync(file, text);
    sourceBytes += Buffer.byteLength(text);
  }
  fs.mkdirSync(path.join(dir, 'test'));
  fs.writeFileSync(path.join(dir, 'test', 'check.sh'), CHECK, { mode: 0o755 });
  fs.writeFileSync(path.join(dir, 'Dockerfile'), dockerfile(base));
  return { dir, files, sources, sourceBytes, changed };
}

/** The one-file change of the rebuild, in a copy of the project at `context`. */
export function changeOneFile(project: BuildProject, context: string): void {
  fs.appendFileSync(path.join(context, project.changed), CHANGE);
}

/** The report's file and byte counts an image of the project must show (the content hash is compared between builders). */
export function expectedCounts(project: BuildProject, changed: boolean): string {
  return `files ${project.sources} bytes ${project.sourceBytes + (changed ? Buffer.byteLength(CHANGE) : 0)} `;
}
