// Access and error logs of `fcgate serve` (2 serving threads), as an operator sees them:
// format directives against hand-written lines, escaping of hostile headers, env=!var,
// request ids in the response, the app's environment and every log line, SIGUSR1 rotation,
// a SIGHUP reload that changes the format, a piped log whose command dies, a full disk
// (/dev/full) counted in the metrics with one warning, and lines flushed at SIGTERM.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort, startApp, startServe } from '../threads/cli-process.js';

interface Reply {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

function send(
  port: number,
  path: string,
  headers: Record<string, string> = {},
  method = 'GET',
  body?: string,
): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, method, headers, agent: false }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => {
        text += c;
      });
      res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body: text }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

const read = (file: string): string[] =>
  existsSync(file)
    ? readFileSync(file, 'utf8')
        .split('\n')
        .filter((l) => l !== '')
    : [];

/** Waits (bounded) until `file` has a line matching `re`; returns all its lines. */
async function lineIn(file: string, re: RegExp, timeoutMs = 5000): Promise<string[]> {
  for (const until = Date.now() + timeoutMs; ; ) {
    const lines = read(file);
    if (lines.some((l) => re.test(l))) return lines;
    if (Date.now() > until) throw new Error(`no line ${re} in ${file} within ${timeoutMs} ms:\n${lines.join('\n')}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

test('access and error logs of fcgate serve: formats, ids, rotation, reload, piped and full outputs', {
  timeout: 60_000,
}, async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'fcgate-logs-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const app = await startApp();
  t.after(() => app.proc.stop());
  const [port, admin, dead] = await Promise.all([freePort(), freePort(), freePort()]);
  const access = join(dir, 'access.log'),
    json = join(dir, 'access.json'),
    errors = join(dir, 'error.log'),
    piped = join(dir, 'piped.log');
  const conf = join(dir, 'fcgate.conf');
  const config = (format: string): string => `Listen 127.0.0.1:${port}
AdminListen 127.0.0.1:${admin}
ProxyPass /app/ fcgi://127.0.0.1:${app.port}/
ProxyPass /down/ fcgi://127.0.0.1:${dead}/
SetEnvIf Request_URI "^/app/quiet" dontlog
LogFormat "${format}" mine
CustomLog access.log mine env=!dontlog
CustomLog access.json json
CustomLog "|$head -n 1 >> '${piped}'" "%>s %U"
CustomLog /dev/full common
ErrorLog error.log
LogLevel info
`;
  writeFileSync(
    conf,
    config('%h \\"%r\\" %>s %b %I \\"%{User-Agent}i\\" %L %{UNIQUE_ID}e %{backend}n %{route}n %{error}n'),
  );
  const gw = await startServe(['-c', conf], 2, { FCGATE_LOG_FLUSH_MS: '20' });
  let stopped = false;
  t.after(async () => {
    if (!stopped) await gw.stop();
  });

  // A User-Agent that tries to end its field and start a forged line (HTTP itself forbids CR, LF
  // and ESC in a header: the unit tests cover those), an untrusted X-Request-Id, a body.
  const ua = 'evil"  127.0.0.1 - - [01/Jan/2000] "GET /forged HTTP/1.1" 200 1 [0m';
  const hello = await send(port, '/app/hello?x=1', { 'User-Agent': ua, 'X-Request-Id': 'forged-by-client' });
  assert.equal(hello.status, 200);
  const id1 = hello.headers['x-request-id'] as string;
  assert.match(id1, /^[A-Za-z0-9_-]{8}-[0-9a-z]+$/);
  // Raw bytes a fetch client would refuse: through a socket-level request the header carries a tab and a quote.
  const echo = await send(
    port,
    '/app/echo',
    { 'User-Agent': 'tab\there "q"', 'Content-Type': 'text/plain' },
    'POST',
    'hello body',
  );
  assert.equal(echo.status, 200);
  const id2 = echo.headers['x-request-id'] as string;
  const env = await send(port, '/app/env');
  const id3 = env.headers['x-request-id'] as string;
  assert.match(env.body, new RegExp(`<tr><th>HTTP_X_REQUEST_ID</th><td>${id3}</td></tr>`));
  assert.match(env.body, new RegExp(`<tr><th>UNIQUE_ID</th><td>${id3}</td></tr>`));
  assert.equal((await send(port, '/app/quiet')).status, 404); // env=!dontlog: not in access.log
  const down = await send(port, '/down/x');
  assert.equal(down.status, 503);
  const id5 = down.headers['x-request-id'] as string;
  assert.ok(
    new Set([id1, id2, id3, id5]).size === 4 && !([id1, id2, id3, id5] as string[]).includes('forged-by-client'),
  );

  const appName = `fcgi://127.0.0.1:${app.port}`;
  const lines = await lineIn(access, /"GET \/down\/x HTTP\/1\.1" 503/);
  const mine = (id: string): string => lines.find((l) => l.includes(` ${id} `))!;
  assert.match(
    mine(id1),
    new RegExp(
      `^127\\.0\\.0\\.1 "GET /app/hello\\?x=1 HTTP/1\\.1" 200 31 \\d+ "evil\\\\"  127\\.0\\.0\\.1 - - `
        + `\\[01/Jan/2000\\] \\\\"GET /forged HTTP/1\\.1\\\\" 200 1 \\[0m" ${id1} ${id1} ${appName} /app/ -$`,
    ),
  );
  assert.match(
    mine(id2),
    new RegExp(
      `^127\\.0\\.0\\.1 "POST /app/echo HTTP/1\\.1" 200 \\d+ \\d+ "tab\\\\there \\\\"q\\\\"" ${id2} ${id2} `
        + `${appName} /app/ -$`,
    ),
  );
  assert.match(
    mine(id5),
    new RegExp(
      `^127\\.0\\.0\\.1 "GET /down/x HTTP/1\\.1" 503 \\d+ \\d+ "-" ${id5} ${id5} `
        + `fcgi://127\\.0\\.0\\.1:${dead} /down/ FCGATE_CONNECT_FAILED$`,
    ),
  );
  assert.equal(lines.filter((l) => l.includes('/app/quiet')).length, 0);
  assert.equal(lines.length, 4);
  // %I counts the request line, the headers and the body.
  assert.ok(Number(mine(id2).split(' ')[6]) > 'POST /app/echo HTTP/1.1\r\n\r\n'.length + 10);

  // JSON lines: one object per request, the quiet one included (no condition there).
  const objs = (await lineIn(json, /"uri":"\/down\/x"/)).map((l) => JSON.parse(l) as Record<string, unknown>);
  assert.equal(objs.length, 5);
  const j2 = objs.find((o) => o['request_id'] === id2)!;
  assert.equal(j2['method'], 'POST');
  assert.equal(j2['bytes_in'], 10);
  assert.equal(j2['user_agent'], 'tab\there "q"');
  assert.equal(j2['backend'], appName);
  assert.equal(objs.find((o) => o['request_id'] === id5)!['error'], 'FCGATE_CONNECT_FAILED');

  // The error log: ISO time, area and level, the code, the request id the client saw, the backend, the cause.
  const err = await lineIn(errors, /FCGATE_CONNECT_FAILED/);
  assert.ok(
    err.some((l) =>
      new RegExp(
        `^\\d{4}-\\d\\d-\\d\\dT\\d\\d:\\d\\d:\\d\\d\\.\\d{3}Z \\[proxy_fcgi:error\\] \\[pid \\d+:tid \\d+\\] `
          + `FCGATE_CONNECT_FAILED backend=fcgi://127\\.0\\.0\\.1:${dead} req=${id5} GET /down/x cause="connect `
          + `ECONNREFUSED`,
      ).test(l),
    ),
    err.join('\n'),
  );
  assert.ok(err.some((l) => /\[proxy:notice\] .* FCGATE_PROBE /.test(l)));

  // The piped log's command takes one line and exits: it is restarted, and the error log says so.
  await lineIn(errors, /FCGATE_LOG_PIPE log=\|\$head -n 1 .*exited/);
  // /dev/full: every line dropped, counted, one warning.
  await lineIn(errors, /FCGATE_LOG_DROPPED log=\/dev\/full/);
  const metrics = await (await fetch(`http://127.0.0.1:${admin}/metrics`)).text();
  assert.match(metrics, /^fcgate_log_lines_dropped_total\{log="\/dev\/full"\} 5$/m);
  assert.match(metrics, new RegExp(`^fcgate_log_lines_total\\{log="${access.replace(/[.]/g, '\\.')}"\\} 4$`, 'm'));
  assert.equal(read(errors).filter((l) => l.includes('FCGATE_LOG_DROPPED')).length, 1);

  // SIGUSR1 after logrotate moved the file: new lines go to a new access.log.
  renameSync(access, access + '.1');
  gw.child.kill('SIGUSR1');
  await lineIn(errors, /FCGATE_LOG_REOPENED/);
  const after = await send(port, '/app/hello');
  await lineIn(access, new RegExp(after.headers['x-request-id'] as string));
  assert.equal(read(access).length, 1);
  assert.equal(read(access + '.1').length, 4);

  // SIGHUP with another format: applied to the next requests.
  writeFileSync(conf, config('%m %U %>s reloaded %L'));
  gw.child.kill('SIGHUP');
  await lineIn(errors, /FCGATE_RELOADED/);
  const r2 = await send(port, '/app/hello');
  const id = r2.headers['x-request-id'] as string;
  assert.ok((await lineIn(access, new RegExp(id))).includes(`GET /app/hello 200 reloaded ${id}`));
  assert.ok(read(piped).length >= 1);

  // SIGTERM: the last lines are written before the process ends.
  const last = await send(port, '/app/hello?last=1');
  gw.child.kill('SIGTERM');
  assert.equal(await gw.exited(), 0);
  stopped = true;
  assert.ok(read(access).some((l) => l.includes(last.headers['x-request-id'] as string)));
});
