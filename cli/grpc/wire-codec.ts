// Protobuf encoding for the CLI without protobufjs (whose loading cost a CLI call more than the
// call): a small codec driven by the descriptor's message JSON (proto/gen/agent-descriptor.ts).
// It covers what agent.proto uses (string, bool, int32, int64, bytes, messages, repeated fields,
// map<string, string>, oneofs) and decodes to what protobufjs's toObject makes with
// proto/definition.ts's LOADER_OPTIONS: int64 as decimal strings, every field present with its
// default (messages null, oneof members absent), the oneof's name set to its present member.

interface FieldJson {
  type: string;
  id: number;
  rule?: 'repeated';
  keyType?: string;
}

interface TypeJson {
  fields?: Record<string, FieldJson>;
  oneofs?: Record<string, { oneof: string[] }>;
  nested?: Record<string, TypeJson>;
}

interface Field {
  name: string;
  id: number;
  type: string;
  repeated: boolean;
  map: boolean;
  /** The message type, for message fields (map values are strings in agent.proto). */
  message?: MessageCodec;
  /** The oneof this field belongs to. */
  oneof?: string;
}

const SCALARS = new Set(['string', 'bool', 'int32', 'int64', 'bytes']);
const LENGTH_DELIMITED = 2;
const VARINT = 0;

export class MessageCodec {
  fields: Field[] = [];
  private byId = new Map<number, Field>();

  constructor(readonly name: string) {}

  /** Resolved after all types exist: fields can refer to any message. */
  link(json: TypeJson, lookup: (type: string) => MessageCodec): void {
    const oneofOf = new Map<string, string>();
    for (const [oneof, { oneof: members }] of Object.entries(json.oneofs ?? {})) for (const m of members) oneofOf.set(m, oneof);
    for (const [name, f] of Object.entries(json.fields ?? {})) {
      const map = f.keyType !== undefined;
      if (map && (f.keyType !== 'string' || f.type !== 'string')) throw new Error(`${this.name}.${name}: only map<string, string> is supported`);
      if (!SCALARS.has(f.type) && !map) {
        this.fields.push({ name, id: f.id, type: 'message', repeated: f.rule === 'repeated', map, message: lookup(f.type), ...(oneofOf.has(name) ? { oneof: oneofOf.get(name)! } : {}) });
      } else {
        this.fields.push({ name, id: f.id, type: f.type, repeated: f.rule === 'repeated', map, ...(oneofOf.has(name) ? { oneof: oneofOf.get(name)! } : {}) });
      }
    }
    for (const f of this.fields) this.byId.set(f.id, f);
  }

  encode(value: Record<string, unknown>): Buffer {
    const w = new Writer();
    this.write(w, value);
    return w.finish();
  }

  /** Append this message's fields (not length-prefixed) to `w`. */
  write(w: Writer, value: Record<string, unknown>): void {
    for (const f of this.fields) {
      const v = value[f.name];
      if (v === undefined || v === null) continue;
      if (f.map) {
        for (const [k, mv] of Object.entries(v as Record<string, string>)) {
          const entry = new Writer();
          entry.tag(1, LENGTH_DELIMITED).string(k);
          entry.tag(2, LENGTH_DELIMITED).string(String(mv));
          w.tag(f.id, LENGTH_DELIMITED).bytes(entry.finish());
        }
      } else if (f.repeated) {
        for (const item of v as unknown[]) writeValue(w, f, item, true);
      } else {
        writeValue(w, f, v, f.oneof !== undefined);
      }
    }
  }

  decode(bytes: Uint8Array): Record<string, unknown> {
    const out: Record<string, unknown> = {};
    for (const f of this.fields) {
      if (f.oneof) continue;
      out[f.name] = f.map ? {} : f.repeated ? [] : defaultOf(f);
    }
    const r = new Reader(bytes);
    while (r.pos < r.end) {
      const key = r.uint32();
      const id = key >>> 3;
      const wire = key & 7;
      const f = this.byId.get(id);
      if (!f) {
        r.skip(wire);
        continue;
      }
      if (f.map) {
        const sub = new Reader(r.bytes());
        let k = '';
        let v = '';
        while (sub.pos < sub.end) {
          const t = sub.uint32();
          if (t >>> 3 === 1) k = sub.string();
          else if (t >>> 3 === 2) v = sub.string();
          else sub.skip(t & 7);
        }
        (out[f.name] as Record<string, string>)[k] = v;
      } else if (f.repeated && wire === LENGTH_DELIMITED && (f.type === 'int32' || f.type === 'int64' || f.type === 'bool')) {
        const sub = new Reader(r.bytes());
        while (sub.pos < sub.end) (out[f.name] as unknown[]).push(readValue(sub, f));
      } else if (f.repeated) {
        (out[f.name] as unknown[]).push(readValue(r, f));
      } else {
        out[f.name] = readValue(r, f);
        if (f.oneof) out[f.oneof] = f.name;
      }
    }
    return out;
  }
}

