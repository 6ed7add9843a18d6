// Request ids: each serving thread draws a random 8-character prefix when it starts and
// counts from there (`Xk3_aQ9b-1`, `Xk3_aQ9b-2`, …): unique across threads and restarts
// without any coordination, and one counter increment plus a base-36 conversion per
// request. An incoming X-Request-Id is kept only from a trusted peer (the caller decides)
// and only when it is printable ASCII of reasonable length.
import { randomBytes } from 'node:crypto';

/** Longest incoming id kept. */
const MAX_INCOMING_ID = 200;
const PRINTABLE = /^[\x21-\x7e]+$/;

export class RequestIds {
  private n = 0;
  readonly prefix: string;

  constructor(prefix = randomBytes(6).toString('base64url')) {
    this.prefix = prefix + '-';
  }

  next(): string {
    return this.prefix + (++this.n).toString(36);
  }
}

/** Whether an incoming id may be kept as it is. */
export const acceptableId = (v: string): boolean => v.length > 0 && v.length <= MAX_INCOMING_ID && PRINTABLE.test(v);
