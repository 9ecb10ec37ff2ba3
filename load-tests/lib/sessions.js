// Session setup and teardown shared by the k6 scripts: the mirror of load-tests/scenarios/sessions.ts
// (started per_participant sessions of two participants of 24 h each, so nothing expires).
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

// Creates and starts `count` sessions through `base` (every instance shares the same Redis); returns their ids.
export function createStartedSessions(base, count) {
  const ids = [];
  for (let i = 0; i < count; i++) ids.push(uuidv4());
  const params = (name) => ({ headers: JSON_HEADERS, tags: { name }, responseType: 'text', timeout: '30s' });
  for (let from = 0; from < ids.length; from += CHUNK) {
    const chunk = ids.slice(from, from + CHUNK);
    expectAll(http.batch(chunk.map((id) => ({
      method: 'POST',
      url: `${base}/v1/sessions`,
      body: JSON.stringify({
        session_id: id,
        sync_mode: 'per_participant',
        participants: [
          { participant_id: uuidv4(), total_time_ms: DAY_MS },
          { participant_id: uuidv4(), total_time_ms: DAY_MS },
        ],
        total_time_ms: DAY_MS,
      }),
      params: params('create'),
    }))), 201, 'POST /v1/sessions');
    expectAll(http.batch(chunk.map((id) => ({
      method: 'POST',
      url: `${base}/v1/sessions/${id}/start`,
      body: null,
      params: params('start'),
    }))), 200, 'POST /v1/sessions/:id/start');
  }
  return ids;
}

// Deletes the sessions (DELETE /v1/sessions/:id answers 204).
export function deleteSessions(base, ids) {
  for (let from = 0; from < ids.length; from += CHUNK) {
    http.batch(ids.slice(from, from + CHUNK).map((id) => ({
      method: 'DELETE',
      url: `${base}/v1/sessions/${id}`,
      body: null,
      params: { tags: { name: 'delete' }, timeout: '30s' },
    })));
  }
}
