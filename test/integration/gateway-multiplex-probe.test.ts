// The startup verdict on multiplexing (issue 15 §1): what the built-in app answers to
// FCGI_GET_VALUES and the worker key `multiplex` decide it, and FCGATE_PROBE says it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { logsOf, request, startPair } from './gateway-app-kit.js';

const cases: Array<[string, string, boolean, RegExp]> = [
  [
    'auto, an app that multiplexes: its FCGI_MAX_REQS (4096) shared over its FCGI_MAX_CONNS (256): 16 per connection',
    '',
    true,
    / multiplex=16 requests\/connection$/,
  ],
  ['multiplex=off wins over the app', ' multiplex=off', true, / multiplex=off$/],
  ['auto, an app that answers FCGI_MPXS_CONNS=0 (PHP-FPM)', '', false, / multiplex=off$/],
  ['multiplex=on wins over FCGI_MPXS_CONNS=0', ' multiplex=on', false, / multiplex=16 requests\/connection$/],
  ['disablereuse=on: never multiplexed', ' disablereuse=on multiplex=on', true, / multiplex=off$/],
];

for (const [name, keys, mpxsConns, line] of cases) {
  test(`${name}; requests are served`, async () => {
    const p = await startPair({
      config: (port) => `ProxyPass / fcgi://127.0.0.1:${port}/${keys}\n`,
      app: { mpxsConns },
    });
    try {
      const probe = logsOf(p.gw, 'FCGATE_PROBE');
      assert.equal(probe.length, 1, p.gw.logs.join('\n'));
      assert.match(probe[0]!, line);
      const r = await request(p.gw.base, '/hello', { agent: p.agent });
      assert.equal(r.status, 200);
    } finally {
      await p.stop();
    }
  });
}
