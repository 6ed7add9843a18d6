// The requests a serving thread has in flight, kept where the main thread can still read them
// once the thread is dead: a SharedArrayBuffer of fixed-size slots that the thread writes at
// the start and the end of each request (no message, no lock, no allocation), and that the
// supervisor decodes after a crash to log every request the crash lost (issue 9 item 12).
// What it leaves out: everything but the request line and the backend (no headers, no body).
//
// Layout (little-endian): a header, a table of backend names, then the slots.
//
//   header  u32 overflow   requests in flight that found no free slot (counted, not listed)
//           u32 slots      slot count (so a reader needs nothing but the buffer)
//           u32 names      backend names in the table
//   names   NAMES × NAME_BYTES: u8 length, then the worker name (fcgi://host:port/…)
//   slot    u32 state      0 free, 1 in flight
//           u32 started    seconds since the epoch (a coarse clock: see `clock`)
//           u8  method     a code (1 GET, 2 POST, …), 0 when the name is written out
//           u8  name len   of a written-out method
//           u16 backend    1 + its index in the names table, 0 none yet
//           u16 target     bytes written of the target
//           u8  flags      1: the target was cut, 2: the id was cut
//           u8  id len     bytes written of the request id
//           20..36   method name (16 bytes), only for methods without a code
//           36..84   request id (48 bytes: `req=…` in the thread's log lines), as latin-1
//           84..256  target (172 bytes: path, then ?query), as latin-1
//
// A slot is taken from a free stack (last freed first, so a quiet thread touches few pages)
// and given back by the reply's completion. Only the owning thread writes; the reader runs
// after that thread has exited. Per request: a pop, a few stores and three latin1Write calls
// (enter + setBackend + leave: ~170 ns, bench/front/in-flight.bench.ts), no Date.now()
// (a syscall on some VMs): `started` comes from a clock a timer of the board moves each second.

export const HEADER_BYTES = 16;
export const NAMES = 256;
export const NAME_BYTES = 128;
export const SLOT_BYTES = 256;
/** Slots per thread: requests beyond it in one thread are counted, not listed. 1 MiB per thread, mostly untouched. */
const IN_FLIGHT_SLOTS = 4096;

const SLOTS_AT = HEADER_BYTES + NAMES * NAME_BYTES;
const METHOD_AT = 20,
  METHOD_MAX = 16;
const ID_AT = 36,
  ID_MAX = 48;
const TARGET_AT = 84,
  TARGET_MAX = SLOT_BYTES - TARGET_AT;
const METHODS = ['', 'GET', 'POST', 'HEAD', 'PUT', 'DELETE', 'OPTIONS', 'PATCH'] as const;

/** The code of a common method, 0 for the others. */
function methodCode(m: string): number {
  switch (m) {
    case 'GET':
      return 1;
    case 'POST':
      return 2;
    case 'HEAD':
      return 3;
    case 'PUT':
      return 4;
    case 'DELETE':
      return 5;
    case 'OPTIONS':
      return 6;
    case 'PATCH':
      return 7;
    default:
      return 0;
  }
}

type Latin1Write = (this: Buffer, s: string, offset: number, length: number) => number;
/** Buffer's latin-1 writer without the encoding dispatch of write() (Node's own, untyped). */
const latin1Write: Latin1Write =
  (Buffer.prototype as unknown as { latin1Write?: Latin1Write }).latin1Write
  ?? function (this: Buffer, s: string, offset: number, length: number): number {
    return this.write(s, offset, length, 'latin1');
  };

/** Seconds since the epoch, moved by a timer (unref'd) while a board exists in this thread. */
let clock = Math.floor(Date.now() / 1000);
let clockTimer: NodeJS.Timeout | null = null;
function startClock(): void {
  if (clockTimer !== null) return;
  clockTimer = setInterval(() => {
    clock = Math.floor(Date.now() / 1000);
  }, 1000);
  clockTimer.unref();
}

/** One request as the supervisor reads it back. */
export interface LostRequest {
  /** The request id the thread's log lines gave it (`req=…`), cut to 48 bytes (`idCut`). */
  id: string;
  idCut: boolean;
  method: string;
  /** Path and query as far as they fit (`cut` says whether they were longer). */
  target: string;
  cut: boolean;
  /** The worker name, '' when the request had not reached a backend. */
  backend: string;
  /** Seconds since the epoch (to the second). */
  startedAt: number;
}

export class InFlightBoard {
  private readonly u32: Uint32Array;
  private readonly u16: Uint16Array;
  private readonly bytes: Buffer;
  private readonly free: Int32Array;
  private top: number;
  private frozen = false;
  /** Backend name → 1 + its index in the names table. */
  private readonly names = new Map<string, number>();
  readonly slots: number;

  /** A board over `buffer` (made by InFlightBoard.allocate), all slots free. */
  constructor(buffer: SharedArrayBuffer | ArrayBuffer) {
    this.u32 = new Uint32Array(buffer);
    this.u16 = new Uint16Array(buffer);
    this.bytes = Buffer.from(buffer);
    this.slots = this.u32[1]!;
    this.free = new Int32Array(this.slots);
    for (let i = 0; i < this.slots; i++) this.free[i] = this.slots - 1 - i; // slot 0 on top
    this.top = this.slots;
    startClock();
  }

  /** A zeroed buffer for `slots` slots, shared with the main thread. */
  static allocate(slots = IN_FLIGHT_SLOTS): SharedArrayBuffer {
    const buffer = new SharedArrayBuffer(SLOTS_AT + slots * SLOT_BYTES);
    new Uint32Array(buffer)[1] = slots;
    return buffer;
  }

