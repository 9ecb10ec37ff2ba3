--[[
  Read a session's events: the ids its index lists, each event taken whole from the shard log, which
  holds it under the same id (see commit-7), in one round trip.

  Input:
    KEYS[1] session index (sorted set: member = event id, score = version)
    KEYS[2] shard log stream of the session's shard

    ARGV[1] "asc": oldest first, from ARGV[2]; "desc": newest first, from the newest
    ARGV[2] where an ascending read starts, as ZRANGE BYSCORE takes it: "-inf", or "(<version>" for
            after a version
    ARGV[3] the most events to return; "" for all

  Output: the events as XRANGE replies, each { id, { field, value, ... } } with the shard-log entry's
  fields (sid, v, t, at, p, c, d).

  The log is trimmed from its oldest end (entries audited and out of the resume window, or past its
  maximum length), so an index member whose log entry is gone is older than every one still there:
  the event counts as out of Redis (the audit has it), and the index starts after the last such one.
]]

local index, log = KEYS[1], KEYS[2]
local limit = tonumber(ARGV[3])

-- The event of an index member; nil when its log entry is gone.
local function whole(id)
  return redis.call("XRANGE", log, id, id)[1]
end

local events = {}
if ARGV[1] == "desc" then
  for _, id in ipairs(redis.call("ZRANGE", index, 0, limit and limit - 1 or -1, "REV")) do
    local event = whole(id)
    if not event then
      break
    end
    events[#events + 1] = event
  end
  return events
end

-- Ascending: a member whose event is gone drops those before it, and the read goes on until the limit.
local start = ARGV[2]
while true do
  local wanted = limit and limit - #events
  if wanted == 0 then
    return events
  end
  local ids = wanted and redis.call("ZRANGE", index, start, "+inf", "BYSCORE", "LIMIT", 0, wanted)
    or redis.call("ZRANGE", index, start, "+inf", "BYSCORE")
  for _, id in ipairs(ids) do
    local event = whole(id)
    if event then
      events[#events + 1] = event
    else
      events = {}
    end
  end
  if not wanted or #ids < wanted then
    return events
  end
  start = "(" .. redis.call("ZSCORE", index, ids[#ids])
end
