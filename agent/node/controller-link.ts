// The agent's connection to the controller (it dials out; the controller never dials in): a
// gRPC client of the Node service, and the session rules around it.
//
// A session is one registration: an epoch. Within it the lease is renewed every renew interval,
// the pod watch and the node watch (the pod network's routes) are kept open (each resuming from
// its last resource version after a lost connection) and so is the tunnel that logs requests come
// through. FAILED_PRECONDITION from any call means
// the epoch is stale (the controller declared the node lost meanwhile): the session ends, the
// agent registers again and relists every pod. UNAVAILABLE (or any other failure) means only
// "try again": streams reopen with back-off, the lease renewal keeps trying, containers run on.
//
// Every call carries the node's client certificate (credentials.ts). Two thirds into its life the
// link trades it for a new one; calls made after that use a new client with the new certificate,
// streams already open finish on the old connection.

import * as grpc from '@grpc/grpc-js';
import { X509Certificate } from 'node:crypto';
import type { NodeClient } from '../../proto/grpc';
import type { TunnelReply } from '../../proto/gen/berth/cluster/v1/TunnelReply';
import type { TunnelRequest__Output } from '../../proto/gen/berth/cluster/v1/TunnelRequest';
import type { WatchEvent__Output } from '../../proto/gen/berth/cluster/v1/WatchEvent';
import type { Event, Node, NodeMetricsReport, PodStatus, Resource } from '../../proto/resources';
import type { PodConfigKind } from './pod-config';
import { BerthError, codeOfGrpcStatus } from '../../proto/errors';
import { backoffDelay, RETRY_BACKOFF } from './backoff';
import { channelCredentials, nodeClient, renewalDue, renewCredentials, saveCredentials, type NodeCredentials } from './credentials';
import type { RawWatchEvent } from './pod-watch';
import type { TokenGrant } from './pod-tokens';
import type { NodeConfig } from './types';

/** What the link tells the rest of the node agent. */
export interface LinkSink {
  /** A session began. `relist`: it replaces a stale one, so the pod watch starts over with a full list. */
  registered(epoch: string, relist: boolean): void;
  /** The resource version the next pod watch starts from ('' for a full list). */
  resumeFrom(): string;
  /** A pod watch opened from `resourceVersion`. */
  watchOpened(resourceVersion: string): void;
  watchEvent(event: RawWatchEvent): void;
  /** A request from the tunnel; `reply` sends on the same tunnel while it is open. */
  tunnelRequest(request: TunnelRequest__Output, reply: (r: TunnelReply) => boolean): void;
  /** The tunnel closed: requests served through it are over. */
  tunnelClosed(): void;
  /**
   * Renewals succeed again after failing, or the controller says the node was not Ready until
   * this one: it may have marked the node's pods not ready meanwhile (its node lifecycle does, as
   * Kubernetes'), so every pod's status is sent again.
   */
  leaseRecovered(): void;
  /** The controller's word on the node's spec, with each registration and renewal: cordoned or not. */
  nodeSpec(spec: { unschedulable: boolean }): void;
  /** The cluster's pod network, with each registration. */
  clusterNetwork(network: { clusterCidr: string; backend: string }): void;
  /** The watches of whole kinds (Nodes for the pod network, Services and EndpointSlices for the proxy and DNS). */
  clusterWatches: Record<ClusterWatch, WatchSink>;
  /** The watches network policy enforcement decides from; absent: the node enforces none (and watches none). */
  policyWatches?: Record<PolicyWatch, WatchSink>;
  /** The watches the ingress controller routes by; absent: the node serves no Ingresses (and watches none). */
  ingressWatches?: Record<IngressWatch, WatchSink>;
}

/** What one watch tells: like the pod watch's three above. */
export interface WatchSink {
  resumeFrom(): string;
  opened(resourceVersion: string): void;
  event(event: RawWatchEvent): void;
}

export type ClusterWatch = 'nodes' | 'services' | 'endpointSlices';
export type PolicyWatch = 'networkPolicies' | 'namespaces' | 'podAddresses';
export type IngressWatch = 'ingresses' | 'ingressClasses';

export interface StatusReport {
  namespace: string;
  name: string;
  uid: string;
  status: PodStatus;
  terminated: boolean;
}

/** A call failed: `stale` when the epoch was refused (a new session is on its way). */
export class LinkError extends BerthError {
  constructor(readonly reason: 'stale' | 'unavailable', message: string, options?: { cause?: unknown }) {
    super(reason === 'stale' ? 'failed-precondition' : 'unavailable', message, options);
  }
}

interface Session {
  epoch: string;
  renewMs: number;
  abort: AbortController;
  unschedulable: boolean;
  clusterCidr: string;
  podNetwork: string;
}

const STATUS = grpc.status;

