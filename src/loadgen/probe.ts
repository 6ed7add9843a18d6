// Before a run: one connection to the target, to fail early and clearly when nothing
// listens there, and for FastCGI --multiplex to ask FCGI_GET_VALUES (spec §4.1) whether
// the app multiplexes (FCGI_MPXS_CONNS) and how many connections and requests it takes.
import net from 'node:net';
import {
  decodePairs,
  encodeGetValues,
  RecordReader,
  RecordType,
  ValueName,
  type ProtocolError,
  type RecordSink,
} from '../protocol/index.js';
import { formatConnectAddress, type ConnectAddress } from './target.js';

export interface ProbeResult {
  /** null when the connection worked, else why not. */
  error: string | null;
  /** GET_VALUES answers by name (FCGI_MPXS_CONNS …), null when not asked or not answered. */
  values: Record<string, string> | null;
}

/** Connects to `address`; with `askValues`, sends GET_VALUES and waits (up to timeoutMs) for the answer. */
export function probeTarget(address: ConnectAddress, askValues: boolean, timeoutMs: number): Promise<ProbeResult> {
  return new Promise((resolve) => {
    const where = formatConnectAddress(address);
    const socket =
      'path' in address ? net.connect({ path: address.path }) : net.connect({ host: address.host, port: address.port });
    let settled = false;
    const finish = (r: ProbeResult): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.destroy();
      resolve(r);
    };
    const timer = setTimeout(
      () =>
        finish(
          socket.connecting
            ? { error: `cannot connect to ${where}: no answer within ${timeoutMs} ms`, values: null }
            : { error: null, values: null },
        ),
      timeoutMs,
    );
    socket.once('error', (err: NodeJS.ErrnoException) => {
      finish(
        socket.connecting || !askValues
          ? { error: `cannot connect to ${where}: ${err.code ?? err.message}`, values: null }
          : { error: null, values: null },
      );
    });
    socket.once('connect', () => {
      if (!askValues) {
        finish({ error: null, values: null });
        return;
      }
      const sink: RecordSink = {
        onManagement(type: number, content: Buffer): void {
          if (type !== RecordType.GetValuesResult) return;
          const values: Record<string, string> = {};
          try {
            const flat = decodePairs(content);
            for (let i = 0; i < flat.length; i += 2) values[flat[i]!] = flat[i + 1]!;
          } catch {
            /* a bad answer counts as none */
          }
          finish({ error: null, values });
        },
        onStream: () => true,
        onBeginRequest: () => undefined,
        onAbortRequest: () => undefined,
        onEndRequest: () => undefined,
        knowsRequest: () => false,
        onProtocolError: (_err: ProtocolError) => finish({ error: null, values: null }),
      };
      const reader = new RecordReader(sink, 'client');
      socket.on('data', (chunk: Buffer) => reader.push(chunk));
      socket.once('end', () => finish({ error: null, values: null }));
      socket.write(encodeGetValues([ValueName.MaxConns, ValueName.MaxReqs, ValueName.MpxsConns]));
    });
  });
}
