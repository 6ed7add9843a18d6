// mod_env / mod_setenvif: compiling SetEnv, UnsetEnv, SetEnvIf, SetEnvIfNoCase,
// BrowserMatch at config time, and applying them to one request's env map.
// Which sections apply, and in what order, is the router's business.

import type { EnvAssignment, EnvDirective } from './model.js';
import type { RequestSnapshot } from '../request.js';
import { compileRegex } from './expression.js';

type SetIf = Extract<EnvDirective, { op: 'setif' }>;

const SPECIAL: Record<string, SetIf['source']> = {
  remote_host: 'remote-host',
  remote_addr: 'remote-addr',
  server_addr: 'server-addr',
  request_method: 'method',
  request_protocol: 'protocol',
  request_uri: 'uri',
};

// mod_setenvif treats an attribute containing one of these as a regex over header names.
const REGEX_CHARS = /[\\^$.[\]|()*+?{}]/;

/**
 * Compiles `SetEnvIf attribute regex [!]var[=value] …`. Throws Error with a sentence.
 * Attributes: Remote_Host (the client address: fcgate does no DNS lookups),
 * Remote_Addr, Server_Addr, Request_Method, Request_Protocol, Request_URI (the raw path
 * without the query, as Apache's r->uri before decoding), any header name
 * (case-insensitive; when the request has no such header, an env variable of that
 * name set by an earlier SetEnvIf), or a regex over header names.
 */
export function compileSetEnvIf(attribute: string, pattern: string, assigns: string[], noCase: boolean): SetIf {
  if (assigns.length === 0) throw new Error('expected an attribute, a regex and at least one variable');
  const regex = compileRegex(pattern, noCase ? 'i' : '');
  const special = SPECIAL[attribute.toLowerCase()];
  let source: SetIf['source'];
  let headerRegex: RegExp | null = null;
  if (special !== undefined) source = special;
  else if (REGEX_CHARS.test(attribute)) {
    source = 'header-regex';
    headerRegex = compileRegex(attribute, 'i');
  } else source = 'header';
  return {
    op: 'setif',
    attribute,
    source,
    headerName: attribute.toLowerCase(),
    headerRegex,
    regex,
    assignments: assigns.map(parseAssignment),
  };
}

/** `var=value`, `var` (= "1"), `!var` (unset). */
function parseAssignment(word: string): EnvAssignment {
  if (word.startsWith('!')) {
    const name = word.slice(1);
    if (name === '' || name.includes('=')) throw new Error(`bad variable "${word}" (!NAME unsets NAME)`);
    return { name, value: null };
  }
  const eq = word.indexOf('=');
  const name = eq < 0 ? word : word.slice(0, eq);
  if (name === '') throw new Error(`bad variable "${word}"`);
  return { name, value: eq < 0 ? '1' : word.slice(eq + 1) };
}

/** `$0`..`$9` from the match, `\x` → x (Apache's ap_pregsub). */
function substituteCaptures(tpl: string, m: RegExpExecArray): string {
  if (!tpl.includes('$') && !tpl.includes('\\')) return tpl;
  let out = '';
  for (let i = 0; i < tpl.length; i++) {
    const c = tpl[i]!;
    if (c === '$' && i + 1 < tpl.length && tpl[i + 1]! >= '0' && tpl[i + 1]! <= '9') {
      out += m[tpl.charCodeAt(++i) - 48] ?? '';
    } else if (c === '\\' && i + 1 < tpl.length) {
      out += tpl[++i];
    } else out += c;
  }
  return out;
}

function attributeValue(d: SetIf, req: RequestSnapshot, env: Map<string, string>): string | undefined {
  switch (d.source) {
    case 'remote-host':
    case 'remote-addr':
      return req.remoteAddress;
    case 'server-addr':
      return req.localAddress;
    case 'method':
      return req.method;
    case 'protocol':
      return req.protocol;
    case 'uri':
      return req.path;
    case 'header': {
      const h = req.headers;
      for (let i = 0; i < h.length; i++) if (h[i]![0] === d.headerName) return h[i]![1];
      return env.get(d.attribute);
    }
    case 'header-regex':
      return undefined;
  }
}

function assign(d: SetIf, m: RegExpExecArray, env: Map<string, string>): void {
  for (const a of d.assignments) {
    if (a.value === null) env.delete(a.name);
    else env.set(a.name, substituteCaptures(a.value, m));
  }
}

/** Applies one SetEnvIf to `env`. */
export function applySetEnvIf(d: SetIf, req: RequestSnapshot, env: Map<string, string>): void {
  if (d.source === 'header-regex') {
    // Every header whose name matches is tried; the first value that matches wins.
    for (const [name, value] of req.headers) {
      if (!d.headerRegex!.test(name)) continue;
      const m = d.regex.exec(value);
      if (m !== null) {
        assign(d, m, env);
        return;
      }
    }
    return;
  }
  const v = attributeValue(d, req, env);
  if (v === undefined) return;
  const m = d.regex.exec(v);
  if (m !== null) assign(d, m, env);
}

/** Applies SetEnv / UnsetEnv (phase 2: mod_env runs in fixups, after SetEnvIf). */
export function applySetEnv(d: EnvDirective, env: Map<string, string>): void {
  if (d.op === 'set') env.set(d.name, d.value);
  else if (d.op === 'unset') for (const n of d.names) env.delete(n);
}
