// The node's part in the cluster's Ingresses (when it serves them): every Ingress and IngressClass
// (watched) and the Services and EndpointSlices the service network already watches, handed whole
// to the ingress server whenever one of them changes. Nothing is routed until all four have
// listed once (a partial list would answer 404 for what exists).

import type { EndpointSlice, Ingress, IngressClass, Service } from '../../proto/resources';
import type { IngressWatch, WatchSink } from './controller-link';
import { ObjectWatchState } from './object-watch';

/** What the ingress server is given: the whole state, each time. */
export interface IngressState {
  ingresses: readonly Ingress[];
  classes: readonly IngressClass[];
  services: readonly Service[];
  slices: readonly EndpointSlice[];
}

export class IngressRoutes {
  private readonly ingresses = new ObjectWatchState<Ingress>('Ingress');
  private readonly classes = new ObjectWatchState<IngressClass>('IngressClass');

  constructor(
    private readonly services: { current(): { services: readonly Service[]; slices: readonly EndpointSlice[] } | undefined },
    private readonly update: (state: IngressState) => void,
  ) {}

  watchSinks(): Record<IngressWatch, WatchSink> {
    return { ingresses: this.ingresses.sink(() => this.changed()), ingressClasses: this.classes.sink(() => this.changed()) };
  }

  relist(): void {
    this.ingresses.relist();
    this.classes.relist();
  }

  /** Something changed: the Ingresses, their classes, or the Services and endpoints they lead to. */
  changed(): void {
    const network = this.services.current();
    if (!network || !this.ingresses.isSynced() || !this.classes.isSynced()) return;
    this.update({ ingresses: this.ingresses.current(), classes: this.classes.current(), ...network });
  }
}
