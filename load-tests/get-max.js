// SyncKairos read capacity for k6: GET /v1/sessions/:id round-robin over the sessions of switch.js
// (same setup, same spread over BASE_URLS), sent by VUS virtual users in a closed loop for DURATION.
// The reads per second it reaches is the capacity; `npm run bench` runs it as `get-max`.
//
//   k6 run -e BASE_URL=http://localhost:3000 -e VUS=50 -e DURATION=10s load-tests/get-max.js
//
// Environment: BASE_URL / BASE_URLS, SESSIONS, API_KEY, KEEP_SESSIONS as in switch.js; VUS (default
// 50); DURATION (default 10s); MAX_ERROR_RATE (default 0). There is no latency threshold: at saturation
// the latency is the queue's.
import http from 'k6/http';
import { check } from 'k6';
import exec from 'k6/execution';
import { Rate } from 'k6/metrics';
import { closedLoopOptions } from './lib/closedLoop.js';
import { headersWith } from './lib/sessions.js';
import { API_KEY, BASE_URLS, options as fixedRate, recordScenarioStart, setup, teardown } from './switch.js';

export { setup, teardown };

const GET_PARAMS = { headers: headersWith(API_KEY, {}), tags: { name: 'get' }, timeout: '10s' };
const getErrors = new Rate('get_errors');

export const options = closedLoopOptions(fixedRate, { scenario: 'get_max', exec: 'getSession', name: 'get', errorRate: 'get_errors' });

let urls = null;

export function getSession(data) {
  recordScenarioStart();
  if (urls === null) urls = BASE_URLS.map((base) => data.ids.map((id) => `${base}/v1/sessions/${id}`));
  const n = exec.scenario.iterationInTest;
  const res = http.get(urls[n % urls.length][n % data.ids.length], GET_PARAMS);
  const ok = res.status === 200;
  getErrors.add(!ok);
  check(res, { 'get answered 200': () => ok });
}
