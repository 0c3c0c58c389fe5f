// Network policy enforcement (what Calico's or Cilium's agent does for a Kubernetes node): the
// vocabulary it decides in.
//
// Lifecycle: the agent watches every NetworkPolicy, Namespace and pod (pods cut down to their
// addresses, labels and ports) and feeds them with its node's name to planNetworkPolicies
// (plan.ts, pure), which answers with the whole nftables table as data, in the service proxy's
// shape (a ruleset: chains, sets, maps), so the proxy's executor applies it the same way: a diff
// against the last ruleset applied, one `nft -f -` transaction per sync.
//
// Where it acts: the node's forward hook, which every packet between a pod of this node and
// anything but the node itself passes (bridged traffic too: br_netfilter hands it to the IP
// hooks), after the service proxy's DNAT, so a Service's traffic is judged by the pod it reaches.
// Each node judges only its own pods: egress where the sender lives, ingress where the receiver
// does, so a connection between two nodes' pods is allowed only when both sides' policies say so.
//
//   egress chain (forward, priority 0)   established/related: accept; saddr in egress-pods: jump
//   ingress chain (forward, priority 1)  established/related: accept; daddr in ingress-pods: jump
//   pod-egress-<pod>, pod-ingress-<pod>  own address: accept; jump each selecting policy's chain; drop
//   policy-<policy>-egress / -ingress    one rule per (peer, port) of each rule: accept
//   policy-<policy>-<dir>-<i> sets       the addresses of the pods a rule's selectors pick
//
// Two base chains, so that an egress accept does not skip the receiver's ingress check when both
// pods are on this node (an accept ends only its own base chain). Traffic between a pod and its
// own node (the cluster DNS on the bridge, probes, the node's processes) never reaches the forward
// hook and is always allowed, as Kubernetes asks of every implementation.

import type { Namespace, NetworkPolicy, Pod } from '../../../proto/resources';

export interface PolicyInput {
  policies: readonly NetworkPolicy[];
  namespaces: readonly Namespace[];
  /** Every pod of the cluster, as the controller's pod address watch sends them. */
  pods: readonly Pod[];
  /** Pods with this spec.nodeName are the ones this node enforces for. */
  nodeName: string;
}
