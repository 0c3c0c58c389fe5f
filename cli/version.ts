// `berth version`: the client's version, then the controller's when one is configured (kubectl's
// Server Version) and the local agent's when its socket is there (docker's Server). `--client`:
// the client's alone; `-o json|yaml`: the same as a document. A configured controller that does
// not answer is an error (exit 1) after the client's line, as kubectl's.

import * as fs from 'node:fs';
import { stringify } from 'yaml';
import { versionInfo, type VersionInfo } from '../proto/version';
import { parseFlags } from './common/args';
import { CliError } from './common/errors';

interface Versions {
  clientVersion: VersionInfo;
  serverVersion?: VersionInfo & { address: string };
  agentVersion?: VersionInfo & { socket: string };
}

export async function runVersion(args: string[], connection: { server?: string; kubeconfig?: string; context?: string }, agentFlag: string | undefined): Promise<void> {
  const { values, positionals } = parseFlags(args, { client: { type: 'boolean' }, output: { type: 'string', short: 'o' } });
  if (positionals.length > 0) throw new CliError(`unexpected arguments: ${positionals.join(' ')}`);
  const output = values.output as string | undefined;
  if (output !== undefined && output !== 'json' && output !== 'yaml') throw new CliError(`--output must be json or yaml, not ${JSON.stringify(output)}`);
  const versions: Versions = { clientVersion: versionInfo() };
  let failure: Error | undefined;
  if (!values.client) {
    const { agentSocket, systemClient, call } = await import('./node/agent-client');
    const socket = agentSocket(agentFlag);
    if (fs.existsSync(socket)) {
      const client = systemClient(socket);
      try {
        versions.agentVersion = { ...await call<object, VersionInfo>(client.Version.bind(client) as never, {}), socket };
      } catch {
        // An agent socket nobody answers on: no agent here, as when there is none.
      } finally {
        client.close();
      }
    }
    const { connectionFromEnvironment } = await import('./cluster/connection');
    const resolved = connectionFromEnvironment({ ...connection });
    if (resolved.source !== 'default' || connection.server !== undefined) {
      const { connectCluster } = await import('./cluster/client');
      const cluster = connectCluster(resolved);
      try {
        versions.serverVersion = { ...await cluster.version(), address: resolved.address };
      } catch (err) {
        failure = err as Error;
      } finally {
        cluster.close();
      }
    }
  }
  if (output === 'json') process.stdout.write(`${JSON.stringify(versions, null, 2)}\n`);
  else if (output === 'yaml') process.stdout.write(stringify(versions));
  else {
    process.stdout.write(`Client Version: ${versions.clientVersion.version}\n`);
    if (versions.serverVersion) process.stdout.write(`Server Version: ${versions.serverVersion.version} (controller at ${versions.serverVersion.address})\n`);
    if (versions.agentVersion) process.stdout.write(`Agent Version: ${versions.agentVersion.version} (${versions.agentVersion.socket})\n`);
  }
  if (failure) throw failure;
}