/** Where the node's credentials are kept, and the ones it starts with. */
export interface LinkCredentials {
  dir: string;
  initial: NodeCredentials;
}

export class ControllerLink {
  private client: NodeClient;
  private credentials: NodeCredentials;
  private session: Session | undefined;
  private readonly stopping = new AbortController();
  private running: Promise<void> | undefined;
  /** Only transitions are printed: a controller down for an hour is one line, not thousands. */
  private lastProblem = '';

  constructor(
    private readonly config: NodeConfig,
    private readonly node: () => Node,
    private readonly sink: LinkSink,
    private readonly pki: LinkCredentials,
    private readonly log: (line: string) => void = (line) => process.stderr.write(`berth agent: ${line}\n`),
  ) {
    this.credentials = pki.initial;
    this.client = nodeClient(config.controller, channelCredentials(this.credentials));
  }

  /** The current session's epoch; undefined while registering. */
  get epoch(): string | undefined {
    return this.session?.epoch;
  }

  start(): void {
    this.running ??= Promise.all([this.run(), this.certificateLoop()]).then(() => undefined);
  }

  async stop(): Promise<void> {
    this.stopping.abort();
    this.session?.abort.abort();
    await this.running;
    this.client.close();
  }

  async updatePodStatus(report: StatusReport): Promise<void> {
    const session = this.requireSession();
    await this.call(session, 'UpdatePodStatus', (cb) => this.client.updatePodStatus({
      nodeName: this.config.nodeName,
      epoch: session.epoch,
      namespace: report.namespace,
      name: report.name,
      uid: report.uid,
      statusJson: JSON.stringify(report.status),
      terminated: report.terminated,
    }, { deadline: Date.now() + 15_000 }, cb));
  }

  async recordEvent(event: Event): Promise<void> {
    const session = this.requireSession();
    await this.call(session, 'RecordEvent', (cb) => this.client.recordEvent({ nodeName: this.config.nodeName, event: { json: JSON.stringify(event) } }, { deadline: Date.now() + 15_000 }, cb));
  }

  /** The node's and its pods' resource usage now (metrics.ts). */
  async reportMetrics(report: NodeMetricsReport): Promise<void> {
    const session = this.requireSession();
    await this.call(session, 'ReportMetrics', (cb) => this.client.reportMetrics({ nodeName: this.config.nodeName, epoch: session.epoch, json: JSON.stringify(report) }, { deadline: Date.now() + 15_000 }, cb));
  }

  /** A token for the service account of a pod bound here. */
  async serviceAccountToken(ref: { namespace: string; name: string; uid: string }): Promise<TokenGrant> {
    const session = this.requireSession();
    const r = await this.call<{ mount: boolean; token: string; expiresAt: string; caPem: string; namespace: string }>(session, 'ServiceAccountToken', (cb) =>
      this.client.serviceAccountToken({ namespace: ref.namespace, podName: ref.name, podUid: ref.uid }, { deadline: Date.now() + 15_000 }, cb));
    return { mount: r.mount, token: r.token, expiresAt: Number(r.expiresAt), caPem: r.caPem, namespace: r.namespace };
  }

  /** A ConfigMap, Secret or claim one of this node's pods names (or a volume bound to such a claim); undefined when it does not exist. */
  async podConfig(kind: PodConfigKind, namespace: string, name: string): Promise<Resource | undefined> {
    const session = this.requireSession();
    try {
      const r = await this.call<{ json: string }>(session, 'GetPodConfig', (cb) =>
        this.client.getPodConfig({ nodeName: this.config.nodeName, epoch: session.epoch, kind, namespace, name }, { deadline: Date.now() + 15_000 }, cb));
      return JSON.parse(r.json) as Resource;
    } catch (err) {
      if ((err as { cause?: { code?: number } }).cause?.code === STATUS.NOT_FOUND) return undefined;
      throw err;
    }
  }

  // ---- the node's certificate ----------------------------------------------------------------

  /** Renew the certificate when it is due, keep it, and make later calls with it. */
  private async certificateLoop(): Promise<void> {
    const signal = this.stopping.signal;
    for (let failures = 0; !signal.aborted;) {
      const wait = renewalDue(this.credentials.certPem) - Date.now();
      if (wait > 0) {
        // A timer cannot wait longer than 2^31 ms (about 24 days): wait in steps.
        await sleep(Math.min(wait, 2 ** 31 - 1), signal);
        continue;
      }
      try {
        const renewed = await renewCredentials(this.client, this.config, this.credentials);
        await saveCredentials(this.pki.dir, renewed);
        this.credentials = renewed;
        const old = this.client;
        this.client = nodeClient(this.config.controller, channelCredentials(renewed));
        // Open streams keep the old connection until they end; new calls use the new client.
        setTimeout(() => old.close(), 60_000).unref();
        failures = 0;
        this.log(`node certificate renewed (valid until ${new X509Certificate(renewed.certPem).validTo})`);
      } catch (err) {
        failures++;
        this.problem(`cannot renew the node's certificate: ${describe(err)} (retrying)`);
        await sleep(backoffDelay(RETRY_BACKOFF, failures), signal);
      }
    }
  }

