// Resumable FastCGI record parser for both sides of the protocol. Bytes go in by
// push(); records come out through one RecordSink object with fixed methods, stream
// content as views into the pushed chunk (valid only during the call). Any split of
// the byte stream gives the same calls. Malformed input ends in one ProtocolError
// through onProtocolError; memory is bounded by the limits (one management record).
import { HEADER_LEN, MAX_TYPE, NULL_REQUEST_ID, RecordType, VERSION_1 } from './constants.js';
import { ProtocolError, ProtocolErrorCode } from './errors.js';

export interface RecordSink {
  /**
   * Content of a stream record (PARAMS, STDIN, DATA on the app side; STDOUT, STDERR on
   * the client side). An empty `data` is the stream's closing record. Return false to
   * stop after this piece: push() then returns what it consumed, and the caller pushes
   * the rest later.
   */
  onStream(type: number, id: number, data: Buffer): boolean;
  onBeginRequest(id: number, role: number, flags: number): void;
  onAbortRequest(id: number): void;
  onEndRequest(id: number, appStatus: number, protocolStatus: number): void;
  /**
   * A whole management record (request id 0): GET_VALUES, GET_VALUES_RESULT, UNKNOWN_TYPE,
   * or an unknown type (app side).
   */
  onManagement(type: number, content: Buffer): void;
  /** Whether `id` names a request in progress; records for other ids are a protocol error. */
  knowsRequest(id: number): boolean;
  onProtocolError(err: ProtocolError): void;
}

export type ReaderSide = 'client' | 'app';

export interface ReaderLimits {
  /** Largest content length accepted in one record (the field allows 65535). */
  maxRecordContent?: number;
  /** Largest management record content (GET_VALUES and friends). */
  maxManagementContent?: number;
}

const EMPTY = Buffer.alloc(0);
const State = { Header: 0, Content: 1, Padding: 2, Failed: 3 } as const;
const Body = { Stream: 0, Fixed: 1, Management: 2, Empty: 3 } as const;

/** Types each side may receive, as a bit set over the type number. */
const CLIENT_TYPES =
  (1 << RecordType.EndRequest)
  | (1 << RecordType.Stdout)
  | (1 << RecordType.Stderr)
  | (1 << RecordType.GetValuesResult)
  | (1 << RecordType.UnknownType);
const APP_TYPES =
  (1 << RecordType.BeginRequest)
  | (1 << RecordType.AbortRequest)
  | (1 << RecordType.Params)
  | (1 << RecordType.Stdin)
  | (1 << RecordType.Data)
  | (1 << RecordType.GetValues);

export class RecordReader {
  private state: number = State.Header;
  private readonly header = Buffer.alloc(HEADER_LEN);
  private headerFill = 0;
  private type = 0;
  private id = 0;
  private contentLeft = 0;
  private paddingLeft = 0;
  private body: number = Body.Stream;
  /** Fixed 8-byte bodies (BEGIN_REQUEST, END_REQUEST, UNKNOWN_TYPE) gather here. */
  private readonly fixed = Buffer.alloc(8);
  private fill = 0;
  private management: Buffer | null = null;
  private readonly accepted: number;
  private readonly maxRecordContent: number;
  private readonly maxManagementContent: number;

  constructor(
    private readonly sink: RecordSink,
    readonly side: ReaderSide,
    limits: ReaderLimits = {},
  ) {
    this.accepted = side === 'client' ? CLIENT_TYPES : APP_TYPES;
    this.maxRecordContent = limits.maxRecordContent ?? 0xffff;
    this.maxManagementContent = limits.maxManagementContent ?? 0xffff;
  }

  /** True once a protocol error was reported; everything pushed after is ignored. */
  get failed(): boolean {
    return this.state === State.Failed;
  }

  /** True between records (nothing half-read): a clean place for the stream to end. */
  get atBoundary(): boolean {
    return this.state === State.Header && this.headerFill === 0;
  }

  /** True when part of a record header was read (the previous record, padding included, is done). */
  get inHeader(): boolean {
    return this.state === State.Header && this.headerFill > 0;
  }

  /**
   * Parses as much of `chunk` (from `from` to `to`: a part of a read without a subarray
   * per part, mux-connection.ts) as possible. Returns the offset in `chunk` it stopped at:
   * `to` unless the sink asked to stop (onStream returned false).
   */
  push(chunk: Buffer, from = 0, to = chunk.length): number {
    const end = to;
    let at = from;
    while (at < end) {
      switch (this.state) {
        case State.Header: {
          let ok: boolean;
          if (this.headerFill === 0 && end - at >= HEADER_LEN) {
            ok = this.startRecord(chunk, at);
            at += HEADER_LEN;
          } else {
            const n = Math.min(HEADER_LEN - this.headerFill, end - at);
            chunk.copy(this.header, this.headerFill, at, at + n);
            this.headerFill += n;
            at += n;
            if (this.headerFill < HEADER_LEN) return at;
            this.headerFill = 0;
            ok = this.startRecord(this.header, 0);
          }
          if (!ok) return end;
          if (this.contentLeft === 0) {
            const more = this.finishEmpty();
            if (this.failed) return end;
            if (!more) return at;
          }
          break;
        }
        case State.Content: {
          const n = Math.min(this.contentLeft, end - at);
          this.contentLeft -= n;
          if (this.body === Body.Stream) {
            const more = this.sink.onStream(this.type, this.id, chunk.subarray(at, at + n));
            at += n;
            if (this.failed) return end;
            if (this.contentLeft === 0) this.afterContent();
            if (!more) return at;
          } else {
            const target = this.body === Body.Fixed ? this.fixed : this.management!;
            chunk.copy(target, this.fill, at, at + n);
            this.fill += n;
            at += n;
            if (this.contentLeft === 0) {
              this.deliverBuffered();
              if (this.failed) return end;
              this.afterContent();
            }
          }
          break;
        }
        case State.Padding: {
          const n = Math.min(this.paddingLeft, end - at);
          this.paddingLeft -= n;
          at += n;
          if (this.paddingLeft === 0) this.state = State.Header;
          break;
        }
        default:
          return end; // failed: drop everything
      }
    }
    return at;
  }

