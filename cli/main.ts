#!/usr/bin/env node
// berth: one command for the controller, the agent, the node verbs (docker's) and the cluster
// verbs (kubectl's). Verb modules are loaded only when used so that a command starts quickly.
//
// The CLI imports proto/ (the shared contract) and starts the agent and the controller through
// their entry points only (agent-command.ts, controller-command.ts). Its rooms: common/ (flags,
// the user's errors, tables), grpc/ (its own small gRPC client and protobuf codec: loading grpc-js
// costs more than a call), node/ (docker's verbs against the local agent), cluster/ (kubectl's
// verbs against the controller). Folders import only those before them in this line (checked by
// .dependency-cruiser.cjs); this file and the two commands sit on top:
// Layers: common | grpc → node | cluster

import { BerthError } from '../proto/errors';

const USAGE = `Usage: berth [--kubeconfig FILE] [--context NAME] [--server HOST:PORT] [--agent SOCKET] COMMAND [ARGS...]

%CLUSTER%
Node commands (talk to the local agent; --agent or BERTH_AGENT picks its socket):
  pull REF [--platform os/arch]   Pull an image from a registry
  push REF                        Push an image to a registry
  images [-a] [-q] [--digests]    List images
  image inspect|history|ls|rm|prune|tag|pull|push|save|load
  tag SOURCE TARGET               Give an image another name
  rmi [-f] IMAGE...               Remove images
  save -o FILE IMAGE...           Write images to a tar (OCI layout + docker save format)
  load -i FILE                    Read images from such a tar
  login [-u USER] [-p PASS | --password-stdin] [REGISTRY]
  build [-t NAME[:TAG]]... [-f Dockerfile|-] [--build-arg K=V]... [--target STAGE] [--no-cache]
        [--pull] [--iidfile F] [--label K=V]... [--progress auto|plain|tty] [--network default|none]
        [-q] CONTEXT|-            Build an image from a Dockerfile (SOURCE_DATE_EPOCH: reproducible)
  builder prune [--keep-storage SIZE] | builder du     The build cache

Container commands (docker's flags):
  create|run [-d] [--rm] [--name N] [-e K=V] [--env-file F] [--entrypoint E] [-w DIR] [-u USER]
             [-p [IP:]HOST:CTR[/tcp|udp]] [-v HOST:CTR[:ro]] [--memory M] [--cpus N] [--pids-limit N]
             [--restart no|on-failure[:N]|always|unless-stopped] [--network bridge|none|host]
             [--security-opt seccomp=unconfined|PROFILE.json] [--security-opt no-new-privileges[=true|false]]
             [--privileged] [--pid host] [--ipc host] [-i] [-t] [--detach-keys K]
             [--log-opt max-size=10m|max-file=3|compress=true] IMAGE [CMD...]
  start | stop [-t S] | restart | kill [-s SIG] | pause | unpause | rm [-f] CONTAINER...
  ps [-a] [-s] [-q] [--filter K=V]     logs [-f] [--tail N] [-t] C     exec [-i] [-t] [-e] [-w] [-u] C CMD...
  inspect | diff | wait | container prune | system df | system prune [-a]
  commit [-a AUTHOR] [-m MSG] [--pause=false] C [REPO[:TAG]]   (a running C is frozen while read)
  attach [--detach-keys K] C      cp [-a] [-L] C:SRC DEST|-  or  SRC|- C:DEST
  (with a controller configured, logs, diff, exec, attach and cp are the cluster's: use container logs|diff|exec|attach|cp)

  version [--client] [-o json|yaml]   The client's, the controller's and the local agent's versions

Processes:
  controller [--data-root DIR] [--listen HOST:PORT] [--store sqlite|etcd://HOST:PORT[,...]]
             [--node-grace-period 4s] [--pod-eviction-timeout 10s] [--tls-san NAME|IP]...
             [--node-cert-validity 8760h] [--etcd-cafile F [--etcd-certfile F --etcd-keyfile F] | --etcd-insecure]
             [--leader-elect-lease-duration 6s] [--cluster-cidr 10.42.0.0/16] [--node-cidr-mask-size 24]
             [--pod-network vxlan|host-gw]
  agent [--data-root DIR] [--socket PATH] [--run-dir DIR] [--cgroup-parent P] [--bridge B] [--subnet CIDR]
        [--insecure-registry HOST]... [--registries-config FILE]
        [--controller HOST:PORT [--token TOKEN] [--node-name N] [--labels k=v,...] [--node-ip IP]
                          [--pod-pids-limit N|-1] [--pod-restart-backoff 10s:5m]]
`;

async function main(argv: string[]): Promise<void> {
  let agentFlag: string | undefined;
  const connection: { server?: string; kubeconfig?: string; context?: string } = {};
  const rest: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    const global = rest.length === 0 ? /^--(agent|server|kubeconfig|context)(?:=(.*))?$/.exec(a) : null;
    if (!global) {
      rest.push(a);
      continue;
    }
    const value = global[2] ?? argv[++i] ?? '';
    if (global[1] === 'agent') agentFlag = value;
    else connection[global[1] as 'server' | 'kubeconfig' | 'context'] = value;
  }
  const [verb, ...args] = rest;
  if (!verb || verb === 'help' || verb === '--help' || verb === '-h') {
    const { USAGE: CLUSTER_USAGE } = await import('./cluster');
    process.stdout.write(USAGE.replace('%CLUSTER%\n', CLUSTER_USAGE));
    return;
  }
  if (verb === 'agent') {
    const { runAgentCommand } = await import('./agent-command');
    return runAgentCommand(args);
  }
  if (verb === 'controller') return (await import('./controller-command')).runControllerCommand(args);
  if (verb === 'version') return (await import('./version')).runVersion(args, connection, agentFlag);
  const cluster = await import('./cluster');
  if (cluster.isClusterVerb(verb, { ...connection, agent: agentFlag }, undefined, args)) return cluster.runClusterVerb(verb, args, connection);
  if (verb === 'build' || verb === 'builder') return (await import('./node/build')).runBuildVerb(verb, args, agentFlag);
  const { imageVerbs, runImageVerb } = await import('./node/images');
  if (verb in imageVerbs) return runImageVerb(verb, args, agentFlag);
  const { containerVerbs } = await import('./node/containers');
  if (verb in containerVerbs) {
    const { agentSocket, containersClient, imagesClient } = await import('./node/agent-client');
    const socket = agentSocket(agentFlag);
    const clients = { containers: containersClient(socket), images: imagesClient(socket) };
    try {
      return await containerVerbs[verb]!(clients, args);
    } finally {
      clients.containers.close();
      clients.images.close();
    }
  }
  throw new BerthError('invalid-argument', `unknown command "${verb}"; see berth --help`);
}

main(process.argv.slice(2)).catch((err: unknown) => {
  const message = err instanceof Error ? err.message : String(err);
  process.stderr.write(`Error: ${message}\n`);
  if (process.env.BERTH_DEBUG && err instanceof Error) process.stderr.write(`${err.stack}\n`);
  // A container that could not run its command exits 126/127 as docker's does.
  const status = (err as { exitStatus?: number }).exitStatus;
  process.exitCode = status ?? (err instanceof BerthError && err.code === 'invalid-argument' ? 125 : 1);
});
