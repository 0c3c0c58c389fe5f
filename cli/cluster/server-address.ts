// Which controller the cluster verbs talk to: --server HOST:PORT, else $BERTH_SERVER, else
// `server: HOST:PORT` in ~/.berth/config, else DEFAULT_SERVER (the controller's default --listen).
// Whether one was configured at all decides what `berth logs` and `berth diff` mean.

import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { parseHostPort } from '../grpc/grpc-lite';
import { CliError } from '../common/errors';

/** Where `berth controller` listens unless told otherwise. */
export const DEFAULT_SERVER = '127.0.0.1:7443';

export type ServerSource = 'flag' | 'env' | 'config' | 'default';

export interface ServerAddress {
  /** HOST:PORT. */
  address: string;
  /** 'default' means nobody configured a controller. */
  source: ServerSource;
}

export interface AddressInputs {
  flag: string | undefined;
  env: NodeJS.ProcessEnv;
  /** The user's home directory (~/.berth/config lives there). */
  home: string;
  /** Read a file, or undefined when it does not exist. */
  readFile: (file: string) => string | undefined;
}

export const configPath = (home: string): string => path.join(home, '.berth', 'config');

/** The controller's address and where it came from; a malformed one is an error naming its source. */
export function resolveServer(inputs: AddressInputs): ServerAddress {
  if (inputs.flag !== undefined) return { address: checked(inputs.flag, '--server'), source: 'flag' };
  const env = inputs.env.BERTH_SERVER;
  if (env) return { address: checked(env, 'BERTH_SERVER'), source: 'env' };
  const file = configPath(inputs.home);
  const text = inputs.readFile(file);
  if (text !== undefined) {
    const server = serverOfConfig(text, file);
    if (server !== undefined) return { address: checked(server, `${file}: server`), source: 'config' };
  }
  return { address: DEFAULT_SERVER, source: 'default' };
}

/** The `server:` of a config file's text, undefined when it has none. */
export function serverOfConfig(text: string, file: string): string | undefined {
  // The file is one line of YAML in practice; a full YAML parser is loaded only for anything else.
  const simple = /^\s*server:\s*["']?([^"'\s#]+)["']?\s*(?:#.*)?$/m.exec(text);
  const others = text.split('\n').filter((l) => l.trim() && !l.trim().startsWith('#') && !/^\s*server:/.test(l));
  if (simple && others.length === 0) return simple[1];
  let doc: unknown;
  try {
    doc = (require('yaml') as typeof import('yaml')).parse(text);
  } catch (err) {
    throw new CliError(`${file}: not valid YAML: ${(err as Error).message.split('\n')[0]}`);
  }
  if (doc === null || doc === undefined) return undefined;
  if (typeof doc !== 'object' || Array.isArray(doc)) throw new CliError(`${file}: expected a mapping such as "server: 127.0.0.1:7443"`);
  const server = (doc as Record<string, unknown>).server;
  if (server === undefined || server === null) return undefined;
  if (typeof server !== 'string') throw new CliError(`${file}: server: must be a string HOST:PORT`);
  return server;
}

function checked(address: string, from: string): string {
  if (!parseHostPort(address)) throw new CliError(`${from}: "${address}" is not HOST:PORT (for example ${DEFAULT_SERVER})`);
  return address.trim();
}

/** resolveServer with this process's environment and files. */
export function serverFromEnvironment(flag: string | undefined): ServerAddress {
  return resolveServer({
    flag,
    env: process.env,
    home: process.env.HOME || os.homedir(),
    readFile: (file) => {
      try {
        return fs.readFileSync(file, 'utf8');
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'ENOENT' || (err as NodeJS.ErrnoException).code === 'ENOTDIR') return undefined;
        throw new CliError(`cannot read ${file}: ${(err as Error).message}`);
      }
    },
  });
}
