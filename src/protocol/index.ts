// The FastCGI 1.0 codec: bytes in, bytes out. No sockets, timers or configuration.
export * from './constants.js';
export * from './errors.js';
export * from './header.js';
export * from './pairs.js';
export * from './request-writer.js';
export * from './stream-writer.js';
export * from './management.js';
export * from './record-reader.js';
