// FastCGI 1.0 constants: record types, roles, flags, protocol statuses, limits.
// Names follow the specification (FCGI_STDOUT → RecordType.Stdout).

export const VERSION_1 = 1;
export const HEADER_LEN = 8;
export const MAX_CONTENT = 0xffff; // content length is a 16-bit field
export const NULL_REQUEST_ID = 0; // management records (GET_VALUES) use id 0
export const MAX_PAIR_LENGTH = 0x7fffffff; // 4-byte lengths carry 31 bits

export const RecordType = {
  BeginRequest: 1,
  AbortRequest: 2,
  EndRequest: 3,
  Params: 4,
  Stdin: 5,
  Stdout: 6,
  Stderr: 7,
  Data: 8,
  GetValues: 9,
  GetValuesResult: 10,
  UnknownType: 11,
} as const;
export type RecordType = (typeof RecordType)[keyof typeof RecordType];
/** FCGI_MAXTYPE: types above it are unknown to FastCGI 1.0. */
export const MAX_TYPE = RecordType.UnknownType;

export const Role = { Responder: 1, Authorizer: 2, Filter: 3 } as const;
export type Role = (typeof Role)[keyof typeof Role];

/** FCGI_BEGIN_REQUEST flags. */
export const FLAG_KEEP_CONN = 1;

export const ProtocolStatus = {
  RequestComplete: 0,
  CantMpxConn: 1,
  Overloaded: 2,
  UnknownRole: 3,
} as const;
export type ProtocolStatus = (typeof ProtocolStatus)[keyof typeof ProtocolStatus];

/** The variables FCGI_GET_VALUES may ask for. */
export const ValueName = {
  MaxConns: 'FCGI_MAX_CONNS',
  MaxReqs: 'FCGI_MAX_REQS',
  MpxsConns: 'FCGI_MPXS_CONNS',
} as const;
