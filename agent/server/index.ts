// The agent's gRPC services for local clients (the Images, Containers, Builder and System services on the agent's
// unix socket): thin handlers that convert wire messages, call the image service or the container
// service, and map errors to gRPC statuses (proto/service-error). No state of their own; bound and
// shut down by the composition root. Imports every subsystem below it and proto/, nothing above.

export { builderHandlers } from './builder';
export { containersHandlers } from './containers';
export { imagesHandlers } from './images';
export { systemHandlers } from './system';