function defaultOf(f: Field): unknown {
  switch (f.type) {
    case 'string': return '';
    case 'bool': return false;
    case 'int32': return 0;
    case 'int64': return '0';
    case 'bytes': return Buffer.alloc(0);
    default: return null;
  }
}

function writeValue(w: Writer, f: Field, v: unknown, always: boolean): void {
  switch (f.type) {
    case 'string':
      if (always || v !== '') w.tag(f.id, LENGTH_DELIMITED).string(String(v));
      return;
    case 'bool':
      if (always || v) w.tag(f.id, VARINT).varint(v ? 1n : 0n);
      return;
    case 'int32':
    case 'int64': {
      const n = BigInt(v as string | number);
      if (always || n !== 0n) w.tag(f.id, VARINT).varint(BigInt.asUintN(64, n));
      return;
    }
    case 'bytes': {
      const b = typeof v === 'string' ? Buffer.from(v, 'base64') : (v as Uint8Array);
      if (always || b.length) w.tag(f.id, LENGTH_DELIMITED).bytes(b);
      return;
    }
    default: {
      const sub = new Writer();
      f.message!.write(sub, v as Record<string, unknown>);
      w.tag(f.id, LENGTH_DELIMITED).bytes(sub.finish());
    }
  }
}

function readValue(r: Reader, f: Field): unknown {
  switch (f.type) {
    case 'string': return r.string();
    case 'bool': return r.varint() !== 0n;
    case 'int32': return Number(BigInt.asIntN(32, r.varint()));
    case 'int64': return BigInt.asIntN(64, r.varint()).toString();
    case 'bytes': return Buffer.from(r.bytes());
    default: return f.message!.decode(r.bytes());
  }
}

export class Writer {
  private chunks: Uint8Array[] = [];
  private small: number[] = [];

  private flush(): void {
    if (this.small.length) {
      this.chunks.push(Uint8Array.from(this.small));
      this.small = [];
    }
  }

  tag(id: number, wire: number): this {
    return this.varint(BigInt((id << 3) | wire));
  }

  varint(n: bigint): this {
    let v = n;
    while (v > 0x7fn) {
      this.small.push(Number(v & 0x7fn) | 0x80);
      v >>= 7n;
    }
    this.small.push(Number(v));
    return this;
  }

  bytes(b: Uint8Array): this {
    this.varint(BigInt(b.length));
    this.flush();
    this.chunks.push(b);
    return this;
  }

  string(s: string): this {
    return this.bytes(Buffer.from(s, 'utf8'));
  }

  finish(): Buffer {
    this.flush();
    return Buffer.concat(this.chunks);
  }
}

class Reader {
  pos = 0;
  readonly end: number;

  constructor(private readonly buf: Uint8Array) {
    this.end = buf.length;
  }

  varint(): bigint {
    let result = 0n;
    let shift = 0n;
    for (;;) {
      if (this.pos >= this.end) throw new Error('truncated varint');
      const b = this.buf[this.pos++]!;
      result |= BigInt(b & 0x7f) << shift;
      if (b < 0x80) return result;
      shift += 7n;
      if (shift > 63n) throw new Error('varint too long');
    }
  }

  uint32(): number {
    return Number(BigInt.asUintN(32, this.varint()));
  }

  bytes(): Uint8Array {
    const n = Number(this.varint());
    if (this.pos + n > this.end) throw new Error('truncated message');
    const b = this.buf.subarray(this.pos, this.pos + n);
    this.pos += n;
    return b;
  }

  string(): string {
    return Buffer.from(this.bytes()).toString('utf8');
  }

  skip(wire: number): void {
    switch (wire) {
      case 0: this.varint(); return;
      case 1: this.pos += 8; return;
      case 2: this.bytes(); return;
      case 5: this.pos += 4; return;
      default: throw new Error(`unsupported wire type ${wire}`);
    }
  }
}

/** Codecs for every message under `messages` (protobufjs JSON), by fully qualified name. */
export function messageCodecs(messages: object): Map<string, MessageCodec> {
  const codecs = new Map<string, MessageCodec>();
  const jsonOf = new Map<string, TypeJson>();
  const walk = (ns: TypeJson, prefix: string) => {
    for (const [name, t] of Object.entries(ns.nested ?? {})) {
      const full = prefix ? `${prefix}.${name}` : name;
      if (t.fields) {
        codecs.set(full, new MessageCodec(full));
        jsonOf.set(full, t);
      }
      walk(t, full);
    }
  };
  walk(messages as TypeJson, '');
  for (const [full, codec] of codecs) {
    const pkg = full.slice(0, full.lastIndexOf('.'));
    codec.link(jsonOf.get(full)!, (type) => {
      const found = codecs.get(type.includes('.') ? type.replace(/^\./, '') : `${pkg}.${type}`) ?? codecs.get(type);
      if (!found) throw new Error(`${full}: unknown type ${type}`);
      return found;
    });
  }
  return codecs;
}
