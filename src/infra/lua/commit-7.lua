--[[
  Commit the events of one command to a session, atomically: version check, session index, shard
  log, snapshot, TTLs, deadline index and idempotency record, all or nothing; then publish the new
  shard-log entries on the shard's feed channel for the instances' readers.

  Input:
    KEYS[1] snapshot hash of the session (fields v = version, s = state JSON, e = last event id,
            c = the session's incarnation: the id of its first event, so that a session deleted
            and created again under the same id is told from the first one; absent on sessions
            created before the field existed, which count as incarnation "": the audit's writer
            names those as the audit knows them, see AuditRepository)
    KEYS[2] session index, a sorted set: member = event id, score = version, for the session's events
            of the resume window (ARGV[11]); an index of the shard log trimmed at each commit
    KEYS[3] shard log stream: every event of the shard, whole
    KEYS[4] shard deadline sorted set (member = session id, score = epoch ms)
    KEYS[5] idempotency hash of (session, key); the session's idem key with an empty name when
            ARGV[7] is "0" (never written then)
    KEYS[6] shard feed channel (SPUBLISH; same hash tag, so the same cluster slot)
    KEYS[7] the session's tombstone (string: the id of the event that deleted it), written when the
            commit deletes the session so that reads answer "deleted" at once instead of falling back
            to an older audited state; read, then removed, when a commit creates the session again

    ARGV[1]  expected version (integer; 0 = the session must not exist yet)
    ARGV[2]  session id (deadline member, "sid" field of the shard log)
    ARGV[3]  "1" when ARGV[4] is the new snapshot, "0" to delete the session
    ARGV[4]  new snapshot state JSON (ignored when ARGV[3] is "0")
    ARGV[5]  TTL of the snapshot and session index, seconds (live or ended, chosen by the caller),
             extended by the time until the deadline in ARGV[6] so a session outlives its next deadline
    ARGV[6]  next deadline, epoch ms; "" removes the session from the deadline set
    ARGV[7]  "1" when an idempotency record is requested, "0" otherwise
    ARGV[8]  idempotency fingerprint of the request
    ARGV[9]  idempotency response body
    ARGV[10] idempotency TTL, seconds
    ARGV[11] resume window, ms: each commit removes from the session index the events older than
             this (by the ms of their ids), at most N + 4 of them (N below): it may keep a few more,
             never fewer, and a backlog drains over the next commits
    ARGV[12] approximate max length of the shard log (MAXLEN ~)
    ARGV[13] last event id of the snapshot the events were decided on, "" to check the
             version only: with the version it names one snapshot, even across a session deleted and
             created again under the same id
    ARGV[14] epoch ms the events were decided at, read from a local estimate of this server's clock;
             "" when it came from Redis TIME in load-3 (then it needs no check)
    ARGV[15] number of events N (>= 1), followed by N groups of 4:
             version (integer), type, at (epoch ms), payload JSON

  Output:
    { "replayed", fingerprint, last event id, body }  the idempotency record exists; nothing written
    { "conflict", current version }                  current version != expected; nothing written
    { "stale" }                                      same version but another snapshot (ARGV[13]), or
                                                     ARGV[14] is outside the window below; nothing written
    { "committed", last version, id1, ..., idN }     ids of the appended events

  One id per event: each event is XADDed to the shard log, whole, and its id is added to the session
  index with its version as score, so the id is what clients see (last event id, feed frames, the
  audit's event_id, incarnation, snapshot e). Each event's shard-log entry holds sid, v, t, at, p, c
  (the session's incarnation) and d (ARGV[6]: the session's next due instant once the commit applied,
  "" when none or deleted). It carries no state: readers that hold the session's state fold the event
  into it (the domain's evolve), and the snapshot hash is the one copy of the state. Readers of the
  index take each event from the log (events-2). The index is a sorted set rather than a stream: of
  a few entries it is a listpack allocated to fit (176 B for 6), where every stream costs a
  preallocated 4 KB node. Releases before it kept a session stream under another key (events:),
  which this script never touches: it expires with its TTL, and the versions only it listed are read
  from the audit, as any version Redis no longer holds. Log entries of the releases whose session
  streams made their own ids name the event's id in a field e.

  The ids are chosen before any write, since an XADD refused mid-script would leave the commit half
  done: they must exceed the log's last id, and ids increase per session, across a release boundary
  and across a deletion. The first id is the first after the largest of: the log's last id (its tip;
  the last id it handed out when trimmed empty); the session's last (snapshot e, which may exceed the
  log's tip when a release before this one made its ids in a session stream of its own); and, when
  the commit creates a session deleted lately, the id of the event that deleted it (the tombstone,
  kept as long as the index). `<now>-0` when Redis TIME is past it, else `<ms>-<seq + 1>`; each
  further event of the commit takes the next sequence. A session created again after its tombstone
  expired has no index left either, and its earlier ids were the log's, so below its last id.

  Published on KEYS[6] after a commit: the JSON array of the previous id and the entries, where the
  previous id is that of the shard-log entry before this commit's ("0-0" for an empty log) and the
  entries are the appended ones as XRANGE returns them, a log id and its list of fields and values.
  The previous id chains the messages: a reader that did not see it missed one and reads the log.
]]

-- How far a decision time from a local clock estimate may trail this server's clock. The estimate is
-- calibrated to within a round trip; more than this means the caller stalled or lost calibration, and
-- it must decide again on a fresh load.
local MAX_DECISION_LAG_MS = 50

local function timeMs()
  local time = redis.call("TIME")
  return tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
end
if ARGV[7] == "1" then
  local record = redis.call("HMGET", KEYS[5], "f", "e", "b")
  if record[1] then
    return { "replayed", record[1], record[2], record[3] }
  end
end

local snapshot = redis.call("HMGET", KEYS[1], "v", "e", "c")
local current = tonumber(snapshot[1] or "0")
local expected = tonumber(ARGV[1])
if current ~= expected then
  return { "conflict", current }
end
local lastStreamId = snapshot[2] or ""
if ARGV[13] ~= "" and lastStreamId ~= ARGV[13] then
  return { "stale" }
end
local nowMs = timeMs()
-- Event times never run backwards: no earlier than the last commit (the ms of its id), no later than now.
if ARGV[14] ~= "" then
  local decidedAt = tonumber(ARGV[14])
  local lastCommitMs = tonumber(string.match(lastStreamId, "^(%d+)") or "0")
  if decidedAt > nowMs or decidedAt < lastCommitMs or nowMs - decidedAt > MAX_DECISION_LAG_MS then
    return { "stale" }
  end
end

local sessionId = ARGV[2]
local eventCount = tonumber(ARGV[15])
local tip = redis.call("XREVRANGE", KEYS[3], "+", "-", "COUNT", 1)[1]

-- ids are <ms>-<seq>, compared by both parts as numbers.
local function parseId(id)
  local ms, seq = string.match(id, "^(%d+)-(%d+)$")
  return tonumber(ms), tonumber(seq)
end
local function largerId(a, b)
  local aMs, aSeq = parseId(a)
  local bMs, bSeq = parseId(b)
  if aMs > bMs or (aMs == bMs and aSeq >= bSeq) then return a end
  return b
end
local function idAfter(id)
  local ms, seq = parseId(id)
  if nowMs > ms then return string.format("%d-0", nowMs) end
  return string.format("%d-%d", ms, seq + 1)
end
-- What the log's next XADD must exceed: its last id, which trimming every entry away does not lower.
local function logLastId()
  if tip then return tip[1] end
  if redis.call("EXISTS", KEYS[3]) == 1 then
    local info = redis.call("XINFO", "STREAM", KEYS[3])
    for i = 1, #info, 2 do
      if info[i] == "last-generated-id" then return info[i + 1] end
    end
  end
  return "0-0"
end

local sessionLast = lastStreamId ~= "" and lastStreamId or "0-0"
-- A deleted session keeps its index for late readers; a new session by the same id starts with none
-- of its events, and its ids follow the deleted one's, so an id names one session's event.
if expected == 0 then
  sessionLast = redis.call("GET", KEYS[7]) or "0-0"
  redis.call("DEL", KEYS[2], KEYS[7])
end
local lastId = largerId(logLastId(), sessionLast)

-- Members are in version order and ids increase with versions: the oldest come first. Bounded, so a
-- commit's work does not grow with a backlog (a session idle for longer than the window).
local windowStartMs = nowMs - tonumber(ARGV[11])
local expired = 0
for _, id in ipairs(redis.call("ZRANGE", KEYS[2], 0, eventCount + 3)) do
  if parseId(id) >= windowStartMs then break end
  expired = expired + 1
end
if expired > 0 then
  redis.call("ZREMRANGEBYRANK", KEYS[2], 0, expired - 1)
end
-- Set from the first event's id below when this commit creates the session.
local incarnation = snapshot[3] or ""
local reply = { "committed", 0 }
local appended = {}
local indexed = {}
local lastVersion
for i = 0, eventCount - 1 do
  local base = 16 + i * 4
  local version, eventType, at, payload = ARGV[base], ARGV[base + 1], ARGV[base + 2], ARGV[base + 3]
  lastId = idAfter(lastId)
  if expected == 0 and i == 0 then
    incarnation = lastId
  end
  local fields = { "sid", sessionId, "v", version, "t", eventType, "at", at, "p", payload, "c", incarnation, "d", ARGV[6] }
  redis.call("XADD", KEYS[3], "MAXLEN", "~", ARGV[12], lastId, unpack(fields))
  indexed[#indexed + 1] = version
  indexed[#indexed + 1] = lastId
  appended[#appended + 1] = { lastId, fields }
  lastVersion = version
  reply[#reply + 1] = lastId
end
reply[2] = tonumber(lastVersion)
redis.call("ZADD", KEYS[2], unpack(indexed))

-- A session must outlive its next deadline, however long its clock: keep it the TTL past that instant.
local ttl = tonumber(ARGV[5])
if ARGV[6] ~= "" then
  ttl = ttl + math.max(0, math.ceil((tonumber(ARGV[6]) - nowMs) / 1000))
end
if ARGV[3] == "1" then
  redis.call("HSET", KEYS[1], "v", lastVersion, "s", ARGV[4], "e", lastId, "c", incarnation)
  redis.call("EXPIRE", KEYS[1], ttl)
else
  redis.call("DEL", KEYS[1])
  -- Lives as long as the index: past that, the audit has the deletion (or the lag alarm says it has not).
  redis.call("SET", KEYS[7], lastId, "EX", ttl)
end
redis.call("EXPIRE", KEYS[2], ttl)

if ARGV[6] ~= "" then
  redis.call("ZADD", KEYS[4], ARGV[6], sessionId)
else
  redis.call("ZREM", KEYS[4], sessionId)
end

if ARGV[7] == "1" then
  redis.call("HSET", KEYS[5], "f", ARGV[8], "e", lastId, "b", ARGV[9])
  redis.call("EXPIRE", KEYS[5], ARGV[10])
end

redis.call("SPUBLISH", KEYS[6], cjson.encode({ tip and tip[1] or "0-0", appended }))

return reply
