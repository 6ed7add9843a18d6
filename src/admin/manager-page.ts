// The balancer manager's HTML page, rendered on the server from the summed stats: one
// table per balancer (member, state, requests, busy, traffic, last error, health-check
// history) with buttons that post plain forms, so it works without JavaScript. A tiny
// script only refreshes the page every few seconds while nobody is typing. What the
// forms may change and who may send them is manager.ts's business; adminNav() is the
// link bar every admin page shares.
import type { MemberHealth } from '../balancer/health-check.js';
import type { BalancerStats, MemberStats } from '../balancer/stats.js';

const esc = (s: string): string => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

function bytes(n: number): string {
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KiB`;
  if (n < 1024 ** 3) return `${(n / 1024 ** 2).toFixed(1)} MiB`;
  return `${(n / 1024 ** 3).toFixed(2)} GiB`;
}

function ago(at: number, now: number): string {
  if (at === 0) return '';
  const s = Math.max(0, Math.round((now - at) / 1000));
  return s < 60 ? `${s} s ago` : s < 3600 ? `${Math.round(s / 60)} min ago` : `${Math.round(s / 3600)} h ago`;
}

const STATE_LABEL: Record<MemberStats['state'], string> = {
  ok: 'OK',
  error: 'Error',
  disabled: 'Disabled',
  stopped: 'Stopped',
  draining: 'Draining',
  standby: 'Hot standby',
  hcfail: 'Health check failing',
};

function actionButton(slot: number, action: string, label: string, csrf: string, primary = false): string {
  return (
    `<form method="post" action="/members/${slot}" class="inline"><input type="hidden" name="csrf" `
    + `value="${esc(csrf)}">`
    + (`<input type="hidden" name="action" value="${action}"><button type="submit" data-action="${action}" `
      + `data-slot="${slot}"${primary ? ' class="primary"' : ''}>${label}</button></form>`)
  );
}

function healthCell(h: MemberHealth | undefined, now: number): string {
  if (h === undefined) return '<span class="muted">no active check</span>';
  const dots = h.history
    .map(
      (r) =>
        `<span class="dot ${r.ok ? 'pass' : 'fail'}" `
        + `title="${esc(`${new Date(r.at).toISOString()} ${r.ok ? 'pass' : 'FAIL'} ${r.ms} ms: ${r.detail}`)}"></span>`,
    )
    .join('');
  const last = h.history[h.history.length - 1];
  return (
    `<div>${esc(h.method.toUpperCase())} every ${h.intervalMs / 1000} `
    + `s${last ? `, last ${ago(last.at, now)}: ${esc(last.detail)}` : ''}</div><div class="dots">${dots}</div>`
  );
}

function memberRow(m: MemberStats, health: MemberHealth | undefined, csrf: string, now: number): string {
  const canEnable = m.state === 'disabled' || m.state === 'stopped' || m.status.includes('N');
  const buttons = [
    canEnable ? actionButton(m.slot, 'enable', 'Enable', csrf, true) : '',
    !m.status.includes('N') && m.state !== 'disabled' && m.state !== 'stopped'
      ? actionButton(m.slot, 'drain', 'Drain', csrf)
      : '',
    m.state !== 'disabled' ? actionButton(m.slot, 'disable', 'Disable', csrf) : '',
  ].join('');
  const lf =
    `<form method="post" action="/members/${m.slot}" class="inline lf"><input type="hidden" name="csrf" `
    + `value="${esc(csrf)}">`
    + (`<input type="hidden" name="action" value="loadfactor"><input name="loadfactor" type="number" min="1" `
      + `max="100" step="0.01" value="${m.loadFactor}" aria-label="load factor of ${esc(m.name)}">`)
    + `<button type="submit" data-action="loadfactor" data-slot="${m.slot}">Set</button></form>`;
  const retry = m.errorUntil > now ? `, retry in ${Math.ceil((m.errorUntil - now) / 1000)} s` : '';
  const error =
    m.lastError === '' ? '' : `${esc(m.lastError)}<br><span class="muted">${ago(m.lastErrorAt, now)}${retry}</span>`;
  return (
    `<tr data-slot="${m.slot}" data-member="${esc(m.name)}" data-state="${m.state}">`
    + `<td><strong>${esc(m.name)}</strong>${m.route ? `<br><span class="muted">route ${esc(m.route)}</span>` : ''}</td>`
    + `<td><span class="state ${m.state}">${STATE_LABEL[m.state]}</span>`
    + `${m.status ? `<br><span class="muted">${esc(m.status)}</span>` : ''}</td>`
    + `<td class="num">${m.elected}</td><td class="num">${m.busy}</td>`
    + `<td class="num">${bytes(m.bytesIn)} / ${bytes(m.bytesOut)}</td>`
    + `<td class="num">${m.lbSet}</td><td>${lf}</td>`
    + `<td class="err">${error}</td><td>${healthCell(health, now)}</td><td class="actions">${buttons}</td></tr>`
  );
}

/** The links between the admin pages; a logout button for a browser session. */
export function adminNav(current: string, loggedIn: boolean): string {
  const link = (href: string, label: string): string =>
    href === current ? `<strong>${label}</strong>` : `<a href="${href}">${label}</a>`;
  return (
    `<nav style="margin-bottom:.8em">${link('/', 'Balancer manager')} · `
    + `${link('/server-status', 'Server status')} · ${link('/metrics', 'Metrics')}`
    + (loggedIn
      ? ' · <form method="post" action="/logout" style="display:inline"><button type="submit">Log out</button></form>'
      : '')
    + '</nav>'
  );
}

/** The whole page. `notice` is a one-line message after an action (already plain text). */
export function renderManagerPage(
  balancers: readonly BalancerStats[],
  health: readonly MemberHealth[],
  csrf: string,
  now: number,
  notice: string | null,
  loggedIn = false,
): string {
  const bySlot = new Map(health.map((h) => [h.slot, h]));
  const sections = balancers
    .map((b) => {
      const total = b.members.reduce((n, m) => n + m.elected, 0);
      const ok = b.members.filter((m) => m.state === 'ok' || m.state === 'standby' || m.state === 'draining').length;
      return (
        `<section class="balancer"><h2>${esc(b.name)}</h2>`
        + `<p class="muted">lbmethod=${esc(b.lbMethod)}`
        + `${b.stickySession ? ` · stickysession=${esc(b.stickySession)}` : ''} · maxattempts=${b.maxAttempts}`
        + ` · ${ok} of ${b.members.length} members serving · ${total} requests</p>`
        + '<table><thead><tr><th>Member</th><th>State</th><th>Requests</th><th>Busy</th>'
        + '<th>Traffic in / out</th><th>Set</th><th>Load factor</th><th>Last error</th>'
        + '<th>Health checks</th><th></th></tr></thead><tbody>'
        + b.members.map((m) => memberRow(m, bySlot.get(m.slot), csrf, now)).join('')
        + '</tbody></table></section>'
      );
    })
    .join('');
  return `<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>fcgate balancer manager</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>
body{font:14px/1.4 system-ui,sans-serif;margin:1.5em;color:#1b1f24;background:#fafbfc}
h1{font-size:1.4em;margin:0 0 .2em}h2{font-size:1.15em;margin:1.2em 0 .2em}
table{border-collapse:collapse;width:100%;background:#fff;box-shadow:0 1px 2px #0002}
th,td{padding:.45em .6em;border-bottom:1px solid #e3e6ea;text-align:left;vertical-align:top}
th{background:#f0f2f5;font-weight:600;font-size:.9em}
.num{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}
.muted{color:#6a737d;font-size:.9em}.err{max-width:22em;color:#b31d28;font-size:.9em}
.state{display:inline-block;padding:.1em .5em;border-radius:1em;font-weight:600;font-size:.9em}
.ok{background:#dcffe4;color:#176f2c}.error,.hcfail{background:#ffdce0;color:#b31d28}
.disabled,.stopped{background:#e1e4e8;color:#444d56}.draining{background:#fff5b1;color:#735c0f}
.standby{background:#dbedff;color:#0b5cad}
.dot{display:inline-block;width:.7em;height:.7em;margin-right:2px;border-radius:2px}
.dot.pass{background:#34d058}.dot.fail{background:#d73a49}
form.inline{display:inline}
button{margin:0 .25em .25em 0;padding:.25em .7em;border:1px solid #c8ccd1;border-radius:4px;background:#fff;
cursor:pointer}
button.primary{background:#2ea44f;color:#fff;border-color:#2a8f47}
.lf input{width:5em}.notice{padding:.5em .8em;background:#dbedff;border-radius:4px;display:inline-block}
</style></head><body>
${adminNav('/', loggedIn)}
<h1>fcgate balancer manager</h1>
<p class="muted">Changes apply to every serving thread at once and last until the next restart or reload.
Updated ${new Date(now).toISOString()}.</p>
${notice === null ? '' : `<p class="notice" role="status">${esc(notice)}</p>`}
${sections || '<p>No balancers are configured.</p>'}
<script>
// Refresh every 5 s unless the user is typing in a load-factor field.
setInterval(function () {
  var a = document.activeElement;
  if (!a || a.tagName !== 'INPUT') location.replace('/');
}, 5000);
</script>
</body></html>
`;
}
