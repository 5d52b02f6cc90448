import path from 'node:path';
import { buildConsole, DIST } from '../src/dev/build';

/** `npm run build:console`: only the web console, into dist/console (`npm run build` builds it with the rest). */
buildConsole()
  .then(() => console.log(`Wrote ${path.relative(process.cwd(), DIST.console)}`))
  .catch((error: unknown) => {
    console.error(error);
    process.exit(1);
  });
