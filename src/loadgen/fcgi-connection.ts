// One FastCGI connection of the load generator, straight to the app (PHP-FPM or any
// responder): request id = lane slot + 1, one request per id at a time, several ids at
// once when multiplexing. Records are read by src/protocol's RecordReader, the CGI head at
// the start of STDOUT by its CgiHeadParser (for the status); the body is counted, not
// kept. END_REQUEST ends a request: protocolStatus ≠ 0, appStatus ≠ 0 and a bad head are
// failures of their own kinds. Without FCGI_KEEP_CONN (--no-keepalive) the connection is
// closed after each request.
import { CgiHeadParser, HEAD_ERROR } from '../cgi/response-head.js';
import { ProtocolStatus, RecordType } from '../protocol/constants.js';
import type { ProtocolError } from '../protocol/errors.js';
import { RecordReader, type RecordSink } from '../protocol/record-reader.js';
import { ClientConnection } from './client-connection.js';
import { buildFcgiRequest } from './fcgi-request.js';
import { ErrorKind, type Lane, type LaneHost } from './lane.js';
import type { ConnectAddress } from './target.js';

/** Largest CGI head read from an app (the gateway's default FCGATE_MAX_HEAD is the same order). */
const MAX_HEAD = 64 * 1024;

const PROTOCOL_STATUS_NAMES: Record<number, string> = {
  [ProtocolStatus.CantMpxConn]: 'FCGI_CANT_MPX_CONN',
  [ProtocolStatus.Overloaded]: 'FCGI_OVERLOADED',
  [ProtocolStatus.UnknownRole]: 'FCGI_UNKNOWN_ROLE',
};

/**
 * The request Buffers of one thread, built on first use per URL and request id and kept:
 * requests are the same bytes every time, so nothing is encoded per request.
 */
export class FcgiRequests {
  private readonly built: Array<Array<Buffer | undefined>>;

  constructor(
    private readonly params: ReadonlyArray<readonly string[]>,
    private readonly body: Uint8Array | null,
    private readonly keepConn: boolean,
  ) {
    this.built = params.map(() => []);
  }

  get(url: number, id: number): Buffer {
    const row = this.built[url]!;
    return (row[id] ??= buildFcgiRequest(id, this.params[url]!, this.body, this.keepConn));
  }
}

/** Per-slot response state. */
class Exchange {
  readonly head = new CgiHeadParser(MAX_HEAD);
  bodyStarted = false;
  badHead: string | null = null;
  stderr = false;

  reset(): void {
    this.head.reset();
    this.bodyStarted = false;
    this.badHead = null;
    this.stderr = false;
  }
}

export class FcgiConnection extends ClientConnection implements RecordSink {
  private reader: RecordReader;
  private readonly exchanges: Exchange[];
  /** The socket generation whose bytes the reader is parsing (records of a dropped one are ignored). */
  private readGeneration = -1;

  constructor(
    host: LaneHost,
    address: ConnectAddress,
    lanes: Lane[],
    private readonly requests: FcgiRequests,
    private readonly keepConn: boolean,
  ) {
    super(host, address, lanes);
    this.reader = new RecordReader(this, 'client');
    this.exchanges = lanes.map(() => new Exchange());
  }

  protected requestBytes(lane: Lane): Buffer {
    return this.requests.get(lane.url, lane.slot + 1);
  }

  protected onOpen(): void {
    this.reader = new RecordReader(this, 'client');
  }

  protected onSent(lane: Lane): void {
    this.exchanges[lane.slot]!.reset();
  }

  protected onBytes(buf: Buffer, n: number): void {
    this.readGeneration = this.generation;
    this.reader.push(n === buf.length ? buf : buf.subarray(0, n));
  }

  /** False once the socket being parsed was dropped during this push. */
  private get current(): boolean {
    return this.readGeneration === this.generation;
  }

  protected onEof(): void {
    if (this.busy > 0) {
      let inFlight = false;
      for (const lane of this.lanes) if (lane.busy && lane.sent) inFlight = true;
      if (inFlight) {
        this.broken(
          ErrorKind.Reset,
          this.reader.atBoundary
            ? 'connection closed by the app before END_REQUEST'
            : 'connection closed by the app inside a record',
        );
        return;
      }
    }
    this.closeQuietly();
  }

  // RecordSink: the app's records.

  onStream(type: number, id: number, data: Buffer): boolean {
    if (!this.current) return true;
    const ex = this.exchanges[id - 1]!;
    if (type === RecordType.Stderr) {
      if (data.length > 0) ex.stderr = true;
      return true;
    }
    if (ex.bodyStarted || ex.badHead !== null) return true;
    if (data.length === 0) {
      const err = ex.head.finish();
      if (err !== null) ex.badHead = `${err.kind}: ${err.detail}`;
      return true;
    }
    const at = ex.head.push(data);
    if (at === HEAD_ERROR) {
      const err = ex.head.error!;
      ex.badHead = `${err.kind}: ${err.detail}`;
    } else if (at >= 0) {
      ex.bodyStarted = true;
    }
    return true;
  }

  onEndRequest(id: number, appStatus: number, protocolStatus: number): void {
    if (!this.current) return;
    const lane = this.lanes[id - 1]!;
    const ex = this.exchanges[id - 1]!;
    if (ex.stderr) this.host.stderr(lane);
    this.release(lane);
    if (!this.keepConn) this.closeQuietly();
    if (protocolStatus !== ProtocolStatus.RequestComplete) {
      this.host.fail(
        lane,
        ErrorKind.FcgiProtocolStatus,
        PROTOCOL_STATUS_NAMES[protocolStatus] ?? `protocolStatus ${protocolStatus}`,
      );
      return;
    }
    if (!ex.bodyStarted && ex.badHead === null) {
      const err = ex.head.finish();
      ex.badHead = err === null ? 'END_REQUEST before the end of the CGI head' : `${err.kind}: ${err.detail}`;
    }
    if (ex.badHead !== null) {
      this.host.fail(lane, ErrorKind.FcgiProtocol, ex.badHead);
      return;
    }
    if (appStatus !== 0) {
      this.host.fail(lane, ErrorKind.FcgiAppStatus, `appStatus ${appStatus}`);
      return;
    }
    this.host.complete(lane, ex.head.result().status);
  }

  knowsRequest(id: number): boolean {
    if (!this.current) return true;
    const lane = this.lanes[id - 1];
    return lane?.busy === true && lane.sent;
  }

  onProtocolError(err: ProtocolError): void {
    if (!this.current) return;
    this.broken(ErrorKind.FcgiProtocol, err.message);
  }

  onManagement(): void {
    /* GET_VALUES is asked on a probe connection of its own; ignore strays */
  }
  onBeginRequest(): void {
    /* never reaches a client-side reader */
  }
  onAbortRequest(): void {
    /* never reaches a client-side reader */
  }
}
