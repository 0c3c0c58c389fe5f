// berth's ingress controller: what the agent may use. planRoutes decides (pure), matchRoute and
// matchTls answer per request (pure), IngressServer listens and forwards. See types.ts.

export type { Backend, Route, RouteInput, RouteTable, TlsEntry, Upstream } from './types';
export { matchRoute, matchTls, normalizedPath, planRoutes } from './routes';
export { IngressServer, type IngressServerOptions } from './server';