  // ---- sessions ------------------------------------------------------------------------------

  private async run(): Promise<void> {
    let relist = false;
    while (!this.stopping.signal.aborted) {
      const session = await this.register();
      if (!session) return;
      this.session = session;
      this.problem('');
      this.log(`node ${this.config.nodeName} registered with controller ${this.config.controller} (epoch ${session.epoch})`);
      this.sink.nodeSpec({ unschedulable: session.unschedulable });
      this.sink.clusterNetwork({ clusterCidr: session.clusterCidr, backend: session.podNetwork });
      this.sink.registered(session.epoch, relist);
      await Promise.all([this.renewLoop(session), this.podWatchLoop(session), ...this.clusterWatchLoops(session), this.tunnelLoop(session)]);
      if (this.session === session) this.session = undefined;
      relist = true;
    }
  }

  private requireSession(): Session {
    const session = this.session;
    if (!session || session.abort.signal.aborted) throw new LinkError('unavailable', `not registered with controller ${this.config.controller} yet`);
    return session;
  }

  /** Register until it works (or the agent stops: undefined). */
  private async register(): Promise<Session | undefined> {
    for (let failures = 0; !this.stopping.signal.aborted;) {
      try {
        const res = await new Promise<{ epoch: string; renewIntervalMs: number; unschedulable: boolean; clusterCidr: string; podNetwork: string }>((resolve, reject) =>
          this.client.register({ node: { json: JSON.stringify(this.node()) } }, { deadline: Date.now() + 15_000 }, (err, r) => (err || !r ? reject(err) : resolve(r))));
        return {
          epoch: String(res.epoch), renewMs: Math.max(100, res.renewIntervalMs || 10_000), abort: new AbortController(), unschedulable: res.unschedulable === true,
          clusterCidr: res.clusterCidr ?? '', podNetwork: res.podNetwork ?? '',
        };
      } catch (err) {
        failures++;
        this.problem(`cannot register with controller ${this.config.controller}: ${describe(err)} (retrying)`);
        await sleep(backoffDelay(RETRY_BACKOFF, failures), this.stopping.signal);
      }
    }
    return undefined;
  }

  /** The session's epoch was refused: end it (every loop of it stops), a new one follows. */
  private endSession(session: Session, why: string): void {
    if (session.abort.signal.aborted) return;
    this.log(`${why}: registering again`);
    session.abort.abort();
  }

  /** A unary call of the session: FAILED_PRECONDITION ends it; anything else is a LinkError('unavailable'). */
  private call<T>(session: Session, method: string, start: (cb: (err: grpc.ServiceError | null, r?: T) => void) => void): Promise<T> {
    return new Promise<T>((resolve, reject) => start((err, r) => {
      if (!err) return resolve(r as T);
      if (err.code === STATUS.FAILED_PRECONDITION) {
        this.endSession(session, `${method}: ${err.details}`);
        return reject(new LinkError('stale', `${method}: ${err.details}`, { cause: err }));
      }
      reject(new LinkError('unavailable', `${method}: ${describe(err)}`, { cause: err }));
    }));
  }

  private async renewLoop(session: Session): Promise<void> {
    const signal = session.abort.signal;
    let failing = false;
    while (!signal.aborted) {
      await sleep(session.renewMs, signal);
      if (signal.aborted) return;
      try {
        const renewed = await this.call<{ unschedulable?: boolean; resendPodStatus?: boolean }>(session, 'RenewLease', (cb) => this.client.renewLease({ nodeName: this.config.nodeName, epoch: session.epoch }, { deadline: Date.now() + Math.max(2000, session.renewMs * 2) }, cb));
        this.sink.nodeSpec({ unschedulable: renewed?.unschedulable === true });
        // Renewals that failed, or came too late for the controller: it may have marked the pods not ready.
        if (failing || renewed?.resendPodStatus) this.sink.leaseRecovered();
        failing = false;
        this.problem('');
      } catch (err) {
        failing = true;
        if (err instanceof LinkError && err.reason === 'unavailable') this.problem(`cannot renew the node's lease: ${err.message}`);
      }
    }
  }

  private podWatchLoop(session: Session): Promise<void> {
    return this.watchLoop(session, 'pod watch', (resourceVersion) => this.client.watchPods({ nodeName: this.config.nodeName, epoch: session.epoch, resourceVersion }),
      { resumeFrom: () => this.sink.resumeFrom(), opened: (rv) => this.sink.watchOpened(rv), event: (e) => this.sink.watchEvent(e) });
  }

