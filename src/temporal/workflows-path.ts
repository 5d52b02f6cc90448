import path from 'node:path';

/** The workflows entry point the SDK bundles (kept apart from the worker so bundling needs no activity code). */
export const WORKFLOWS_PATH = path.resolve(__dirname, '../../workflows/index.ts');
