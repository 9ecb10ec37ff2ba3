--[[
  Read a session's events: the ids its stream lists, each event taken whole from the shard log, which
  holds it under the same id (see commit-7), in one round trip.

  Input:
    KEYS[1] session stream
    KEYS[2] shard log stream of the session's shard

    ARGV[1] "asc": oldest first, from ARGV[2]; "desc": newest first, from the newest
    ARGV[2] where an ascending read starts, as XRANGE takes it: "-", or "(<id>" for after an id
    ARGV[3] the most events to return; "" for all

  Output: the events as XRANGE replies, each { id, { field, value, ... } } with the shard-log entry's
  fields (sid, v, t, at, p, c, d), or for an entry written by a release from before the session stream
  was an index of the log, the session-stream entry's own (v, t, at, p).

  The log is trimmed from its oldest end (entries audited and out of the resume window, or past its
  maximum length), so a stream entry whose log entry is gone is older than every one still there: the
  event counts as out of Redis (the audit has it), and the stream starts after the last such entry.
]]

local stream, log = KEYS[1], KEYS[2]
local limit = tonumber(ARGV[3])

-- The event of a stream entry; nil when its log entry is gone.
local function whole(entry)
  if #entry[2] > 2 then
    return entry
  end
  return redis.call("XRANGE", log, entry[1], entry[1])[1]
end

local events = {}
if ARGV[1] == "desc" then
  local entries = limit and redis.call("XREVRANGE", stream, "+", "-", "COUNT", limit)
    or redis.call("XREVRANGE", stream, "+", "-")
  for _, entry in ipairs(entries) do
    local event = whole(entry)
    if not event then
      break
    end
    events[#events + 1] = event
  end
  return events
end

-- Ascending: an entry whose event is gone drops those before it, and the read goes on until the limit.
local start = ARGV[2]
while true do
  local wanted = limit and limit - #events
  if wanted == 0 then
    return events
  end
  local entries = wanted and redis.call("XRANGE", stream, start, "+", "COUNT", wanted)
    or redis.call("XRANGE", stream, start, "+")
  for _, entry in ipairs(entries) do
    local event = whole(entry)
    if event then
      events[#events + 1] = event
    else
      events = {}
    end
  end
  if not wanted or #entries < wanted then
    return events
  end
  start = "(" .. entries[#entries][1]
end
