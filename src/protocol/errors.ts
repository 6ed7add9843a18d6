// Typed protocol errors: what broke on the wire, never which HTTP status to send
// (front/ decides that through src/errors.ts).

export const ProtocolErrorCode = {
  BadVersion: 'FCGI_BAD_VERSION',
  ContentTooLong: 'FCGI_CONTENT_TOO_LONG',
  UnknownRequest: 'FCGI_UNKNOWN_REQUEST',
  UnexpectedType: 'FCGI_UNEXPECTED_TYPE',
  BadRecordLength: 'FCGI_BAD_RECORD_LENGTH',
  BadPairs: 'FCGI_BAD_PAIRS',
  PairsTooLong: 'FCGI_PAIRS_TOO_LONG',
} as const;
export type ProtocolErrorCode = (typeof ProtocolErrorCode)[keyof typeof ProtocolErrorCode];

export class ProtocolError extends Error {
  constructor(
    readonly code: ProtocolErrorCode,
    detail: string,
    readonly requestId = -1,
    readonly recordType = -1,
  ) {
    super(`${code}: ${detail}`);
    this.name = 'ProtocolError';
  }
}
