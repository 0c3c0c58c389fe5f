// gRPC service definitions from a descriptor compiled at build time (proto/build-descriptor.js),
// with protobufjs's light build (no .proto parser) for the message codecs. This replaces
// @grpc/proto-loader at run time: it makes the same serializers and deserializers, but skips the
// parse and the reflection descriptors (DescriptorProto objects for every type) that nothing
// here uses and that cost most of a CLI call's start-up.

import type * as grpc from '@grpc/grpc-js';
import * as protobuf from 'protobufjs/light';

/** One RPC as @grpc/proto-loader describes it to grpc-js. */
export interface MethodDescriptor {
  name: string;
  /** `/package.Service/Method` */
  path: string;
  /** Fully qualified message names, without the leading dot. */
  requestType: string;
  responseType: string;
  requestStream: boolean;
  responseStream: boolean;
  /** The camelCase alias grpc-js adds to clients (`list` beside `List`). */
  originalName: string;
}

export interface ApiDescriptor {
  /**
   * protobufjs's JSON form of the parsed files (`Root#toJSON()`). Not typed as its INamespace:
   * those typings are stricter than what toJSON emits (a required `comment`, no map fields).
   */
  messages: object;
  /** Fully qualified service name → its methods. */
  services: Record<string, MethodDescriptor[]>;
}

/** How messages turn into objects; the options @grpc/proto-loader takes for the same. */
export type ConversionOptions = protobuf.IConversionOptions;

/**
 * A grpc-js package definition holding the services of `descriptor` (and no message types),
 * for `grpc.loadPackageDefinition`.
 */
export function packageDefinition(
  descriptor: ApiDescriptor,
  options: ConversionOptions,
): Record<string, grpc.ServiceDefinition> {
  const root = protobuf.Root.fromJSON(descriptor.messages as protobuf.INamespace);
  const definition: Record<string, grpc.ServiceDefinition> = {};
  for (const [service, methods] of Object.entries(descriptor.services)) {
    const def: Record<string, grpc.MethodDefinition<object, object>> = {};
    for (const m of methods) {
      const request = root.lookupType(m.requestType);
      const response = root.lookupType(m.responseType);
      def[m.name] = {
        path: m.path,
        requestStream: m.requestStream,
        responseStream: m.responseStream,
        requestSerialize: serializer(request),
        requestDeserialize: deserializer(request, options),
        responseSerialize: serializer(response),
        responseDeserialize: deserializer(response, options),
        originalName: m.originalName,
      };
    }
    definition[service] = def;
  }
  return definition;
}

// As @grpc/proto-loader's createSerializer and createDeserializer.
function serializer(type: protobuf.Type): (value: object) => Buffer {
  return (value) => {
    if (Array.isArray(value)) {
      throw new Error(`Failed to serialize message: expected object with ${type.name} structure, got array instead`);
    }
    return type.encode(type.fromObject(value)).finish() as Buffer;
  };
}

function deserializer(type: protobuf.Type, options: ConversionOptions): (bytes: Buffer) => object {
  return (bytes) => type.toObject(type.decode(bytes), options);
}
