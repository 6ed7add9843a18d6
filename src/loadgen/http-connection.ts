// One HTTP/1.1 keep-alive connection of the load generator: one request at a time (no
// pipelining), each the prebuilt Buffer of its URL, each response read by the incremental
// parser straight from the shared read buffer. A response that ends the connection
// (Connection: close, HTTP/1.0, a close-delimited body, --no-keepalive) closes it; the
// next request opens a new one.
import { ClientConnection } from './client-connection.js';
import { HttpResponseParser } from './http-response.js';
import { ErrorKind, type Lane, type LaneHost } from './lane.js';
import type { ConnectAddress } from './target.js';

export class HttpConnection extends ClientConnection {
  private readonly parser = new HttpResponseParser();
  private readonly lane: Lane;

  /** `requests[url]`: the bytes of each URL's request; `headRequest`: -m HEAD (no bodies). */
  constructor(
    host: LaneHost,
    address: ConnectAddress,
    lane: Lane,
    private readonly requests: readonly Buffer[],
    private readonly headRequest: boolean,
    private readonly keepAlive: boolean,
  ) {
    super(host, address, [lane]);
    this.lane = lane;
  }

  protected requestBytes(lane: Lane): Buffer {
    return this.requests[lane.url]!;
  }

  protected onOpen(): void {
    /* the parser is readied per request */
  }

  protected onSent(): void {
    this.parser.begin(this.headRequest);
  }

  protected onBytes(buf: Buffer, n: number): void {
    const lane = this.lane;
    if (!lane.sent) {
      // Bytes nobody asked for (a 408 before closing, garbage): this connection is done.
      this.closeQuietly();
      return;
    }
    const p = this.parser;
    const used = p.push(buf, 0, n);
    if (p.complete) {
      const reuse = this.keepAlive && p.keepAlive && used === n;
      this.release(lane);
      if (!reuse) this.closeQuietly();
      this.host.complete(lane, p.status);
    } else if (p.failed) {
      this.broken(ErrorKind.HttpParse, p.error!);
    }
  }

  protected onEof(): void {
    const lane = this.lane;
    if (lane.busy && lane.sent && this.parser.finishAtEof()) {
      this.detach();
      this.release(lane);
      this.host.complete(lane, this.parser.status);
      return;
    }
    if (lane.busy && lane.sent) {
      this.broken(ErrorKind.Reset, `connection closed by the server ${this.parser.describeCut()}`);
      return;
    }
    // Idle (a keep-alive timeout), or the request not written yet: reconnect if needed.
    this.closeQuietly();
  }
}
