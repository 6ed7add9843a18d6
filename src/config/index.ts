// The config module's public surface: load/parse, route, describe. Import from here.

export { ConfigError } from './config-error.js';
export { parseConfig, loadConfig, configFromFlags, type ConfigFlags } from './load.js';
export { describeConfig } from './describe.js';
export { resolve, memberTargetPath, type RouteResult, type NotFoundReason } from './router.js';
export { FCGI_DEFAULT_PORT } from './worker-url.js';
export { FcgiSetEnvIfRule } from './fcgi-setenv.js';
export { decodePath, encodeTargetPath } from './url-path.js';
export type * from './model.js';
