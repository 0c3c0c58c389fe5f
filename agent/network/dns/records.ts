// The cluster's DNS records, as Kubernetes' DNS specification (kubernetes/dns, docs/specification.md)
// and CoreDNS's kubernetes plugin publish them, and the answer to one question from them. Pure: a
// function of (Services, EndpointSlices, options) and of the question; no clock, no I/O.

import { isIP, isIPv4 } from 'node:net';
import type { Answer, Question, SoaAnswer, SrvAnswer, StringAnswer } from 'dns-packet';
import { BerthError } from '../../../proto/errors';
import { SERVICE_NAME_LABEL, type Endpoint, type EndpointSlice, type Service } from '../../../proto/resources';
import {
  CLUSTER_TTL, DEFAULT_CLUSTER_DOMAIN, DNS_SCHEMA_VERSION,
  type ClusterAnswer, type ClusterRcode, type DnsIndex, type IndexOptions, type Resolution,
} from './types';

/** Kubernetes' pre-EndpointSlice spelling of publishNotReadyAddresses, still honoured by CoreDNS. */
const TOLERATE_UNREADY = 'service.alpha.kubernetes.io/tolerate-unready-endpoints';

/** ExternalName chains inside the domain are followed this far (a loop of aliases ends here). */
const MAX_CNAME_HOPS = 8;

const LABEL = /^[a-z0-9_]([-a-z0-9_]*[a-z0-9_])?$/;
const DASHED_IPV4 = /^\d{1,3}-\d{1,3}-\d{1,3}-\d{1,3}$/;

/** Lower case without the trailing dot: names compare case-insensitively (RFC 4343). */
export function normalizeName(name: string): string {
  return name.toLowerCase().replace(/\.+$/, '');
}

/** Whether `name` is a DNS name dns-packet can encode faithfully: labels of 1-63 bytes, 253 in all. */
export function isDnsName(name: string): boolean {
  return name.length > 0 && name.length <= 253 && name.split('.').every((l) => l.length > 0 && l.length <= 63 && LABEL.test(l));
}

/** The cluster domain as the index keeps it; invalid-argument when it is not a DNS name. */
export function normalizeDomain(domain: string): string {
  const d = normalizeName(domain);
  if (!isDnsName(d)) throw new BerthError('invalid-argument', `cluster DNS domain ${JSON.stringify(domain)} is not a DNS name (labels of letters, digits and '-', dot-separated)`);
  return d;
}

const isUnder = (name: string, domain: string) => name === domain || name.endsWith(`.${domain}`);

/** `d.c.b.a.in-addr.arpa` of an IPv4 address. */
export function reverseName(ipv4: string): string {
  return `${ipv4.split('.').reverse().join('.')}.in-addr.arpa`;
}

/** The name a pod's address has in DNS labels: dots (or colons) become dashes, as Kubernetes writes it. */
export const dashed = (ip: string) => ip.replace(/[.:]/g, '-');

/**
 * Kubernetes' discovery/v1: "a nil value [of ready] should be interpreted as true"; a terminating
 * endpoint is never ready, so without a word on ready, terminating says no.
 */
const isReady = (endpoint: Endpoint) => endpoint.conditions?.ready ?? endpoint.conditions?.terminating !== true;

/** Collects records per owner name, without duplicates (one pod in two slices while they are rebalanced). */
class IndexBuilder {
  readonly names = new Map<string, Answer[]>();
  readonly reverse = new Map<string, Answer[]>();
  /** Per owner, the records it has, by type and data. */
  private readonly seen = new Map<string, Set<string>>();

  constructor(private readonly ttl: number) {}

  add(owner: string, record: { type: 'A' | 'AAAA' | 'CNAME' | 'PTR'; data: string } | { type: 'SRV'; data: SrvAnswer['data'] } | { type: 'TXT'; data: string } | SoaAnswer, into = this.names): void {
    const key = typeof record.data === 'string' ? `${record.type} ${record.data}` : `${record.type} ${JSON.stringify(record.data)}`;
    let keys = this.seen.get(owner);
    if (!keys) this.seen.set(owner, (keys = new Set()));
    else if (keys.has(key)) return;
    keys.add(key);
    const list = into.get(owner);
    // Built field by field: object spread of records of varying shapes is V8's slow path, and
    // the index of a thousand Services is rebuilt on every watch event.
    const entry = { name: owner, type: record.type, ttl: this.ttl, class: 'IN', data: record.data } as Answer;
    if (list) list.push(entry);
    else into.set(owner, [entry]);
  }

  /** An A or AAAA record, by the address's family; false when it is not an IP address. */
  addAddress(owner: string, ip: string): boolean {
    const family = isIP(ip);
    if (family === 0) return false;
    this.add(owner, { type: family === 4 ? 'A' : 'AAAA', data: ip });
    return true;
  }
}

/**
 * The index of the cluster's names. Services without a name, addresses that are not IPs, hostnames
 * and external names that are not DNS names are left out (they would not encode, or would say
 * something else than their author meant); everything else of one Service never hides another's.
 */
