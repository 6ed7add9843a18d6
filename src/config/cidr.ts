// IP addresses and networks as Apache writes them (mod_authz_host `Require ip`, mod_remoteip
// `RemoteIPTrustedProxy`): parsing and matching, pure. No DNS: host names are refused.
//
// Accepted network forms (apr_ipsubnet_create):
//   192.0.2.7            one IPv4 address            2001:db8::1         one IPv6 address
//   10.0.0.0/8           CIDR                        2001:db8::/32       CIDR
//   10.0.0.0/255.0.0.0   address/netmask             10.1  or  10.1.     the leading octets (= 10.1.0.0/16)
// An IPv4-mapped IPv6 address (::ffff:192.0.2.7, as a dual-stack listener reports IPv4
// clients) matches IPv4 networks, as Apache maps it.

/** An address as four 32-bit words (IPv4: word 3 only, `v4` true). */
export interface IpAddress {
  v4: boolean;
  w: [number, number, number, number];
}

/** A network: an address and a prefix length (0–32 for IPv4, 0–128 for IPv6). */
export interface IpNetwork {
  v4: boolean;
  w: [number, number, number, number];
  bits: number;
  text: string;
}

function parseV4(s: string): number | null {
  const parts = s.split('.');
  if (parts.length !== 4) return null;
  let n = 0;
  for (const p of parts) {
    if (!/^\d{1,3}$/.test(p)) return null;
    const v = Number(p);
    if (v > 255) return null;
    n = n * 256 + v;
  }
  return n >>> 0;
}

function parseV6(s: string): [number, number, number, number] | null {
  if (s.length === 0 || s.length > 45) return null;
  let text = s;
  let tail: number[] = [];
  const lastColon = text.lastIndexOf(':');
  if (text.indexOf('.', lastColon) >= 0) {
    // embedded IPv4: ::ffff:192.0.2.7
    const v4 = parseV4(text.slice(lastColon + 1));
    if (v4 === null) return null;
    tail = [v4 >>> 16, v4 & 0xffff];
    text = text.slice(0, lastColon + 1) + '0:0'; // placeholders, replaced below
  }
  const dbl = text.indexOf('::');
  if (dbl >= 0 && text.indexOf('::', dbl + 1) >= 0) return null;
  const groups = (part: string): string[] | null => (part === '' ? [] : part.split(':'));
  const head = groups(dbl >= 0 ? text.slice(0, dbl) : text);
  const rest = dbl >= 0 ? groups(text.slice(dbl + 2)) : [];
  if (head === null || rest === null) return null;
  const fill = 8 - head.length - rest.length;
  if (dbl < 0 ? fill !== 0 : fill < 1) return null;
  const all = [...head, ...Array<string>(dbl >= 0 ? fill : 0).fill('0'), ...rest];
  const h: number[] = [];
  for (const g of all) {
    if (!/^[0-9a-fA-F]{1,4}$/.test(g)) return null;
    h.push(parseInt(g, 16));
  }
  if (tail.length === 2) {
    h[6] = tail[0]!;
    h[7] = tail[1]!;
  }
  return [
    ((h[0]! << 16) | h[1]!) >>> 0,
    ((h[2]! << 16) | h[3]!) >>> 0,
    ((h[4]! << 16) | h[5]!) >>> 0,
    ((h[6]! << 16) | h[7]!) >>> 0,
  ];
}

/** Parses an IPv4 or IPv6 address (brackets allowed around IPv6); null when it is not one. */
export function parseIp(text: string): IpAddress | null {
  let s = text;
  if (s.startsWith('[') && s.endsWith(']')) s = s.slice(1, -1);
  const pct = s.indexOf('%'); // fe80::1%eth0: the zone is ignored
  if (pct >= 0 && s.includes(':')) s = s.slice(0, pct);
  if (!s.includes(':')) {
    const v4 = parseV4(s);
    return v4 === null ? null : { v4: true, w: [0, 0, 0, v4] };
  }
  const w = parseV6(s);
  if (w === null) return null;
  if (w[0] === 0 && w[1] === 0 && w[2] === 0xffff) return { v4: true, w: [0, 0, 0, w[3]] }; // ::ffff:a.b.c.d
  return { v4: false, w };
}

const maskWord = (bits: number): number =>
  bits <= 0 ? 0 : bits >= 32 ? 0xffffffff : (0xffffffff << (32 - bits)) >>> 0;

/**
 * Parses a network in one of the forms above; throws a RangeError saying what is wrong
 * (`"example.com" is not an IP address or network (host names are not supported)`).
 */
