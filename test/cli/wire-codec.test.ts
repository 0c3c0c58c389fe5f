// The CLI's protobuf codec (cli/grpc/wire-codec.ts) against protobufjs, which the agent uses: the
// same bytes decode to the same objects both ways, for every message of agent.proto.

import t from 'tap';
import { agentDefinition } from '../../proto/definition';
import { descriptor } from '../../proto/gen/agent-descriptor';
import { messageCodecs } from '../../cli/grpc/wire-codec';

const codecs = messageCodecs(descriptor.messages);
const v1 = agentDefinition()['berth.agent.v1.Containers']!;
const images = agentDefinition()['berth.agent.v1.Images']!;

/** protobufjs's codecs for a message, found through a method that carries it. */
function reference(name: string): { encode: (v: object) => Buffer; decode: (b: Buffer) => object } | undefined {
  for (const def of [v1, images]) {
    for (const m of Object.values(def)) {
      const d = m as unknown as { path: string; requestSerialize: (v: object) => Buffer; requestDeserialize: (b: Buffer) => object; responseSerialize: (v: object) => Buffer; responseDeserialize: (b: Buffer) => object };
      const method = descriptor.services[Object.keys(descriptor.services).find((s) => d.path.startsWith(`/${s}/`))!]!.find((x) => x.path === d.path)!;
      if (method.requestType === name) return { encode: d.requestSerialize, decode: d.requestDeserialize };
      if (method.responseType === name) return { encode: d.responseSerialize, decode: d.responseDeserialize };
    }
  }
  return undefined;
}

const samples: Record<string, object[]> = {
  'berth.agent.v1.CreateContainerRequest': [
    {},
    { image: 'hello', cmd: ['sh', '-c', 'echo ü'], env: ['A=1'], hasEntrypoint: true, entrypoint: '', labels: { a: 'b', c: '' }, autoRemove: true },
  ],
  'berth.agent.v1.RunRequest': [{ create: { image: 'x', cmd: ['true'] }, detach: true }, {}],
  'berth.agent.v1.RunEvent': [{ id: 'abc' }, { id: '' }, { log: { time: 't', stream: 'stderr', text: 'x' } }, { exit: { code: 127, error: 'no' } }, { exit: { code: 0, error: '' } }],
  'berth.agent.v1.LogsRequest': [{ id: 'a', follow: true, tail: -1 }, { tail: 5 }],
  'berth.agent.v1.StopContainerRequest': [{ id: 'a', timeout: -1 }],
  'berth.agent.v1.ListContainersResponse': [{ containers: [{ id: 'a', command: ['x', 'y'], exitCode: -2, sizeRw: '12345678901234', sizeRootFs: '-5' }, {}] }],
  'berth.agent.v1.Progress': [{ kind: 'layer', current: '9007199254740993', total: '0' }],
  'berth.agent.v1.Chunk': [{ data: Buffer.from([0, 1, 2, 255]) }, {}],
  'berth.agent.v1.ExecInput': [{ id: 'c', args: ['ls'], interactive: true }, { stdin: Buffer.from('hi'), closeStdin: true }],
  'berth.agent.v1.ExecOutput': [{ stdout: Buffer.from('o'), exited: true, exitCode: 3 }],
};

t.test('round trips agree with protobufjs', async (t) => {
  for (const [name, values] of Object.entries(samples)) {
    const ref = reference(name);
    const codec = codecs.get(name);
    t.ok(ref && codec, `${name} exists on both sides`);
    if (!ref || !codec) continue;
    for (const value of values) {
      t.same(codec.decode(ref.encode(value)), ref.decode(ref.encode(value)), `${name} ${JSON.stringify(value)}: protobufjs bytes`);
      t.same(ref.decode(codec.encode(value as Record<string, unknown>)), ref.decode(ref.encode(value)), `${name} ${JSON.stringify(value)}: our bytes`);
    }
  }
});

t.test('every message has a codec', async (t) => {
  for (const methods of Object.values(descriptor.services)) {
    for (const m of methods) {
      t.ok(codecs.get(m.requestType), m.requestType);
      t.ok(codecs.get(m.responseType), m.responseType);
    }
  }
});