export function buildIndex(services: readonly Service[], slices: readonly EndpointSlice[], options: IndexOptions = {}): DnsIndex {
  const domain = normalizeDomain(options.domain ?? DEFAULT_CLUSTER_DOMAIN);
  const ttl = options.ttl ?? CLUSTER_TTL;
  if (!Number.isInteger(ttl) || ttl < 0) throw new BerthError('invalid-argument', `cluster DNS TTL ${ttl} is not a whole number of seconds`);
  const b = new IndexBuilder(ttl);

  const soa: SoaAnswer = {
    name: domain, type: 'SOA', ttl, class: 'IN',
    // minimum is how long resolvers keep our NXDOMAINs (RFC 2308): as short as the records themselves.
    data: { mname: `ns.dns.${domain}`, rname: `hostmaster.${domain}`, serial: options.serial ?? 1, refresh: 7200, retry: 1800, expire: 86400, minimum: ttl },
  };
  b.add(domain, soa);
  b.add(`dns-version.${domain}`, { type: 'TXT', data: DNS_SCHEMA_VERSION });

  const slicesOf = new Map<string, EndpointSlice[]>();
  for (const slice of slices) {
    const service = slice.metadata.labels?.[SERVICE_NAME_LABEL];
    if (!service) continue;
    const key = `${slice.metadata.namespace ?? 'default'}/${service}`;
    slicesOf.set(key, [...(slicesOf.get(key) ?? []), slice]);
  }

  let count = 0;
  for (const service of services) {
    const name = service.metadata.name;
    const namespace = service.metadata.namespace ?? 'default';
    if (!name) continue;
    count++;
    const base = `${name}.${namespace}.svc.${domain}`.toLowerCase();
    const spec = service.spec ?? {};

    if (spec.type === 'ExternalName') {
      const target = normalizeName(spec.externalName ?? '');
      if (isDnsName(target)) b.add(base, { type: 'CNAME', data: target });
      continue;
    }

    if (spec.clusterIP !== 'None') {
      const ips = spec.clusterIPs?.length ? spec.clusterIPs : spec.clusterIP ? [spec.clusterIP] : [];
      for (const ip of ips) {
        if (b.addAddress(base, ip) && isIPv4(ip)) b.add(reverseName(ip), { type: 'PTR', data: base }, b.reverse);
      }
      for (const port of spec.ports ?? []) {
        // Unnamed ports have no SRV record (the specification, 2.3.2).
        if (!port.name) continue;
        b.add(`_${port.name}._${(port.protocol ?? 'TCP').toLowerCase()}.${base}`.toLowerCase(), { type: 'SRV', data: { priority: 0, weight: 100, port: port.port, target: base } });
      }
      continue;
    }

    // Headless: the Service's name is its endpoints' addresses, and each endpoint has a name below it.
    const publishAll = spec.publishNotReadyAddresses === true || service.metadata.annotations?.[TOLERATE_UNREADY] === 'true';
    const srvOwners = new Set<string>();
    for (const slice of slicesOf.get(`${namespace}/${name}`) ?? []) {
      if (slice.addressType === 'FQDN') continue;
      for (const endpoint of slice.endpoints ?? []) {
        if (!publishAll && !isReady(endpoint)) continue;
        const hostname = endpoint.hostname?.toLowerCase();
        const named = hostname !== undefined && !hostname.includes('.') && isDnsName(hostname);
        for (const ip of endpoint.addresses ?? []) {
          if (!b.addAddress(base, ip)) continue;
          // A pod with hostname + subdomain is published by its hostname (the specification's
          // _hostname_); every endpoint is also reachable by its dashed address, CoreDNS's
          // system-assigned identifier, which is what its SRV and PTR records name when it has no hostname.
          const host = `${named ? hostname : dashed(ip)}.${base}`;
          b.addAddress(host, ip);
          if (named) b.addAddress(`${dashed(ip)}.${base}`, ip);
          if (isIPv4(ip)) b.add(reverseName(ip), { type: 'PTR', data: host }, b.reverse);
          for (const port of slice.ports ?? []) {
            if (!port.name || port.port === undefined) continue;
            const owner = `_${port.name}._${(port.protocol ?? 'TCP').toLowerCase()}.${base}`.toLowerCase();
            b.add(owner, { type: 'SRV', data: { priority: 0, weight: 100, port: port.port, target: host } });
            srvOwners.add(owner);
          }
        }
      }
    }
    // Equal shares of the traffic, as CoreDNS gives them (RFC 2782 weights within one priority).
    for (const owner of srvOwners) {
      const records = b.names.get(owner)!;
      const weight = Math.max(1, Math.floor(100 / records.length));
      for (const r of records) (r as SrvAnswer).data = { ...(r as SrvAnswer).data, weight };
    }
  }

  // Every name between an owner and the domain exists too (empty non-terminals).
  const enclosers = new Set<string>();
  for (const owner of b.names.keys()) {
    for (let at = owner.indexOf('.'); at !== -1 && owner.length - at - 1 > domain.length; at = owner.indexOf('.', at + 1)) {
      const parent = owner.slice(at + 1);
      if (!b.names.has(parent)) enclosers.add(parent);
    }
  }
  // Pod names are made up on demand (podRecords), so their parent always exists.
  enclosers.add(`pod.${domain}`);

  return { domain, ttl, names: b.names, enclosers, reverse: b.reverse, soa, services: count };
}

