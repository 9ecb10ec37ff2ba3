--[[
  Load a session's snapshot, the Redis server time and, optionally, an idempotency record, in one
  round trip: the command handler decides against this and commits with commit-7.

  Input:
    KEYS[1] snapshot hash of the session (fields v, s, e)
    KEYS[2] idempotency hash of (session, key); any key of the session's slot when ARGV[1] is "0"
    KEYS[3] the session's tombstone (see commit-7): the id of the event that deleted it, while kept

    ARGV[1] "1" when an idempotency key was given, "0" otherwise

  Output: a flat array (missing values are nil)
    [1] snapshot state JSON
    [2] snapshot version (string integer)
    [3] last event id
    [4] server time, integer epoch milliseconds (Redis TIME)
    [5] idempotency fingerprint
    [6] idempotency last event id
    [7] idempotency response body
    [8] the tombstone: the id of the event that deleted the session, when it was deleted lately
]]
local snapshot = redis.call("HMGET", KEYS[1], "s", "v", "e")
local time = redis.call("TIME")
local nowMs = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)

local idem = { false, false, false }
if ARGV[1] == "1" then
  idem = redis.call("HMGET", KEYS[2], "f", "e", "b")
end

return { snapshot[1], snapshot[2], snapshot[3], nowMs, idem[1], idem[2], idem[3], redis.call("GET", KEYS[3]) }
