import path from 'node:path';
import { buildDist, DIST } from '../src/dev/build';

/** `npm run build`: dist/worker.js, dist/api.js and dist/workflow-bundle.js, what production runs (see src/dev/build.ts). */
buildDist()
  .then(() => console.log(`Wrote ${Object.values(DIST).map((file) => path.relative(process.cwd(), file)).join(', ')}`))
  .catch((error: unknown) => {
    console.error(error);
    process.exit(1);
  });
