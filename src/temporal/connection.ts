import { readFile } from 'node:fs/promises';
import { Client, Connection, type TLSConfig } from '@temporalio/client';
import { NativeConnection } from '@temporalio/worker';
import type { Config } from '../config';

async function tlsOptions(config: Config['temporal']): Promise<TLSConfig | undefined> {
  if (!config.tls) return undefined;
  const { clientCertPath, clientKeyPath, serverCaCertPath } = config.tls;
  return {
    clientCertPair:
      clientCertPath && clientKeyPath
        ? { crt: await readFile(clientCertPath), key: await readFile(clientKeyPath) }
        : undefined,
    serverRootCACertificate: serverCaCertPath ? await readFile(serverCaCertPath) : undefined,
  };
}

/** A Temporal client for the API and services. */
export async function connectClient(config: Config['temporal']): Promise<Client> {
  const connection = await Connection.connect({ address: config.address, tls: await tlsOptions(config) });
  return new Client({ connection, namespace: config.namespace });
}

/**
 * A client whose connection is made on first use and remade after Temporal comes back: the API starts, and serves
 * what Postgres alone answers, while Temporal is down; calls that need Temporal fail (503) until it answers again.
 */
export async function lazyClient(config: Config['temporal']): Promise<Client> {
  const connection = Connection.lazy({ address: config.address, tls: await tlsOptions(config) });
  return new Client({ connection, namespace: config.namespace });
}

/** The connection a worker polls over. */
export async function connectWorker(config: Config['temporal']): Promise<NativeConnection> {
  return NativeConnection.connect({ address: config.address, tls: await tlsOptions(config) });
}