export function parseNetwork(text: string): IpNetwork {
  const bad = (why: string): never => {
    throw new RangeError(`"${text}" ${why}`);
  };
  const slash = text.indexOf('/');
  const addr = slash < 0 ? text : text.slice(0, slash);
  const suffix = slash < 0 ? null : text.slice(slash + 1);
  if (!addr.includes(':') && suffix === null && /^\d{1,3}(\.\d{1,3}){0,3}\.?$/.test(addr)) {
    const octets = addr.replace(/\.$/, '').split('.');
    if (octets.length < 4) {
      // "10.1" = 10.1.0.0/16 (Apache's partial form)
      const full = [...octets, ...Array<string>(4 - octets.length).fill('0')].join('.');
      const v4 = parseV4(full);
      if (v4 === null) bad('is not an IPv4 address or network');
      return { v4: true, w: [0, 0, 0, v4!], bits: octets.length * 8, text };
    }
  }
  const ip = parseIp(addr);
  if (ip === null) {
    return bad(
      /^[A-Za-z0-9.-]+$/.test(addr) && /[A-Za-z]/.test(addr)
        ? 'is not an IP address or network (host names are not supported: give addresses)'
        : 'is not an IP address or network',
    );
  }
  const max = ip.v4 ? 32 : 128;
  let bits = max;
  if (suffix !== null) {
    if (/^\d{1,3}$/.test(suffix)) {
      bits = Number(suffix);
      if (bits > max) bad(`has a prefix longer than ${max} bits`);
    } else if (ip.v4 && parseV4(suffix) !== null) {
      const m = parseV4(suffix)!;
      let ones = 0;
      while (ones < 32 && ((m >>> (31 - ones)) & 1) === 1) ones++;
      if (maskWord(ones) !== m) bad('has a netmask that is not contiguous');
      bits = ones;
    } else {
      bad('has a bad prefix length');
    }
  }
  const w: [number, number, number, number] = [...ip.w];
  // Host bits set ("10.0.0.1/8") are cleared, as apr_ipsubnet_create does.
  const first = ip.v4 ? 3 : 0;
  for (let i = first; i < 4; i++) {
    const wordBits = ip.v4 ? bits : bits - i * 32;
    w[i] = (w[i]! & maskWord(wordBits)) >>> 0;
  }
  return { v4: ip.v4, w, bits, text };
}

/** Does `ip` lie in `net`? IPv4 and IPv4-mapped IPv6 addresses match IPv4 networks. */
export function inNetwork(ip: IpAddress, net: IpNetwork): boolean {
  if (ip.v4 !== net.v4) return false;
  if (ip.v4) return (ip.w[3] & maskWord(net.bits)) >>> 0 === net.w[3];
  for (let i = 0; i < 4; i++) {
    const b = net.bits - i * 32;
    if (b <= 0) return true;
    if ((ip.w[i]! & maskWord(b)) >>> 0 !== net.w[i]) return false;
  }
  return true;
}

/** A list of networks; `matches(text)` parses the address (cached per list, bounded). */
export class NetworkList {
  private readonly cache = new Map<string, boolean>();
  constructor(
    readonly networks: readonly IpNetwork[],
    private readonly cacheLimit = 1024,
  ) {}

  /** The first network that holds `ip`, or null. */
  find(ip: IpAddress): IpNetwork | null {
    for (const n of this.networks) if (inNetwork(ip, n)) return n;
    return null;
  }

  /** Is the address text in one of the networks? An unparsable text never is. */
  matches(text: string): boolean {
    let hit = this.cache.get(text);
    if (hit === undefined) {
      const ip = parseIp(text);
      hit = ip !== null && this.find(ip) !== null;
      if (this.cache.size >= this.cacheLimit) this.cache.clear();
      this.cache.set(text, hit);
    }
    return hit;
  }
}

/** The text form of an address: dotted quad for IPv4, RFC 5952 for IPv6. */
export function formatIp(ip: IpAddress): string {
  if (ip.v4) {
    const n = ip.w[3];
    return `${n >>> 24}.${(n >>> 16) & 255}.${(n >>> 8) & 255}.${n & 255}`;
  }
  const h: number[] = [];
  for (const word of ip.w) h.push(word >>> 16, word & 0xffff);
  let bestAt = -1,
    bestLen = 1;
  for (let i = 0; i < 8; ) {
    if (h[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && h[j] === 0) j++;
    if (j - i > bestLen) {
      bestAt = i;
      bestLen = j - i;
    }
    i = j;
  }
  const hex = h.map((x) => x.toString(16));
  if (bestAt < 0) return hex.join(':');
  return `${hex.slice(0, bestAt).join(':')}::${hex.slice(bestAt + bestLen).join(':')}`;
}
