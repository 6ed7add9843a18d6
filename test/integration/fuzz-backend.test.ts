// Fuzz of the backend side (issue 9): random and damaged FastCGI response streams
// (test/helpers/fcgi-fuzz.ts) written by the hostile app, in pieces and with waits, to the
// real `fcgate serve` (2 serving threads, read timeout 1 s) for GET and POST requests. Each
// case must end in a well-formed response or a close within a bound; a clean stream gives the
// client exactly its status and body; a canary through the same backend keeps getting its own
// answer (never another request's bytes); no thread crashes, no FCGATE_INTERNAL; at the end
// nothing is in flight and RSS and open fds are back near the baseline. Seeded and bounded
// like fuzz-front.test.ts (FCGATE_FUZZ_COUNT, FCGATE_FUZZ_SEED, FCGATE_FUZZ_CONCURRENCY);
// Records after END_REQUEST are among the damage (issue 8 §3); FCGATE_FUZZ_AFTER_END=0 leaves them out.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { HostileApp, answer, type HostileRequest, type Step } from '../helpers/hostile-app.js';
import { fcgiCase, FUZZ_BACKEND_TIMEOUT_MS } from '../helpers/fcgi-fuzz.js';
import { RawConnection, buildRequest } from '../helpers/raw-http.js';
import { freePort } from '../threads/cli-process.js';
import { alarming, compareToBaseline, fuzzSettings, measure, report, runCases, startGateway } from './fuzz-kit.js';

/**
 * Issue 8 §3 (fixed): bytes that follow an END_REQUEST — written after it on purpose, or left
 * over when flipped bytes made the gateway see an early one — must never reach the next
 * request on the kept connection. So damaged and clean cases share one backend, and records
 * after END_REQUEST are among the damage. FCGATE_FUZZ_AFTER_END=0 puts damaged cases on a
 * backend of their own and leaves that damage out.
 */
const SHARED = process.env['FCGATE_FUZZ_AFTER_END'] !== '0';
const FUZZ = { afterEnd: SHARED };

test('fuzz: random and damaged FastCGI streams from a hostile app (no crash, every case answered or closed, canary, RSS and fds)', async (t) => {
  const s = fuzzSettings({ count: 2000, seed: 20_260_510, concurrency: 24, budgetMs: 45_000 });
  const handler = (req: HostileRequest): Step[] =>
    req.path.endsWith('/canary')
      ? [{ do: 'waitStdin' }, ...answer(`canary ${req.query.get('n')}\n`)]
      : fcgiCase(Number(req.query.get('seed')), { ...FUZZ, id: req.id }).steps;
  const app = await HostileApp.start({ handler });
  const cleanApp = SHARED ? app : await HostileApp.start({ handler });
  const port = await freePort();
  const timeout = `timeout=${FUZZ_BACKEND_TIMEOUT_MS / 1000}`;
  const g = await startGateway(
    () =>
      `Listen 127.0.0.1:${port}\nProxyPass /clean/ ${cleanApp.url}/ ${timeout}\nProxyPass / ${app.url}/ ${timeout}\n`,
    2,
  );
  let canaries = 0;
  try {
    const canary = async (): Promise<string | null> => {
      const n = ++canaries;
      const c = await RawConnection.connect(port);
      try {
        await c.send(buildRequest({ target: `/clean/canary?n=${n}`, headers: [['Host', 'fuzz.example']] }));
        const v = await c.read({ timeoutMs: 5000, keepBody: true });
        const want = `canary ${n}\n`;
        return v.response?.status === 200 && v.response.body.toString('latin1') === want
          ? null
          : `wanted 200 ${JSON.stringify(want)}, got ${v.response?.status ?? v.error} ${JSON.stringify(v.response?.body.subarray(0, 80).toString('latin1') ?? '')}`;
      } finally {
        c.close();
      }
    };
    for (let i = 0; i < 60; i++) assert.equal(await canary(), null);
    const before = await measure(g);
    const from = g.proc.lines.length;

    const result = await runCases(
      s,
      async (seed) => {
        const c = fcgiCase(seed, FUZZ);
        const conn = await RawConnection.connect(port);
        try {
          const headers: Array<[string, string]> = [['Host', 'fuzz.example']];
          if (c.body !== null) headers.push(['Content-Length', String(c.body.length)]);
          const target = `${c.expect !== null ? '/clean' : ''}/fz?seed=${seed}`;
          await conn.send(
            buildRequest({ method: c.method, target, headers, ...(c.body !== null ? { body: c.body } : {}) }),
          );
          // The gateway answers within its read timeout (1 s) after the app's last byte: 4 s of silence is a hang.
          const v = await conn.converse({ quietMs: 4000, finMs: 2000, timeoutMs: 30_000, expect: 1 });
          const r = v.responses[0];
          const outcome =
            r !== undefined ? `${r.status}` : v.truncated ? 'truncated' : v.end === 'closed' ? 'closed' : v.end;
          if (v.end !== 'closed' && r === undefined)
            return { outcome, problem: `no answer and no close within bounds (${v.end}, ${v.ms} ms)`, what: c.what };
          if (v.error !== null) return { outcome, problem: `malformed response: ${v.error}`, what: c.what };
          // (A 500 may be the app's own Status: internal errors show as FCGATE_INTERNAL lines, checked below.)
          if (c.expect !== null) {
            if (r === undefined || r.status !== c.expect.status || !r.complete || r.sha256 !== c.expect.sha256) {
              const logged = g.proc.lines.filter((l) => l.includes(`fz?seed=${seed} `)).map((l) => l.slice(0, 300));
              return {
                outcome,
                problem: `clean stream: expected ${c.expect.status} with ${c.expect.bytes} body bytes, got ${r?.status ?? 'nothing'}${r ? ` with ${r.bodyBytes} bytes${r.complete ? '' : ' (incomplete)'}${r.sha256 === c.expect.sha256 ? '' : ' (other bytes)'}` : ''}; gateway log: ${logged.join(' | ') || 'nothing'}`,
                what: c.what,
              };
            }
          }
          return { outcome, problem: null, what: c.what };
        } finally {
          conn.close();
        }
      },
      canary,
    );

    const after = await measure(g);
    const alarms = alarming(g.proc.lines.slice(from));
    const text = report('backend fuzz', s, result, before, after, 'fuzz-backend');
    for (const line of text.split('\n')) t.diagnostic(line);
    for (const a of alarms.slice(0, 5)) t.diagnostic(`log: ${a}`);
    t.diagnostic(
      `hostile app: ${app.accepted + (SHARED ? 0 : cleanApp.accepted)} connections accepted, protocol errors in what the gateway sent: ${app.protocolErrors.length + (SHARED ? 0 : cleanApp.protocolErrors.length)}${SHARED ? ' (one backend for all cases)' : ''}`,
    );
    assert.deepEqual(alarms, [], 'a thread crashed or an internal error was logged');
    assert.deepEqual(
      [...app.protocolErrors, ...(SHARED ? [] : cleanApp.protocolErrors)],
      [],
      'the gateway sent the app something that is not FastCGI',
    );
    assert.deepEqual(
      result.failures.map((f) => f.seed),
      [],
      text,
    );
    assert.deepEqual(result.canaryFailures, [], text);
    assert.deepEqual(compareToBaseline(before, after, { fdSlack: 8, rssSlack: 96 * 1048576 }), [], text);
  } finally {
    await g.stop();
    await app.close();
    if (!SHARED) await cleanApp.close();
  }
});
