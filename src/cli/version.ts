// `fcgate --version`: fcgate's version, the Node.js that runs it, and the uWebSockets.js
// build it loaded (or why it cannot).
import { readFileSync } from 'node:fs';
import { uwsBuild, uwsVersionText } from '../front/uws.js';
import { readVariable } from '../tuning.js';
import { loadUwsFor } from './serve.js';

/** fcgate's version, from the package.json beside dist/ (in a checkout and in the npm package). */
export const VERSION = (
  JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as { version: string }
).version;

/** The --version text, and whether uWebSockets.js loaded. */
export function versionText(): { text: string; ok: boolean } {
  const lines = [
    `fcgate ${VERSION}`,
    `Node.js ${process.version} (${process.platform}-${process.arch}, ABI ${process.versions.modules})`,
  ];
  let ok = true;
  try {
    loadUwsFor({ UWS_HTTP_MAX_HEADERS_SIZE: readVariable('UWS_HTTP_MAX_HEADERS_SIZE') });
    lines.push(uwsVersionText(), `  max_headers_size=${uwsBuild().maxHeadersSize}`);
  } catch (err) {
    ok = false;
    lines.push(`uWebSockets.js: ${(err as Error).message}`);
  }
  return { text: lines.join('\n') + '\n', ok };
}
