// Every uWS behaviour suite, for one build per process (test/front/uws-behaviour.test.ts
// starts this file once per pinned build; `node dist/test/front/uws/index.suite.js` runs it
// for the build FCGATE_UWS_BUILD names, or the default one).
import './behaviour.suite.js';
import './cork.suite.js';
import './receive-rate.suite.js';
