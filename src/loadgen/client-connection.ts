// The socket side every load connection shares (HTTP and FastCGI): connecting, with a
// backoff while connects keep failing; reading into the thread's one shared buffer
// (net `onread`: no Buffer nor 'data' event per read); writing each request as one
// prebuilt Buffer; and turning a connect failure, a reset, an early close or a timeout
// into one counted failure per busy lane. What the bytes mean is the subclass's.
//
// Connect backoff: a connect that fails counts one `connect` error per waiting request;
// while failures go on, the next attempt waits 1, 2, 4 … 128 ms (reset by a success), so a
// dead target costs a few hundred attempts per second per connection, not a busy loop.
import net from 'node:net';
import { ErrorKind, type Lane, type LaneHost, type LoadConnection } from './lane.js';
import { formatConnectAddress, type ConnectAddress } from './target.js';

const State = { Idle: 0, Waiting: 1, Connecting: 2, Open: 3 } as const;
const MAX_BACKOFF_MS = 128;
const READ_BUFFER_SIZE = 64 * 1024;

/** This thread's read buffer (every socket's onread fills it; parsed at once, never kept). */
let sharedReadBuffer: Buffer | null = null;

export abstract class ClientConnection implements LoadConnection {
  busy = 0;
  /** Counts sockets: bumped when one is dropped, so a parse still running on its bytes can tell. */
  protected generation = 0;
  protected socket: net.Socket | null = null;
  private state: number = State.Idle;
  private failures = 0;
  private backoff: NodeJS.Timeout | null = null;
  private readonly where: string;

  constructor(
    protected readonly host: LaneHost,
    private readonly address: ConnectAddress,
    readonly lanes: Lane[],
  ) {
    this.where = formatConnectAddress(address);
  }

  /** The bytes of `lane`'s request (its url and slot are set). */
  protected abstract requestBytes(lane: Lane): Buffer;
  /** A new socket is open: reset per-connection parsing state. */
  protected abstract onOpen(): void;
  /** `n` bytes arrived in `buf` (valid during the call only). */
  protected abstract onBytes(buf: Buffer, n: number): void;
  /** The server ended the connection; fail or complete what is in flight. */
  protected abstract onEof(): void;
  /** The request on `lane` was written (subclasses prepare their per-request parsing). */
  protected abstract onSent(lane: Lane): void;

  send(lane: Lane, url: number): void {
    lane.url = url;
    lane.busy = true;
    lane.sent = false;
    this.busy++;
    if (this.state === State.Open) this.write(lane);
    else if (this.state === State.Idle) this.open();
  }

  preconnect(): Promise<boolean> {
    if (this.state !== State.Idle) return Promise.resolve(this.state === State.Open);
    return new Promise((resolve) => {
      this.connectNow((ok) => resolve(ok));
    });
  }

  expire(olderThanMs: number): void {
    let stale = false;
    for (const lane of this.lanes)
      if (lane.busy && lane.startMs < olderThanMs) {
        stale = true;
        break;
      }
    if (!stale) return;
    const connecting = this.state !== State.Open;
    this.detach();
    this.failBusy(
      connecting ? ErrorKind.Connect : ErrorKind.Timeout,
      connecting ? `connect to ${this.where} not done in time` : 'no complete response in time',
    );
  }

  destroy(): void {
    this.detach();
    for (const lane of this.lanes) {
      lane.busy = false;
      lane.sent = false;
    }
    this.busy = 0;
  }

  abandonUnsent(): number {
    let n = 0;
    for (const lane of this.lanes) {
      if (lane.busy && !lane.sent) {
        this.release(lane);
        n++;
      }
    }
    if (n > 0 && this.busy === 0 && this.state !== State.Open) this.detach();
    return n;
  }

  /** Marks `lane` done (before telling the host, which may reuse it at once). */
  protected release(lane: Lane): void {
    lane.busy = false;
    lane.sent = false;
    this.busy--;
  }

  /** Closes the socket now; what is in flight is the caller's to count. */
  protected detach(): void {
    if (this.backoff !== null) {
      clearTimeout(this.backoff);
      this.backoff = null;
    }
    const s = this.socket;
    this.socket = null;
    this.state = State.Idle;
    this.generation++;
    if (s !== null) s.destroy();
  }

  /** Fails every busy lane with `kind`; lanes whose new request follows reopen the connection. */
  protected failBusy(kind: ErrorKind, detail: string): void {
    for (const lane of this.lanes) {
      if (!lane.busy) continue;
      this.release(lane);
      this.host.fail(lane, kind, detail);
    }
  }

  /** The socket broke (error or early close): detach and fail what is in flight. */
  protected broken(kind: ErrorKind, detail: string): void {
    this.detach();
    this.failBusy(kind, detail);
  }

  /** After a response that leaves the connection unusable (Connection: close, no keep-conn). */
  protected closeQuietly(): void {
    this.detach();
    // Lanes still busy (their requests were waiting to be written) reopen it.
    if (this.busy > 0) this.open();
  }

  private open(): void {
    if (this.failures === 0) {
      this.connectNow(null);
      return;
    }
    this.state = State.Waiting;
    const delay = Math.min(MAX_BACKOFF_MS, 2 ** (this.failures - 1));
    this.backoff = setTimeout(() => {
      this.backoff = null;
      if (this.state === State.Waiting) this.connectNow(null);
    }, delay);
  }

  /** Connects; `probe` (preconnect) is told the outcome instead of lanes failing. */
  private connectNow(probe: ((ok: boolean) => void) | null): void {
    this.state = State.Connecting;
    const onread = {
      buffer: (sharedReadBuffer ??= Buffer.allocUnsafe(READ_BUFFER_SIZE)),
      callback: (nread: number, buf: Uint8Array): boolean => {
        if (this.socket === socket) {
          this.host.bytesRead(nread);
          this.onBytes(buf as Buffer, nread);
        }
        return true;
      },
    };
    const socket =
      'path' in this.address
        ? net.connect({ path: this.address.path, onread })
        : net.connect({ host: this.address.host, port: this.address.port, onread, noDelay: true });
    this.socket = socket;
    socket.once('connect', () => {
      if (this.socket !== socket) return;
      this.state = State.Open;
      this.failures = 0;
      this.onOpen();
      probe?.(true);
      for (const lane of this.lanes) if (lane.busy && !lane.sent && this.socket === socket) this.write(lane);
    });
    socket.on('end', () => {
      if (this.socket === socket) this.onEof();
    });
    socket.on('error', (err: NodeJS.ErrnoException) => {
      if (this.socket !== socket) return;
      if (this.state === State.Connecting) {
        this.detach();
        if (probe !== null) {
          probe(false);
          return;
        }
        this.failures++;
        this.failBusy(ErrorKind.Connect, `connect to ${this.where}: ${err.code ?? err.message}`);
        return;
      }
      this.broken(ErrorKind.Reset, `${err.code ?? err.message}`);
    });
    socket.on('close', () => {
      if (this.socket !== socket) return;
      // Closed without 'end' or 'error' (rare): whatever was in flight is lost.
      this.broken(ErrorKind.Reset, 'connection closed');
    });
  }

  private write(lane: Lane): void {
    const bytes = this.requestBytes(lane);
    lane.sent = true;
    this.onSent(lane);
    this.host.bytesWritten(bytes.length);
    this.socket!.write(bytes);
  }
}
