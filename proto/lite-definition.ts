// The agent API's methods for the CLI's client (cli/grpc-lite.ts): paths and streaming shapes
// from the build-time descriptor, codecs from proto/wire-codec.ts rather than protobufjs.

import { descriptor } from './gen/agent-descriptor';
import { messageCodecs } from './wire-codec';

export interface LiteMethod {
  path: string;
  requestStream: boolean;
  responseStream: boolean;
  requestSerialize: (value: object) => Buffer;
  responseDeserialize: (bytes: Buffer) => object;
}

let methods: Record<string, Record<string, LiteMethod>> | undefined;

/** Fully qualified service name → method name → its LiteMethod. */
export function liteDefinition(): Record<string, Record<string, LiteMethod>> {
  if (methods) return methods;
  const codecs = messageCodecs(descriptor.messages);
  const codec = (name: string) => {
    const c = codecs.get(name);
    if (!c) throw new Error(`agent descriptor: no message ${name}`);
    return c;
  };
  methods = {};
  for (const [service, list] of Object.entries(descriptor.services)) {
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
