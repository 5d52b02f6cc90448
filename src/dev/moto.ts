import { spawn, type ChildProcess } from 'node:child_process';
import { findExecutable } from './executables';
import { waitForChildServer } from './child-server';
import { freePort } from './ports';

/** A moto S3 server (in memory) on `port`, else a free local port, for tests and local runs without MinIO. */
export async function startMotoServer(
  options: {
    port?: number;
    /** In a process group of its own, so that Ctrl-C in a terminal leaves it to whoever started it to stop. */
    ownProcessGroup?: boolean;
  } = {},
): Promise<{ endpoint: string; stop: () => Promise<void> }> {
  const executable = findExecutable('moto_server', 'MOTO_SERVER_PATH');
  if (!executable) {
    throw new Error("moto_server not found: pip install 'moto[server]' (or set MOTO_SERVER_PATH)");
  }
  const port = options.port ?? (await freePort());
  const child: ChildProcess = spawn(executable, ['-H', '127.0.0.1', '-p', String(port)], {
    stdio: ['ignore', 'ignore', 'pipe'],
    detached: options.ownProcessGroup ?? false,
  });
  // Out of the terminal's reach, it must not outlive this process when that ends without stopping it.
  const killOnExit = () => child.kill('SIGKILL');
  if (options.ownProcessGroup) process.once('exit', killOnExit);
  await waitForChildServer(child, port, 'moto_server');
  return {
    endpoint: `http://127.0.0.1:${port}`,
    stop: () =>
      new Promise((resolve) => {
        const stopped = () => {
          process.removeListener('exit', killOnExit);
          resolve();
        };
        if (child.exitCode !== null || child.signalCode !== null) return stopped();
        child.once('exit', stopped);
        child.kill('SIGTERM');
      }),
  };
}
