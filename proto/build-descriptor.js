#!/usr/bin/env node
// Compiles proto/<name>.proto into proto/gen/<name>-descriptor.ts at build time (npm run gen), so
// that a process talking to the agent loads a ready descriptor instead of parsing .proto text
// with the full protobufjs and @grpc/proto-loader on every start (most of the CLI's start-up).
//
// Messages are kept in protobufjs's JSON form; each method's gRPC shape (path, streaming, the
// camelCase alias grpc-js adds to clients) is copied from what @grpc/proto-loader makes of the
// same file with the options proto/index.ts documents, so the run-time loader matches it.

'use strict';
const fs = require('node:fs');
const path = require('node:path');
const protobuf = require('protobufjs');
const protoLoader = require('@grpc/proto-loader');

// Must agree with LOADER_OPTIONS in proto/index.ts and with `npm run gen` (field names become
// camelCase as protobufjs's parser makes them by default; keepCase stays off).
const LOADER_OPTIONS = { longs: String, enums: String, defaults: true, oneofs: true };

function compile(protoFile, outFile) {
  const root = new protobuf.Root();
  root.loadSync(protoFile, { keepCase: false });
  root.resolveAll();

  const reference = protoLoader.loadSync(protoFile, LOADER_OPTIONS);
  const services = {};
  for (const [name, def] of Object.entries(reference)) {
    if (!isServiceDefinition(def)) continue;
    services[name] = Object.entries(def).map(([method, m]) => ({
      name: method,
      path: m.path,
      requestType: root.lookupService(name).methods[method].resolvedRequestType.fullName.slice(1),
      responseType: root.lookupService(name).methods[method].resolvedResponseType.fullName.slice(1),
      requestStream: m.requestStream,
      responseStream: m.responseStream,
      originalName: m.originalName,
    }));
  }
  if (Object.keys(services).length === 0) throw new Error(`${protoFile}: no services`);

  const base = path.basename(protoFile);
  const text = `// Generated from ${base} by proto/build-descriptor.js (npm run gen). Do not edit.

import type { ApiDescriptor } from '../descriptor';

export const descriptor: ApiDescriptor = ${JSON.stringify({ messages: root.toJSON(), services }, null, 2)};
`;
  fs.mkdirSync(path.dirname(outFile), { recursive: true });
  fs.writeFileSync(outFile, text);
}

/** A proto-loader service definition: every member is a method with a path. */
function isServiceDefinition(def) {
  const members = Object.values(def);
  return members.length > 0 && members.every((m) => m && typeof m === 'object' && typeof m.path === 'string');
}

const dir = __dirname;
for (const name of ['agent', 'cluster']) {
  compile(path.join(dir, `${name}.proto`), path.join(dir, 'gen', `${name}-descriptor.ts`));
}
