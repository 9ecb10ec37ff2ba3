--[[
  The floor server's whole command: bump the session's version, store its snapshot and append the
  entry to its shard log, in one round trip (load-tests/floor/server.mjs).

  Input:
    KEYS[1] snapshot hash of the session (fields v = version, s = state JSON)
    KEYS[2] shard log stream of the session's shard

    ARGV[1] session id ("sid" field of the log entry)
    ARGV[2] state JSON

  Output: { new version, shard-log entry id }
]]
local version = redis.call("HINCRBY", KEYS[1], "v", 1)
redis.call("HSET", KEYS[1], "s", ARGV[2])
local id = redis.call("XADD", KEYS[2], "MAXLEN", "~", 100000, "*", "sid", ARGV[1], "v", version, "s", ARGV[2])
return { version, id }
