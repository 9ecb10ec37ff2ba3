--[[
  Lease requests of a rate limit's fixed window: counts `ARGV[2]` requests at once, for the instance to
  admit locally, so that it asks Redis once per lease rather than once per request. Every instance
  leases from the same counter, so together they never admit more than the limit in one window.

  Input:
    KEYS[1] the window's counter (a credential's or client address's; it lives one window)
    ARGV[1] window length, milliseconds
    ARGV[2] requests leased, at least 1

  Output: { counter, ttl }
    counter: the count after this lease; the lease holds the requests counter - ARGV[2] + 1 .. counter
             (those above the limit are refused)
    ttl:     milliseconds left in the window
]]
local leased = tonumber(ARGV[2])
local counter = redis.call("INCRBY", KEYS[1], leased)
if counter == leased then
  redis.call("PEXPIRE", KEYS[1], ARGV[1])
  return { counter, tonumber(ARGV[1]) }
end
local ttl = redis.call("PTTL", KEYS[1])
if ttl < 0 then
  -- Left without expiry by another writer: it would never let its credential in again.
  redis.call("PEXPIRE", KEYS[1], ARGV[1])
  ttl = tonumber(ARGV[1])
end
return { counter, ttl }
