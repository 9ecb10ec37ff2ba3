--[[
  The floor server's whole command: bump the session's version, store its snapshot, append the entry
  to its shard log and publish it on the shard's feed channel, in one round trip
  (load-tests/floor/server.mjs).

  Input:
    KEYS[1] snapshot hash of the session (fields v = version, s = state JSON)
    KEYS[2] shard log stream of the session's shard
    KEYS[3] feed channel of the session's shard

    ARGV[1] session id ("sid" field of the log entry)
    ARGV[2] state JSON

  Output: { new version, shard-log entry id }
  Published on KEYS[3]: JSON array [entry id, session id, version, state JSON].
]]
local version = redis.call("HINCRBY", KEYS[1], "v", 1)
redis.call("HSET", KEYS[1], "s", ARGV[2])
local id = redis.call("XADD", KEYS[2], "MAXLEN", "~", 100000, "*", "sid", ARGV[1], "v", version, "s", ARGV[2])
redis.call("SPUBLISH", KEYS[3], cjson.encode({ id, ARGV[1], tostring(version), ARGV[2] }))
return { version, id }