  /** Registers a request; returns its slot, or -1 when every slot is taken (then counted). */
  enter(id: string, method: string, path: string, query: string): number {
    if (this.top === 0) {
      this.u32[0] = this.u32[0]! + 1;
      return -1;
    }
    const slot = this.free[--this.top]!;
    const base = SLOTS_AT + slot * SLOT_BYTES;
    const w = base >>> 2;
    const b = this.bytes;
    this.u32[w] = 1;
    this.u32[w + 1] = clock;
    const code = methodCode(method);
    b[base + 8] = code;
    if (code === 0) b[base + 9] = latin1Write.call(b, method, base + METHOD_AT, METHOD_MAX);
    this.u16[(base + 10) >>> 1] = 0; // no backend yet
    const idLen = latin1Write.call(b, id, base + ID_AT, ID_MAX);
    b[base + 15] = idLen;
    let n = latin1Write.call(b, path, base + TARGET_AT, TARGET_MAX);
    let whole = path.length;
    if (query.length > 0) {
      whole += 1 + query.length;
      if (n < TARGET_MAX - 1) {
        b[base + TARGET_AT + n] = 0x3f;
        n += 1 + latin1Write.call(b, query, base + TARGET_AT + n + 1, TARGET_MAX - n - 1);
      }
    }
    this.u16[(base + 12) >>> 1] = n;
    b[base + 14] = (whole > n ? 1 : 0) | (id.length > idLen ? 2 : 0);
    return slot;
  }

  /** The request in `slot` now goes to `backend` (a worker name). */
  setBackend(slot: number, backend: string): void {
    if (slot < 0) return;
    const index = this.names.get(backend) ?? this.addName(backend);
    this.u16[(SLOTS_AT + slot * SLOT_BYTES + 10) >>> 1] = index;
  }

  /** Writes a new name into the table; 0 (none) once the table is full. */
  private addName(backend: string): number {
    const count = this.u32[2]!;
    if (count >= NAMES) return 0;
    const at = HEADER_BYTES + count * NAME_BYTES;
    this.bytes[at] = this.bytes.write(backend, at + 1, NAME_BYTES - 1, 'utf8');
    this.u32[2] = count + 1;
    this.names.set(backend, count + 1);
    return count + 1;
  }

  /** The request in `slot` is complete. After freeze() nothing changes any more. */
  leave(slot: number): void {
    if (this.frozen) return;
    if (slot < 0) {
      if (this.u32[0]! > 0) this.u32[0] = this.u32[0]! - 1;
      return;
    }
    this.u32[(SLOTS_AT + slot * SLOT_BYTES) >>> 2] = 0;
    this.free[this.top++] = slot;
  }

  /**
   * The thread is crashing: keep the board as it is now, so that closing the sockets on the
   * way out (which completes replies) does not erase what the supervisor must log.
   */
  freeze(): void {
    this.frozen = true;
  }

  /** Requests in flight now (this thread's view). */
  get inFlight(): number {
    return this.slots - this.top + this.u32[0]!;
  }
}

/**
 * Reads a board another thread wrote (after that thread exited): the requests in flight,
 * oldest first, and how many more found no slot.
 */
export function readBoard(buffer: SharedArrayBuffer | ArrayBuffer): { lost: LostRequest[]; unlisted: number } {
  const u32 = new Uint32Array(buffer);
  const u16 = new Uint16Array(buffer);
  const b = Buffer.from(buffer);
  const slots = u32[1]!;
  const nameCount = Math.min(u32[2]!, NAMES);
  const names: string[] = [];
  for (let i = 0; i < nameCount; i++) {
    const at = HEADER_BYTES + i * NAME_BYTES;
    names.push(b.toString('utf8', at + 1, at + 1 + Math.min(b[at]!, NAME_BYTES - 1)));
  }
  const lost: LostRequest[] = [];
  for (let slot = 0; slot < slots; slot++) {
    const base = SLOTS_AT + slot * SLOT_BYTES;
    if (u32[base >>> 2] !== 1) continue;
    const code = b[base + 8]!;
    const backend = u16[(base + 10) >>> 1]!;
    const targetLen = Math.min(u16[(base + 12) >>> 1]!, TARGET_MAX);
    const flags = b[base + 14]!;
    lost.push({
      id: b.toString('latin1', base + ID_AT, base + ID_AT + Math.min(b[base + 15]!, ID_MAX)),
      idCut: (flags & 2) !== 0,
      method:
        code > 0 && code < METHODS.length
          ? METHODS[code]!
          : b.toString('latin1', base + METHOD_AT, base + METHOD_AT + Math.min(b[base + 9]!, METHOD_MAX)),
      target: b.toString('latin1', base + TARGET_AT, base + TARGET_AT + targetLen),
      cut: (flags & 1) !== 0,
      backend: backend > 0 && backend <= names.length ? names[backend - 1]! : '',
      startedAt: u32[(base >>> 2) + 1]!,
    });
  }
  lost.sort((x, y) => x.startedAt - y.startedAt);
  return { lost, unlisted: u32[0]! };
}

/** Empties a board for the thread that takes the slot over. */
export function clearBoard(buffer: SharedArrayBuffer | ArrayBuffer): void {
  const u32 = new Uint32Array(buffer);
  const slots = u32[1]!;
  u32.fill(0);
  u32[1] = slots;
}

// The board of this thread. A serving thread installs the one main gave it before it
// serves; elsewhere (one process, tests) a local one is made at first use.
let board: InFlightBoard | null = null;

/** This thread's board. */
export function inFlightBoard(): InFlightBoard {
  return (board ??= new InFlightBoard(InFlightBoard.allocate()));
}

/** Makes `buffer` this thread's board (a serving thread, at start). */
export function installInFlightBoard(buffer: SharedArrayBuffer): InFlightBoard {
  return (board = new InFlightBoard(buffer));
}
