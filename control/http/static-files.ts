import { readdirSync, readFileSync } from 'node:fs';
import { extname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The compiled demo page and browser client: dist/control/web next to this module's folder. */
const WEB_DIR = fileURLToPath(new URL('../web/', import.meta.url));

const CONTENT_TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.map': 'application/json',
};

export interface StaticFile {
  contentType: string;
  body: Buffer;
}

/**
 * The files served over HTTP, read once at start: every .html, .css, .js and
 * .map file of the web folder, by URL path. "/" is the demo page. Nothing
 * else on disk is reachable.
 */
export function loadStaticFiles(dir = WEB_DIR): Map<string, StaticFile> {
  const files = new Map<string, StaticFile>();
  for (const name of readdirSync(dir)) {
    const contentType = CONTENT_TYPES[extname(name)];
    if (!contentType) continue;
    files.set(`/${name}`, { contentType, body: readFileSync(join(dir, name)) });
  }
  const index = files.get('/index.html');
  if (index) files.set('/', index);
  return files;
}