  /** Validates a header and sets up the record. Returns false after a protocol error. */
  private startRecord(src: Buffer, at: number): boolean {
    const version = src[at]!;
    const type = src[at + 1]!;
    const id = (src[at + 2]! << 8) | src[at + 3]!;
    const contentLength = (src[at + 4]! << 8) | src[at + 5]!;
    const paddingLength = src[at + 6]!;
    if (version !== VERSION_1) return this.fail(ProtocolErrorCode.BadVersion, `version ${version}`, id, type);
    if (contentLength > this.maxRecordContent) {
      return this.fail(
        ProtocolErrorCode.ContentTooLong,
        `${contentLength} content bytes exceed ${this.maxRecordContent}`,
        id,
        type,
      );
    }
    this.type = type;
    this.id = id;
    this.contentLeft = contentLength;
    this.paddingLeft = paddingLength;
    this.fill = 0;
    const known = type >= 1 && type <= MAX_TYPE;
    if (id === NULL_REQUEST_ID) {
      // Management records. The app answers unknown types with UNKNOWN_TYPE, so it sees them.
      const mine = known ? (this.accepted & (1 << type)) !== 0 : this.side === 'app';
      if (!mine || (known && !isManagementType(type))) {
        return this.fail(ProtocolErrorCode.UnexpectedType, `type ${type} with request id 0`, id, type);
      }
      if (contentLength > this.maxManagementContent) {
        return this.fail(
          ProtocolErrorCode.ContentTooLong,
          `management record of ${contentLength} bytes exceeds ${this.maxManagementContent}`,
          id,
          type,
        );
      }
      if (type === RecordType.UnknownType) {
        if (contentLength !== 8)
          return this.fail(
            ProtocolErrorCode.BadRecordLength,
            `UNKNOWN_TYPE with ${contentLength} content bytes`,
            id,
            type,
          );
      }
      this.body = Body.Management;
      this.management = Buffer.allocUnsafe(contentLength);
    } else {
      if (!known || (this.accepted & (1 << type)) === 0 || isManagementType(type)) {
        return this.fail(ProtocolErrorCode.UnexpectedType, `type ${type} for request ${id}`, id, type);
      }
      if (type !== RecordType.BeginRequest && !this.sink.knowsRequest(id)) {
        return this.fail(ProtocolErrorCode.UnknownRequest, `type ${type} for unknown request ${id}`, id, type);
      }
      if (type === RecordType.BeginRequest || type === RecordType.EndRequest) {
        if (contentLength !== 8)
          return this.fail(
            ProtocolErrorCode.BadRecordLength,
            `type ${type} with ${contentLength} content bytes`,
            id,
            type,
          );
        this.body = Body.Fixed;
      } else if (type === RecordType.AbortRequest) {
        if (contentLength !== 0)
          return this.fail(
            ProtocolErrorCode.BadRecordLength,
            `ABORT_REQUEST with ${contentLength} content bytes`,
            id,
            type,
          );
        this.body = Body.Empty;
      } else {
        this.body = Body.Stream;
      }
    }
    this.state = State.Content;
    return true;
  }

  /** Completes a record with no content. Returns false when the sink asked to pause. */
  private finishEmpty(): boolean {
    let more = true;
    if (this.body === Body.Stream) more = this.sink.onStream(this.type, this.id, EMPTY);
    else if (this.body === Body.Empty) this.sink.onAbortRequest(this.id);
    else this.deliverBuffered();
    if (this.state !== State.Failed) this.afterContent();
    return more;
  }

  private afterContent(): void {
    this.state = this.paddingLeft > 0 ? State.Padding : State.Header;
  }

  private deliverBuffered(): void {
    const type = this.type;
    if (this.body === Body.Fixed) {
      const f = this.fixed;
      if (type === RecordType.BeginRequest) this.sink.onBeginRequest(this.id, (f[0]! << 8) | f[1]!, f[2]!);
      else this.sink.onEndRequest(this.id, f.readUInt32BE(0), f[4]!);
    } else {
      const content = this.management!;
      this.management = null;
      this.sink.onManagement(type, content);
    }
  }

  private fail(code: ProtocolErrorCode, detail: string, id: number, type: number): false {
    this.state = State.Failed;
    this.management = null;
    this.sink.onProtocolError(new ProtocolError(code, detail, id, type));
    return false;
  }
}

function isManagementType(type: number): boolean {
  return type === RecordType.GetValues || type === RecordType.GetValuesResult || type === RecordType.UnknownType;
}
