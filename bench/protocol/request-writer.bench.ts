// Bench: the request preamble (BEGIN_REQUEST + PARAMS + empty PARAMS + empty STDIN)
// for a PHP-FPM-sized CGI environment, writePreamble against a naive encoder that
// makes a Buffer per length/name/value and Buffer.concat's pairs and records.
// Not timed here: building the environment itself (that is cgi/'s bench).
import { HEADER_LEN, MAX_CONTENT, RecordType, Role, writePreamble } from '../../src/protocol/index.js';
import { assertSameBytes, runSuite } from '../harness.js';

/** A GET to a PHP front controller as Apache's mod_proxy_fcgi would describe it (31 pairs). */
const ENV: Record<string, string> = {
  GATEWAY_INTERFACE: 'CGI/1.1',
  SERVER_SOFTWARE: 'fcgate/0.1.0',
  SERVER_NAME: 'shop.example.com',
  SERVER_ADDR: '10.0.3.17',
  SERVER_PORT: '443',
  SERVER_PROTOCOL: 'HTTP/1.1',
  SERVER_ADMIN: 'webmaster@example.com',
  REQUEST_SCHEME: 'https',
  HTTPS: 'on',
  REMOTE_ADDR: '203.0.113.54',
  REMOTE_PORT: '51834',
  REQUEST_METHOD: 'GET',
  REQUEST_URI: '/catalog/search.php?q=espresso+machine&page=2&sort=price_asc',
  QUERY_STRING: 'q=espresso+machine&page=2&sort=price_asc',
  SCRIPT_NAME: '/catalog/search.php',
  SCRIPT_FILENAME: 'proxy:fcgi://127.0.0.1:9000/srv/www/shop/public/catalog/search.php',
  DOCUMENT_ROOT: '/srv/www/shop/public',
  CONTEXT_PREFIX: '',
  CONTEXT_DOCUMENT_ROOT: '/srv/www/shop/public',
  PATH: '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin',
  HTTP_HOST: 'shop.example.com',
  HTTP_CONNECTION: 'keep-alive',
  HTTP_USER_AGENT:
    'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) '
    + 'Chrome/126.0.0.0 Safari/537.36',
  HTTP_ACCEPT:
    'text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,'
    + 'image/apng,*/*;q=0.8,application/signed-exchange;v=b3;q=0.7',
  HTTP_ACCEPT_ENCODING: 'gzip, deflate, br, zstd',
  HTTP_ACCEPT_LANGUAGE: 'en-GB,en;q=0.9,fr;q=0.8',
  HTTP_REFERER: 'https://shop.example.com/catalog/search.php?q=espresso+machine',
  HTTP_COOKIE: 'PHPSESSID=4f9c2a7be1d04c6f8a3e5b2d7c1a9e60; cart=3; consent=analytics%3D0%26ads%3D0',
  HTTP_UPGRADE_INSECURE_REQUESTS: '1',
  HTTP_SEC_FETCH_MODE: 'navigate',
  HTTP_X_FORWARDED_FOR: '198.51.100.7',
};
const PARAMS: string[] = Object.entries(ENV).flat();
const ID = 1;

/** The naive encoder: what one writes without measuring first. */
function naivePreamble(id: number, params: readonly string[]): Buffer {
  const lengthBytes = (n: number): Buffer => {
    if (n <= 127) return Buffer.from([n]);
    const b = Buffer.alloc(4);
    b.writeUInt32BE((n | 0x80000000) >>> 0, 0);
    return b;
  };
  const header = (type: number, length: number, padding: number): Buffer =>
    Buffer.from([1, type, id >> 8, id & 0xff, length >> 8, length & 0xff, padding, 0]);
  const pairs: Buffer[] = [];
  for (let i = 0; i < params.length; i += 2) {
    const name = Buffer.from(params[i]!, 'utf8');
    const value = Buffer.from(params[i + 1]!, 'utf8');
    pairs.push(Buffer.concat([lengthBytes(name.length), lengthBytes(value.length), name, value]));
  }
  const content = Buffer.concat(pairs);
  const records: Buffer[] = [
    header(RecordType.BeginRequest, 8, 0),
    Buffer.from([0, Role.Responder, 1, 0, 0, 0, 0, 0]), // role, FLAG_KEEP_CONN, reserved
  ];
  for (let at = 0; at < content.length; at += MAX_CONTENT) {
    const part = content.subarray(at, at + MAX_CONTENT);
    const padding = (8 - (part.length % 8)) % 8;
    records.push(Buffer.concat([header(RecordType.Params, part.length, padding), part, Buffer.alloc(padding)]));
  }
  records.push(header(RecordType.Params, 0, 0), header(RecordType.Stdin, 0, 0));
  return Buffer.concat(records);
}

const candidate = (): Buffer => writePreamble(ID, PARAMS, { keepConn: true, endStdin: true });
const baseline = (): Buffer => naivePreamble(ID, PARAMS);

const sample = candidate();
assertSameBytes('writePreamble vs naive preamble', sample, baseline());
if (sample.length < 16 + HEADER_LEN * 3) throw new Error('preamble suspiciously short');

runSuite({
  suite: 'request-writer',
  input: `preamble for ${PARAMS.length / 2} CGI params, ${sample.length} wire bytes, keep-conn, empty STDIN`,
  candidates: [{ name: 'preamble', fn: () => candidate().length }],
  baseline: { name: 'naive concat', fn: () => baseline().length },
});
