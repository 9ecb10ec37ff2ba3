// SyncKairos switch capacity with participant tokens, for k6: the closed loop of switch-max.js, each
// switch sent by the session's active participant with its own session token instead of the API key,
// so that every request verifies a token, checks its grant and lets the decision check the turn. For
// instances with access control on (API_KEYS and TOKEN_SECRET); `npm run bench -- --auth` runs it as
// `switch-max-token`.
//
//   k6 run -e BASE_URL=http://localhost:3000 -e API_KEY=… -e VUS=50 -e DURATION=10s load-tests/switch-max-token.js
//
// setup() creates and starts the sessions of switch.js with API_KEY and mints each participant's
// token. Each VU owns the sessions s with s mod VUS = its index and switches them in turn, so it knows
// whose turn it is: a switch answered 2xx passes the turn. Environment: BASE_URL / BASE_URLS, SESSIONS,
// KEEP_SESSIONS as in switch.js; API_KEY (required); VUS (default 50); DURATION (default 10s);
// MAX_ERROR_RATE (default 0). Raise the instances' RATE_LIMIT_TOKEN_RPS to measure the check, not the limit.
import http from 'k6/http';
import exec from 'k6/execution';
import { createStartedSessions, headersWith, mintParticipantTokens } from './lib/sessions.js';
import { API_KEY, BASE_URLS, SESSIONS, countSwitch, recordScenarioStart, teardown } from './switch.js';
import { options as maxRate } from './switch-max.js';

export { teardown };

const VUS = Math.min(parseInt(__ENV.VUS || '50', 10), SESSIONS);

export const options = {
  ...maxRate,
  scenarios: { switch_max_token: { ...maxRate.scenarios.switch_max, vus: VUS, exec: 'switchOwnTurn' } },
};

export function setup() {
  if (BASE_URLS.length === 0) exec.test.abort('set BASE_URL or BASE_URLS');
  if (API_KEY === '') exec.test.abort('set API_KEY: participant tokens are minted with it');
  const sessions = createStartedSessions(BASE_URLS[0], SESSIONS, API_KEY);
  return { ids: sessions.ids, tokens: mintParticipantTokens(BASE_URLS[0], API_KEY, sessions) };
}

let mine = null;
let next = 0;

export function switchOwnTurn(data) {
  recordScenarioStart();
  if (mine === null) {
    mine = [];
    for (let s = (exec.vu.idInTest - 1) % VUS; s < data.ids.length; s += VUS) {
      mine.push({
        urls: BASE_URLS.map((base) => `${base}/v1/sessions/${data.ids[s]}/switch`),
        params: data.tokens[s].map((token) => ({ headers: headersWith(token, { 'Content-Type': 'application/json' }), tags: { name: 'switch' }, timeout: '10s' })),
        turns: 0,
      });
    }
  }
  const session = mine[next % mine.length];
  const url = session.urls[next % session.urls.length];
  next++;
  const res = http.post(url, '{}', session.params[session.turns % 2]);
  if (res.status >= 200 && res.status < 300) session.turns++;
  countSwitch(res, url);
}
