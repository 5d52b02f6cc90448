import { existsSync } from 'node:fs';
import path from 'node:path';
import fastifyStatic from '@fastify/static';
import type { FastifyInstance } from 'fastify';

/** Where the web console is served. */
export const CONSOLE_PREFIX = '/ui/';

/**
 * Where `npm run build` (src/dev/build.ts) writes the console's static files: dist/console of the checkout, which is
 * beside the compiled API (dist/api.js) and two folders up from this file when it runs from source.
 */
export function consoleAssetsDirectory(): string | null {
  const candidates = [path.join(__dirname, 'console'), path.resolve(__dirname, '../../dist/console')];
  return candidates.find((directory) => existsSync(path.join(directory, 'index.html'))) ?? null;
}

/**
 * Serves the web console (a static single-page app: its routes are in the URL's fragment, so every page is
 * index.html) under /ui/ (and /ui: the server ignores trailing slashes, and the assets' URLs are absolute). Without a
 * build, /ui/ says how to make one instead of a bare 404.
 */
export async function registerConsole(app: FastifyInstance, directory = consoleAssetsDirectory()): Promise<void> {
  if (!directory) {
    app.get(CONSOLE_PREFIX, { schema: { hide: true } }, (_request, reply) =>
      reply
        .code(503)
        .type('text/plain; charset=utf-8')
        .send('The web console is not built: run `npm run build` (or `npm run dev`), then reload.'),
    );
    return;
  }
  await app.register(fastifyStatic, {
    root: directory,
    prefix: CONSOLE_PREFIX,
    // Hashed file names (assets/index-1a2b3c.js) may be cached for good; index.html must be fetched each time.
    setHeaders: (response, file) => {
      response.header(
        'cache-control',
        file.includes(`${path.sep}assets${path.sep}`) ? 'public, max-age=31536000, immutable' : 'no-cache',
      );
    },
    schemaHide: true,
  });
  // With trailing slashes ignored, /ui and /ui/ are one route, which the plugin's /ui/* does not cover.
  app.get('/ui', { schema: { hide: true } }, (_request, reply) => reply.header('cache-control', 'no-cache').sendFile('index.html'));
}
