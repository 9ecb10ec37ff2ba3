// Session setup and teardown shared by the k6 scripts: started per_participant sessions of two
// participants of 24 h each, so nothing expires. With access control on, every request carries the API
// key (`apiKey`, e.g. from the API_KEY variable) and participants can get their own tokens.
import http from 'k6/http';
import crypto from 'k6/crypto';
import exec from 'k6/execution';

const DAY_MS = 86400000;
const CHUNK = 20;
const JSON_HEADERS = { 'Content-Type': 'application/json' };

export function uuidv4() {
  const b = new Uint8Array(crypto.randomBytes(16));
  b[6] = (b[6] & 0x0f) | 0x40;
  b[8] = (b[8] & 0x3f) | 0x80;
  let hex = '';
  for (let i = 0; i < b.length; i++) hex += (b[i] + 0x100).toString(16).slice(1);
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

function expectAll(responses, status, what) {
  for (let i = 0; i < responses.length; i++) {
    const r = responses[i];
    if (r.status !== status) {
      exec.test.abort(`setup: ${what} answered ${r.status} (expected ${status}): ${r.error || ''} ${r.body || ''}`);
    }
  }
}

// The headers of a request with `apiKey` (none when access control is off), plus `extra`.
export function headersWith(apiKey, extra) {
  return apiKey ? Object.assign({ Authorization: `Bearer ${apiKey}` }, extra) : Object.assign({}, extra);
}

// Creates and starts `count` sessions through `base` (every instance shares the same Redis). Returns
// their ids, and each session's two participant ids in turn order (the first holds the first turn).
export function createStartedSessions(base, count, apiKey) {
  const ids = [];
  const participants = [];
  for (let i = 0; i < count; i++) {
    ids.push(uuidv4());
    participants.push([uuidv4(), uuidv4()]);
  }
  const params = (name, json) => ({ headers: headersWith(apiKey, json ? JSON_HEADERS : {}), tags: { name }, responseType: 'text', timeout: '30s' });
  for (let from = 0; from < ids.length; from += CHUNK) {
    const chunk = ids.slice(from, from + CHUNK);
    expectAll(http.batch(chunk.map((id, k) => ({
      method: 'POST',
      url: `${base}/v1/sessions`,
      body: JSON.stringify({
        session_id: id,
        sync_mode: 'per_participant',
        participants: participants[from + k].map((participant) => ({ participant_id: participant, total_time_ms: DAY_MS })),
        total_time_ms: DAY_MS,
      }),
      params: params('create', true),
    }))), 201, 'POST /v1/sessions');
    expectAll(http.batch(chunk.map((id) => ({
      method: 'POST',
      url: `${base}/v1/sessions/${id}/start`,
      body: null,
      params: params('start', false),
    }))), 200, 'POST /v1/sessions/:id/start');
  }
  return { ids, participants };
}

// Mints each participant's own session token (POST /v1/sessions/:id/tokens, an API key's right):
// tokens[i][k] is participant k's of session i.
export function mintParticipantTokens(base, apiKey, sessions) {
  const tokens = [];
  const params = { headers: headersWith(apiKey, JSON_HEADERS), tags: { name: 'token' }, responseType: 'text', timeout: '30s' };
  for (let from = 0; from < sessions.ids.length; from += CHUNK) {
    const requests = [];
    for (let i = from; i < Math.min(from + CHUNK, sessions.ids.length); i++) {
      for (const participant of sessions.participants[i]) {
        requests.push({
          method: 'POST',
          url: `${base}/v1/sessions/${sessions.ids[i]}/tokens`,
          body: JSON.stringify({ role: 'participant', participant_id: participant }),
          params,
        });
      }
    }
    const responses = http.batch(requests);
    expectAll(responses, 201, 'POST /v1/sessions/:id/tokens');
    for (let r = 0; r < responses.length; r += 2) {
      tokens.push([JSON.parse(responses[r].body).data.token, JSON.parse(responses[r + 1].body).data.token]);
    }
  }
  return tokens;
}

// Deletes the sessions (DELETE /v1/sessions/:id answers 204).
export function deleteSessions(base, ids, apiKey) {
  for (let from = 0; from < ids.length; from += CHUNK) {
    http.batch(ids.slice(from, from + CHUNK).map((id) => ({
      method: 'DELETE',
      url: `${base}/v1/sessions/${id}`,
      body: null,
      params: { headers: headersWith(apiKey, {}), tags: { name: 'delete' }, timeout: '30s' },
    })));
  }
}
