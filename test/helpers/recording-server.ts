import net from 'node:net';

/** A listener on loopback that records every connection and every byte it receives. */
export interface RecordingServer {
  port: number;
  /** Connections accepted so far. */
  connections(): number;
  /** Everything received, all connections together. */
  received(): Buffer;
  close(): Promise<void>;
}

/** The code of Postgres' SSLRequest message, sent before the startup message by clients that prefer TLS. */
const SSL_REQUEST_CODE = 80877103;

/**
 * Starts a recording listener on 127.0.0.1. With `postgres`, it answers like a Postgres server that wants a clear-text
 * password (no TLS), then refuses the login: a client sends it exactly the password it would send a real server.
 */
export async function startRecordingServer(options: { postgres?: boolean } = {}): Promise<RecordingServer> {
  let connections = 0;
  const chunks: Buffer[] = [];
  const sockets = new Set<net.Socket>();
  const server = net.createServer((socket) => {
    connections += 1;
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => undefined);
    let pending = Buffer.alloc(0);
    let started = false;
    socket.on('data', (data: Buffer) => {
      chunks.push(data);
      if (!options.postgres) return;
      pending = Buffer.concat([pending, data]);
      for (;;) {
        const headerLength = started ? 5 : 4;
        if (pending.length < headerLength) return;
        const length = pending.readInt32BE(started ? 1 : 0) + (started ? 1 : 0);
        if (pending.length < length) return;
        const message = pending.subarray(0, length);
        pending = pending.subarray(length);
        if (!started && message.readInt32BE(4) === SSL_REQUEST_CODE) {
          socket.write('N');
        } else if (!started) {
          started = true;
          socket.write(authenticationCleartextPassword());
        } else if (message[0] === 'p'.charCodeAt(0)) {
          socket.end(errorResponse('28P01', 'password authentication failed'));
        }
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as net.AddressInfo).port,
    connections: () => connections,
    received: () => Buffer.concat(chunks),
    async close() {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

function authenticationCleartextPassword(): Buffer {
  const message = Buffer.alloc(9);
  message.write('R', 0);
  message.writeInt32BE(8, 1);
  message.writeInt32BE(3, 5);
  return message;
}

function errorResponse(code: string, text: string): Buffer {
  const fields = Buffer.from(`SFATAL\0VFATAL\0C${code}\0M${text}\0\0`);
  const header = Buffer.alloc(5);
  header.write('E', 0);
  header.writeInt32BE(fields.length + 4, 1);
  return Buffer.concat([header, fields]);
}
