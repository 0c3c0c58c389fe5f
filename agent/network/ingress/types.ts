// berth's ingress controller (the job of ingress-nginx or k3s' traefik): the vocabulary it
// decides in.
//
// Lifecycle: an agent started with --ingress-http-port / --ingress-https-port watches every
// Ingress and IngressClass (besides the Services and EndpointSlices it already watches for the
// service proxy) and, on each change, plans a route table (routes.ts, pure): the Ingresses of
// classes whose controller is berth's (INGRESS_CONTROLLER; and those naming no class while
// berth's class is the default), each path resolved to its Service's ready endpoints. The server
// (server.ts) answers each request from the table it holds: the matching route's endpoints in
// turn, the request passed on with X-Forwarded-* headers, upgrades (WebSocket) spliced through;
// 404 when no rule matches, 503 when the backend has no ready endpoint, 502 when it cannot be
// reached. HTTPS picks the certificate by SNI from the Ingresses' tls Secrets.

import type { EndpointSlice, Ingress, IngressClass, Service } from '../../../proto/resources';

export interface RouteInput {
  ingresses: readonly Ingress[];
  classes: readonly IngressClass[];
  services: readonly Service[];
  slices: readonly EndpointSlice[];
}

/** An address a request may be sent to: a ready endpoint of the backend Service's port. */
export interface Upstream {
  ip: string;
  port: number;
}

/** Where matching requests go: a Service's port, with what it resolved to now. */
export interface Backend {
  /** "namespace/service:port", for errors and logs. */
  name: string;
  upstreams: Upstream[];
  /** Why there are no upstreams (no such Service, no such port, a resource backend), for the 503. */
  problem?: string;
}

/** One path of one rule of one Ingress. */
export interface Route {
  /** Lower case; undefined: every host. "*.example.com" matches exactly one label in its place. */
  host?: string;
  pathType: 'Exact' | 'Prefix';
  /** '/' for a Prefix that matches everything. */
  path: string;
  backend: Backend;
  /** "namespace/name" of the Ingress, and when it was made: on a conflict the oldest wins. */
  ingress: string;
  created: string;
}

/** A TLS certificate's place: the Secret and the hosts it serves (none: any host without a better one). */
export interface TlsEntry {
  namespace: string;
  secretName: string;
  hosts: string[];
}

export interface RouteTable {
  routes: Route[];
  /** Default backends of the served Ingresses, oldest first: where a request no rule matches goes. */
  defaults: Array<{ backend: Backend; ingress: string }>;
  tls: TlsEntry[];
  /** The served Ingresses ("namespace/name"). */
  served: string[];
}
