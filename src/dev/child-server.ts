import type { ChildProcess } from 'node:child_process';
import { waitForPort } from './ports';

/**
 * Waits until a server just spawned as `child` accepts connections on `port`. When it exits first, or never listens,
 * it is killed and the error carries the end of what it wrote to stderr (spawn it with stderr piped).
 */
export async function waitForChildServer(child: ChildProcess, port: number, name: string): Promise<void> {
  let stderr = '';
  child.stderr?.on('data', (data: Buffer) => {
    stderr = (stderr + data.toString()).slice(-4000);
  });
  try {
    await Promise.race([
      waitForPort(port),
      new Promise((_, reject) =>
        child.once('exit', (code) => reject(new Error(`${name} exited (${code}): ${stderr}`))),
      ),
    ]);
  } catch (error) {
    child.kill('SIGKILL');
    throw error;
  }
}
