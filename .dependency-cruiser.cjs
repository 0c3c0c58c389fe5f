// The direction of berth's imports, checked in CI (`npm run depcheck`).
//
// Between processes: proto/ (the shared contract) imports none of the others; the agent and the
// controller import proto/ and never each other or the CLI; the CLI imports proto/ and starts the
// agent and the controller through their entry points (agent/index.ts, controller/index.ts) only.
//
// Inside each process the folders are layered, bottom to top, and the order is written once, in
// the `Layers:` line of that process's entry file; this config reads it from there, so the
// documented order and the checked one cannot drift apart. A folder imports only folders below
// it (never a sibling on its own step, never one above); the files at the process's top level
// (its composition root and entry) sit above every folder. A folder missing from the line is an
// error too: a new room must be given its place.
//
// No file may import itself back through any path (no cycles), type-only imports included.

const fs = require('node:fs');
const path = require('node:path');

const PROCESSES = [
  { root: 'agent', entry: 'agent/index.ts' },
  { root: 'controller', entry: 'controller/index.ts' },
  { root: 'cli', entry: 'cli/main.ts' },
];

/** "a → b | c → d" from the entry's `Layers:` comment, as steps of sibling folders. */
function layersOf(entry) {
  const text = fs.readFileSync(path.join(__dirname, entry), 'utf8');
  const line = /^\/\/ Layers(?: [^:]*)?: (.+)$/m.exec(text);
  if (!line) throw new Error(`${entry}: no "// Layers: a → b → c" line to check the imports against`);
  return line[1].split('→').map((step) => step.split('|').map((f) => f.trim()).filter(Boolean));
}

const escape = (s) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

function layerRules({ root, entry }) {
  const steps = layersOf(entry);
  const all = steps.flat();
  const unplaced = `^${root}/(?!(${all.map(escape).join('|')})/)[^/]+/`;
  const comment = `every folder of ${root}/ has its place in the Layers line of ${entry}`;
  const rules = [
    { name: `${root}-folder-without-layer`, comment, severity: 'error', from: { path: unplaced }, to: {} },
    { name: `${root}-folder-without-layer-imported`, comment, severity: 'error', from: {}, to: { path: unplaced } },
  ];
  steps.forEach((step, i) => {
    const above = steps.slice(i + 1).flat();
    for (const folder of step) {
      const forbidden = [...above, ...step.filter((f) => f !== folder)];
      rules.push({
        name: `${root}-${folder}-imports-down`,
        comment: `${root}/${folder}/ may import only the layers below it (${entry})`,
        severity: 'error',
        from: { path: `^${root}/${escape(folder)}/` },
        to: { path: `^${root}/(${[...forbidden.map((f) => `${escape(f)}/`), '[^/]+$'].join('|')})` },
      });
    }
  });
  return rules;
}

/** [name, why, from, forbidden to]: what each top-level folder may not import. */
const BETWEEN_PROCESSES = [
  ['no-circular', 'a file never reaches itself through its imports', '', { circular: true }],
  ['proto-is-the-bottom', 'proto/ is the shared contract: it imports no process', '^proto/', { path: '^(agent|controller|cli)/' }],
  ['agent-alone', 'the agent imports proto/ only, never the controller or the CLI', '^agent/', { path: '^(controller|cli)/' }],
  ['controller-alone', 'the controller imports proto/ only, never the agent or the CLI', '^controller/', { path: '^(agent|cli)/' }],
  ['cli-through-entry-points', 'the CLI starts the agent and the controller through their entry points only', '^cli/',
    { path: '^(agent|controller)/(?!index\\.ts$)' }],
];

module.exports = {
  forbidden: [
    ...BETWEEN_PROCESSES.map(([name, comment, from, to]) => ({ name, comment, severity: 'error', from: from ? { path: from } : {}, to })),
    ...PROCESSES.flatMap(layerRules),
  ],
  options: {
    includeOnly: '^(agent|cli|controller|proto)/',
    exclude: { path: '^(dist|test|node_modules)/' },
    doNotFollow: { path: 'node_modules' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: { extensions: ['.ts', '.js', '.json'] },
  },
};
