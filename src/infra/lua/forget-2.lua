--[[
  Drop a session from its shard's deadline index, but only when the session itself is gone (its keys
  expired): a session that exists keeps the deadline its last commit wrote.

  Input:
    KEYS[1] shard deadline sorted set (member = session id)
    KEYS[2] snapshot hash of the session
    ARGV[1] session id

  Output:
    1 when the member was removed, 0 when the session exists or was not indexed
]]
if redis.call("EXISTS", KEYS[2]) == 1 then
  return 0
end
return redis.call("ZREM", KEYS[1], ARGV[1])