/**
 * `<a-b-c-d>.<ns>.pod.<domain>` -> a.b.c.d, for any namespace and address (the specification's
 * 2.6, kept by CoreDNS as `pods insecure`): the address is in the name, nothing is looked up.
 * `<ns>.pod.<domain>` exists with no records. Undefined for any other name.
 */
function podRecords(index: DnsIndex, name: string): Answer[] | undefined {
  const labels = name.slice(0, -(index.domain.length + 1)).split('.');
  if (labels.length === 2 && labels[1] === 'pod') return [];
  if (labels.length !== 3 || labels[2] !== 'pod' || !DASHED_IPV4.test(labels[0]!)) return undefined;
  const ip = labels[0]!.replace(/-/g, '.');
  return isIPv4(ip) ? [{ name, type: 'A', ttl: index.ttl, class: 'IN', data: ip }] : undefined;
}

const result = (rcode: ClusterRcode, answers: Answer[], authorities: Answer[] = [], additionals: Answer[] = []): ClusterAnswer =>
  ({ rcode, authoritative: rcode !== 'REFUSED', answers, authorities, additionals });

/**
 * A copy of a record of the index (its data too: SRV and SOA data are objects), so callers may
 * change it; under the name the question used when given (its case kept, RFC 4343). Every record
 * of the index has exactly these fields (IndexBuilder.add).
 */
function copy(record: Answer, name = record.name): Answer {
  const { type, ttl, class: klass, data } = record as StringAnswer | SrvAnswer | SoaAnswer;
  return { name, type, ttl, class: klass, data: typeof data === 'object' ? { ...data } : data } as Answer;
}

/**
 * The answer to one question: from the index for names under the cluster domain and for the
 * reverse names of the cluster's addresses, 'forward' for everything else. An ExternalName's CNAME
 * to a name inside the domain is followed here; one to a name outside is left for the caller to
 * resolve upstream (the answer then ends with the CNAME).
 */
export function answer(index: DnsIndex, question: Question): Resolution {
  let name = normalizeName(question.name);
  // dns-packet reads type 255 as 'ANY', which its RecordType leaves out.
  const type: string = question.type;
  const klass = question.class ?? 'IN';
  if (!isUnder(name, index.domain)) {
    // Reverse zones are shared with the rest of the world: only the cluster's own addresses are ours.
    const ptr = index.reverse.get(name);
    if (!ptr || (type !== 'PTR' && type !== 'ANY') || (klass !== 'IN' && klass !== 'ANY')) return 'forward';
    return result('NOERROR', ptr.map((r) => copy(r, question.name.replace(/\.+$/, ''))));
  }
  if (klass !== 'IN' && klass !== 'ANY') return result('REFUSED', []);

  const negative = () => [copy(index.soa)];
  const answers: Answer[] = [];
  let owner = question.name.replace(/\.+$/, '');
  for (let hop = 0; hop < MAX_CNAME_HOPS; hop++) {
    const records = index.names.get(name) ?? podRecords(index, name);
    if (!records) {
      // RFC 6604: the rcode speaks of the last name of a CNAME chain.
      return result(index.enclosers.has(name) ? 'NOERROR' : 'NXDOMAIN', answers, negative());
    }
    const matching = records.filter((r) => type === 'ANY' || r.type === type);
    if (matching.length > 0) {
      answers.push(...matching.map((r) => copy(r, owner)));
      return result('NOERROR', answers, [], additionalsFor(index, matching));
    }
    const cname = records.find((r) => r.type === 'CNAME');
    if (!cname) return result('NOERROR', answers, negative()); // NODATA: the name is there, not this type
    answers.push(copy(cname, owner));
    const target = (cname as StringAnswer).data;
    if (!isUnder(target, index.domain)) return result('NOERROR', answers);
    name = owner = target;
  }
  return result('NOERROR', answers);
}

/** The address records of SRV targets, so the client need not ask for them (the specification allows it). */
function additionalsFor(index: DnsIndex, records: readonly Answer[]): Answer[] {
  if (!records.some((r) => r.type === 'SRV')) return [];
  const targets = new Set(records.filter((r): r is SrvAnswer => r.type === 'SRV').map((r) => r.data.target));
  return [...targets].flatMap((target) => (index.names.get(target) ?? []).filter((r) => r.type === 'A' || r.type === 'AAAA').map((r) => copy(r)));
}
