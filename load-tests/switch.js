// SyncKairos switch load test for k6, run against deployed instances:
//
//   k6 run -e BASE_URLS=http://a:3000,http://b:3000 load-tests/switch.js
//   k6 run -e BASE_URL=http://localhost:3000 -e RATE=500 -e DURATION=60s load-tests/switch.js
//
// The `switch-fixed` scenario of `npm run bench` (load-tests/bench.ts runs it against an instance it
// starts): RATE switches/s (default 1000, open model) for DURATION (default 20s) over SESSIONS started
// per_participant sessions (default 200, two participants of 24 h each so nothing expires), each a
// POST /v1/sessions/:id/switch with body {} round-robin over the sessions. k6 measures
// http_req_duration from the moment a request is sent and reports iterations it could not start on
// time as dropped_iterations. scenario_start (a gauge, epoch ms) is when the scenario started: with
// DURATION, the window over which a caller reads CPU per switch.
//
// Environment (all optional but the URL):
//   BASE_URL / BASE_URLS  one URL, or a comma-separated list that requests are spread over
//   RATE                  switches per second (default 1000)
//   DURATION              e.g. 20s, 5m (default 20s)
//   SESSIONS              sessions created and started in setup() (default 200)
//   VUS / MAX_VUS         pre-allocated and maximum VUs (default 100 / 1000); raise them if
//                         dropped_iterations is not 0
//   P95_MS / P99_MS       latency thresholds for the switch requests (default 3 / 5 ms)
//   MAX_ERROR_RATE        tolerated share of failed switches (default 0: any failure fails the run)
//   API_KEY               sent with every request, for instances with access control on (API_KEYS)
//   KEEP_SESSIONS=1       skip deleting the sessions in teardown()
import http from 'k6/http';
import { check } from 'k6';
import exec from 'k6/execution';
import { Counter, Gauge, Rate } from 'k6/metrics';
import { createStartedSessions, deleteSessions, headersWith } from './lib/sessions.js';

export const BASE_URLS = (__ENV.BASE_URLS || __ENV.BASE_URL || 'http://localhost:3000')
  .split(',')
  .map((u) => u.trim().replace(/\/+$/, ''))
  .filter((u) => u.length > 0);
const RATE = parseInt(__ENV.RATE || '1000', 10);
const DURATION = __ENV.DURATION || '20s';
export const SESSIONS = parseInt(__ENV.SESSIONS || '200', 10);
const VUS = parseInt(__ENV.VUS || '100', 10);
const MAX_VUS = parseInt(__ENV.MAX_VUS || '1000', 10);
const P95_MS = Number(__ENV.P95_MS || '3');
const P99_MS = Number(__ENV.P99_MS || '5');
const MAX_ERROR_RATE = Number(__ENV.MAX_ERROR_RATE || '0');
export const API_KEY = __ENV.API_KEY || '';

const SWITCH_BODY = '{}';
const SWITCH_PARAMS = {
  headers: headersWith(API_KEY, { 'Content-Type': 'application/json' }),
  tags: { name: 'switch' },
  timeout: '10s',
};

// Any non-2xx answer (or a network error) is a failed switch.
const switchErrors = new Rate('switch_errors');
const switchNon2xx = new Counter('switch_non_2xx');
const scenarioStart = new Gauge('scenario_start');
let startRecorded = false;
let warned = 0;

// Records, once per VU, when the scenario started (every VU records the same instant).
export function recordScenarioStart() {
  if (startRecorded) return;
  startRecorded = true;
  scenarioStart.add(exec.scenario.startTime);
}

// Counts a switch's answer; any non-2xx (or a network error) is a failure, the first few are logged.
export function countSwitch(res, url) {
  const ok = res.status >= 200 && res.status < 300;
  switchErrors.add(!ok);
  if (!ok) {
    switchNon2xx.add(1, { status: String(res.status) });
    if (warned < 5) {
      warned++;
      console.warn(`switch ${url} answered ${res.status} ${res.error || ''}`);
    }
  }
  check(res, { 'switch answered 2xx': () => ok });
}

// Only 2xx counts as expected for http_req_failed (the default also accepts 3xx).
http.setResponseCallback(http.expectedStatuses({ min: 200, max: 299 }));

export const options = {
  discardResponseBodies: true,
  setupTimeout: '120s',
  teardownTimeout: '120s',
  summaryTrendStats: ['avg', 'min', 'med', 'p(90)', 'p(95)', 'p(99)', 'max'],
  scenarios: {
    switch_fixed: {
      executor: 'constant-arrival-rate',
      rate: RATE,
      timeUnit: '1s',
      duration: DURATION,
      preAllocatedVUs: VUS,
      maxVUs: MAX_VUS,
      exec: 'switchTurn',
    },
  },
  thresholds: {
    'http_req_duration{name:switch}': [`p(95)<${P95_MS}`, `p(99)<${P99_MS}`],
    'http_req_failed{name:switch}': [`rate<=${MAX_ERROR_RATE}`],
    switch_errors: [`rate<=${MAX_ERROR_RATE}`],
    // the offered load was really offered: no iteration skipped for lack of VUs
    dropped_iterations: ['count==0'],
  },
};

// Creates and starts the sessions (through the first URL: every instance shares the same Redis).
export function setup() {
  if (BASE_URLS.length === 0) exec.test.abort('set BASE_URL or BASE_URLS');
  return { ids: createStartedSessions(BASE_URLS[0], SESSIONS, API_KEY).ids };
}

// URLs built once per VU: urls[instance][session].
let urls = null;

// One switch per iteration. Iteration n switches session n mod SESSIONS; the instance rotates by
// one every full round, so with several BASE_URLS each session's turns move between instances (as
// behind a load balancer) while every instance gets the same share.
export function switchTurn(data) {
  recordScenarioStart();
  if (urls === null) {
    urls = BASE_URLS.map((base) => data.ids.map((id) => `${base}/v1/sessions/${id}/switch`));
  }
  const n = exec.scenario.iterationInTest;
  const sessions = data.ids.length;
  const session = n % sessions;
  const instance = (n + Math.floor(n / sessions)) % urls.length;
  countSwitch(http.post(urls[instance][session], SWITCH_BODY, SWITCH_PARAMS), urls[instance][session]);
}

// Deletes the sessions (DELETE /v1/sessions/:id answers 204) unless KEEP_SESSIONS=1.
export function teardown(data) {
  if (__ENV.KEEP_SESSIONS === '1' || !data || !data.ids) return;
  deleteSessions(BASE_URLS[0], data.ids, API_KEY);
}
