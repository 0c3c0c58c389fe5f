// The methods of the agent API and of the controller's Cluster service for the CLI's client
// (cli/grpc/grpc-lite.ts): paths and streaming shapes from the build-time descriptors, codecs from
// cli/grpc/wire-codec.ts rather than protobufjs.

import type { ApiDescriptor } from '../../proto/descriptor';
import { descriptor as agentDescriptor } from '../../proto/gen/agent-descriptor';
import { descriptor as clusterDescriptor } from '../../proto/gen/cluster-descriptor';
import { messageCodecs } from './wire-codec';

export interface LiteMethod {
  path: string;
  requestStream: boolean;
  responseStream: boolean;
  requestSerialize: (value: object) => Buffer;
  responseDeserialize: (bytes: Buffer) => object;
}

/** Fully qualified service name → method name → its LiteMethod. */
export type LiteDefinition = Record<string, Record<string, LiteMethod>>;

let agentMethods: LiteDefinition | undefined;
let clusterMethods: LiteDefinition | undefined;

/** The agent's services (Images, Containers). */
export function liteDefinition(): LiteDefinition {
  agentMethods ??= buildMethods(agentDescriptor, Object.keys(agentDescriptor.services), 'agent');
  return agentMethods;
}

/**
 * The controller's Cluster service only: the Node service is for agents (which use grpc-js), and
 * its messages carry uint64/uint32 fields that wire-codec does not speak.
 */
export function clusterLiteDefinition(): LiteDefinition {
  clusterMethods ??= buildMethods(clusterDescriptor, ['berth.cluster.v1.Cluster'], 'cluster');
  return clusterMethods;
}

function buildMethods(descriptor: ApiDescriptor, services: string[], what: string): LiteDefinition {
  const roots = services.flatMap((s) => (descriptor.services[s] ?? []).flatMap((m) => [m.requestType, m.responseType]));
  const codecs = messageCodecs(reachableMessages(descriptor.messages as TypeJson, roots));
  const codec = (name: string) => {
    const c = codecs.get(name);
    if (!c) throw new Error(`${what} descriptor: no message ${name}`);
    return c;
  };
  const methods: LiteDefinition = {};
  for (const service of services) {
    const list = descriptor.services[service];
    if (!list) throw new Error(`${what} descriptor: no service ${service}`);
    methods[service] = Object.fromEntries(list.map((m) => {
      const request = codec(m.requestType);
      const response = codec(m.responseType);
      return [m.name, {
        path: m.path,
        requestStream: m.requestStream,
        responseStream: m.responseStream,
        requestSerialize: (value: object) => request.encode(value as Record<string, unknown>),
        responseDeserialize: (bytes: Buffer) => response.decode(bytes),
      }];
    }));
  }
  return methods;
}

interface TypeJson {
  fields?: Record<string, { type: string }>;
  nested?: Record<string, TypeJson>;
  [other: string]: unknown;
}

/**
 * The descriptor's message tree cut down to the messages reachable from `roots` (fully
 * qualified names), so that codecs are made only for what the chosen services carry.
 */
export function reachableMessages(messages: TypeJson, roots: string[]): TypeJson {
  const all = new Map<string, TypeJson>();
  const walk = (ns: TypeJson, prefix: string) => {
    for (const [name, t] of Object.entries(ns.nested ?? {})) {
      const full = prefix ? `${prefix}.${name}` : name;
      if (t.fields) all.set(full, t);
      walk(t, full);
    }
  };
  walk(messages, '');
  // Resolved as wire-codec resolves them: a dotted name is absolute, a bare one is in the package.
  const resolve = (from: string, type: string) => {
    if (type.includes('.')) return type.replace(/^\./, '');
    const pkg = from.slice(0, from.lastIndexOf('.'));
    return all.has(`${pkg}.${type}`) ? `${pkg}.${type}` : type;
  };
  const keep = new Set<string>();
  const pending = [...roots];
  while (pending.length > 0) {
    const name = pending.pop()!;
    if (keep.has(name) || !all.has(name)) continue;
    keep.add(name);
    for (const f of Object.values(all.get(name)!.fields ?? {})) pending.push(resolve(name, f.type));
  }
  const prune = (ns: TypeJson, prefix: string): TypeJson | undefined => {
    const nested: Record<string, TypeJson> = {};
    for (const [name, t] of Object.entries(ns.nested ?? {})) {
      const full = prefix ? `${prefix}.${name}` : name;
      const inner = prune(t, full);
      if (t.fields && keep.has(full)) nested[name] = { ...t, ...(inner ? { nested: inner.nested } : { nested: undefined }) };
      else if (inner) nested[name] = { nested: inner.nested };
    }
    return Object.keys(nested).length > 0 ? { nested } : undefined;
  };
  return prune(messages, '') ?? {};
}