  private clusterWatchLoops(session: Session): Promise<void>[] {
    const request = (resourceVersion: string) => ({ nodeName: this.config.nodeName, epoch: session.epoch, resourceVersion });
    const sinks = this.sink.clusterWatches;
    const policy = this.sink.policyWatches;
    const ingress = this.sink.ingressWatches;
    return [
      this.watchLoop(session, 'node watch', (rv) => this.client.watchNodes(request(rv)), sinks.nodes),
      this.watchLoop(session, 'service watch', (rv) => this.client.watchServices(request(rv)), sinks.services),
      this.watchLoop(session, 'endpoint slice watch', (rv) => this.client.watchEndpointSlices(request(rv)), sinks.endpointSlices),
      ...(policy ? [
        this.watchLoop(session, 'network policy watch', (rv) => this.client.watchNetworkPolicies(request(rv)), policy.networkPolicies),
        this.watchLoop(session, 'namespace watch', (rv) => this.client.watchNamespaces(request(rv)), policy.namespaces),
        this.watchLoop(session, 'pod address watch', (rv) => this.client.watchPodAddresses(request(rv)), policy.podAddresses),
      ] : []),
      ...(ingress ? [
        this.watchLoop(session, 'ingress watch', (rv) => this.client.watchIngresses(request(rv)), ingress.ingresses),
        this.watchLoop(session, 'ingress class watch', (rv) => this.client.watchIngressClasses(request(rv)), ingress.ingressClasses),
      ] : []),
    ];
  }

  /** Keep one watch of the session open, resuming where it left off; a stale epoch ends the session. */
  private async watchLoop(
    session: Session,
    what: string,
    open: (resourceVersion: string) => grpc.ClientReadableStream<WatchEvent__Output>,
    sink: WatchSink,
  ): Promise<void> {
    const signal = session.abort.signal;
    let failures = 0;
    while (!signal.aborted) {
      const resourceVersion = sink.resumeFrom();
      const call = open(resourceVersion);
      sink.opened(resourceVersion);
      const status = await new Promise<grpc.StatusObject | grpc.ServiceError>((resolve) => {
        const cancel = () => call.cancel();
        signal.addEventListener('abort', cancel, { once: true });
        call.on('data', (event: WatchEvent__Output) => {
          failures = 0;
          sink.event({ type: event.type, ...(event.object?.json ? { json: event.object.json } : {}), resourceVersion: event.resourceVersion });
        });
        call.on('error', (err: grpc.ServiceError) => {
          signal.removeEventListener('abort', cancel);
          resolve(err);
        });
        call.on('status', (s: grpc.StatusObject) => {
          signal.removeEventListener('abort', cancel);
          resolve(s);
        });
      });
      if (signal.aborted) return;
      if (status.code === STATUS.FAILED_PRECONDITION) {
        this.endSession(session, `${what}: ${status.details}`);
        return;
      }
      failures++;
      if (status.code !== STATUS.OK) this.problem(`${what}: ${describe(status)} (reconnecting)`);
      await sleep(backoffDelay(RETRY_BACKOFF, failures), signal);
    }
  }

  private async tunnelLoop(session: Session): Promise<void> {
    const signal = session.abort.signal;
    let failures = 0;
    while (!signal.aborted) {
      const call = this.client.tunnel();
      let open = true;
      const reply = (r: TunnelReply): boolean => {
        if (!open) return false;
        call.write(r);
        return true;
      };
      await new Promise<grpc.StatusObject | grpc.ServiceError>((resolve) => {
        const cancel = () => call.cancel();
        signal.addEventListener('abort', cancel, { once: true });
        const done = (s: grpc.StatusObject | grpc.ServiceError) => {
          signal.removeEventListener('abort', cancel);
          open = false;
          resolve(s);
        };
        call.on('data', (request: TunnelRequest__Output) => {
          failures = 0;
          this.sink.tunnelRequest(request, reply);
        });
        call.on('error', done);
        call.on('status', done);
        call.write({ id: 0, hello: { nodeName: this.config.nodeName, epoch: session.epoch } });
      });
      this.sink.tunnelClosed();
      if (signal.aborted) return;
      failures++;
      await sleep(backoffDelay(RETRY_BACKOFF, failures), signal);
    }
  }

  private problem(message: string): void {
    if (message === this.lastProblem) return;
    this.lastProblem = message;
    if (message) this.log(message);
  }
}

function describe(err: unknown): string {
  const e = err as { code?: number; details?: string; message?: string };
  if (typeof e?.code === 'number') return `${codeOfGrpcStatus(e.code)}: ${e.details || e.message || 'no detail'}`;
  return e?.message ?? String(err);
}

/** Resolves after `ms`, or at once when `signal` aborts. */
export function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    }
    signal.addEventListener('abort', done, { once: true });
  });
}
