import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import tls from 'node:tls';
import { promisify } from 'node:util';

/** The code of Postgres' SSLRequest message: a client asking to switch to TLS before the startup message. */
const SSL_REQUEST_CODE = 80877103;

/** A fresh self-signed certificate and its key, made by the openssl CLI. */
export async function selfSignedCertificate(): Promise<{ key: Buffer; cert: Buffer }> {
  const directory = await mkdtemp(path.join(os.tmpdir(), 'tls-proxy-'));
  try {
    const key = path.join(directory, 'key.pem');
    const cert = path.join(directory, 'cert.pem');
    await promisify(execFile)('openssl', [
      'req',
      '-x509',
      '-newkey',
      'rsa:2048',
      '-nodes',
      '-days',
      '1',
      '-subj',
      '/CN=localhost',
      '-keyout',
      key,
      '-out',
      cert,
    ]);
    return { key: await readFile(key), cert: await readFile(cert) };
  } finally {
    await rm(directory, { recursive: true, force: true });
  }
}

/**
 * A Postgres server with TLS, as far as clients can tell: accepts only TLS connections (with the given certificate)
 * and relays them in the clear to a real server that has no TLS of its own.
 */
export async function startTlsPostgresProxy(
  target: { host: string; port: number },
  credentials: { key: Buffer; cert: Buffer },
): Promise<{ port: number; serverNames: () => Array<string | false>; close: () => Promise<void> }> {
  const sockets = new Set<net.Socket>();
  const serverNames: Array<string | false> = [];
  const server = net.createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => socket.destroy());
    socket.once('data', (request) => {
      if (request.length !== 8 || request.readInt32BE(4) !== SSL_REQUEST_CODE) {
        socket.destroy();
        return;
      }
      socket.write('S');
      const secure = new tls.TLSSocket(socket, { isServer: true, ...credentials });
      secure.once('secure', () => serverNames.push(secure.servername ?? false));
      const upstream = net.connect(target.port, target.host);
      sockets.add(upstream);
      const close = () => {
        secure.destroy();
        upstream.destroy();
      };
      secure.on('error', close).on('close', close);
      upstream.on('error', close).on('close', close);
      secure.pipe(upstream).pipe(secure);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as net.AddressInfo).port,
    /** The TLS server name (SNI) each client asked for; false when it sent none. */
    serverNames: () => [...serverNames],
    close: async () => {
      for (const socket of sockets) socket.destroy();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}
