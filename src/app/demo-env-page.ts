// The demo app's HTML page: the CGI environment it received, as a table, with links
// to the other demo routes (relative to where the app is mounted). Rendering only.
import type { FcgiRequest } from './responder-exchange.js';
import type { AppTarget } from './target-path.js';

const ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

/** Escapes text for HTML element content and quoted attribute values. */
function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ESCAPES[c]!);
}

const LINKS: ReadonlyArray<readonly [string, string]> = [
  ['hello', 'plain text greeting'],
  ['env', 'this page'],
  ['bytes?n=1048576', '1 MiB of a fixed pattern, streamed (n up to 2^40)'],
  ['echo', 'POST a body: answers its length and SHA-256, hashed while streaming'],
  ['slow?ms=1500', 'answers after a delay'],
  ['stream?chunks=5&interval=500', 'chunks over time (send Accept: text/event-stream for SSE)'],
];

export function renderEnvPage(req: FcgiRequest, target: AppTarget): string {
  const names = [...req.params.keys()].sort();
  let rows = '';
  for (const name of names) {
    rows += `<tr><th>${escapeHtml(name)}</th><td>${escapeHtml(req.params.get(name)!)}</td></tr>\n`;
  }
  let links = '';
  for (const [href, what] of LINKS) {
    const url = escapeHtml(`${target.base}/${href}`);
    links += `<li><a href="${url}">${escapeHtml(href)}</a> — ${escapeHtml(what)}</li>\n`;
  }
  return `<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>fcgate demo app</title>
<style>
body{font-family:system-ui,sans-serif;margin:2em;max-width:70em}
table{border-collapse:collapse;width:100%}
th,td{border:1px solid #ccc;padding:.25em .5em;text-align:left;vertical-align:top}
th{background:#f4f4f4;white-space:nowrap}td{font-family:monospace;word-break:break-all}
</style></head>
<body>
<h1>fcgate demo FastCGI app</h1>
<p>Request ${req.id} on backend connection ${req.connectionId} (request ${req.requestOnConnection} on it,
keep-conn ${req.keepConn ? 'on' : 'off'}). App path <code>${escapeHtml(target.path)}</code>,
mounted at <code>${escapeHtml(target.base === '' ? '/' : target.base)}</code>.</p>
<h2>Endpoints</h2>
<ul>
${links}</ul>
<h2>CGI environment (${names.length} parameters)</h2>
<table>
${rows}</table>
</body></html>
`;
}
