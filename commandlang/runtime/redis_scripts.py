"""The Lua scripts of `RedisStore` (redis_store.py): each runs atomically inside Redis.

Key names come from the store's prefix (ARGV[1] where a script builds them); see the
layout in redis_store.py.
"""

from __future__ import annotations

__all__ = [
    "APPEND",
    "CLAIM",
    "EVENTS_AFTER",
    "EXPIRED_QUESTIONS",
    "PRUNE",
    "PUT_QUESTION",
    "RELEASE_UNSETTLED",
    "SNAPSHOT",
    "TAKE_QUESTION",
    "UNFINISHED",
]

# Several changes in order, each 9 KEYS and 10 ARGV: all or up to the first refused one (its error).
APPEND = """
local seqs = {}
for i = 0, #KEYS / 9 - 1 do
  local k, a = i * 9, i * 10
  local cur = redis.call('HGET', KEYS[k + 1], 'version')
  local version = tonumber(ARGV[a + 2])
  if (version == 1 and cur) or (version > 1 and tonumber(cur or 0) ~= version - 1) then
    return redis.error_reply('STALE version ' .. tostring(cur) .. ' after ' .. #seqs .. ' change(s)')
  end
  redis.call('HSET', KEYS[k + 1], 'version', version, 'body', ARGV[a + 3], 'status', ARGV[a + 5], 'conv', ARGV[a + 8],
             'queue', ARGV[a + 10])
  local seq = redis.call('INCR', KEYS[k + 2])
  redis.call('XADD', KEYS[k + 3], seq .. '-1', 'b', ARGV[a + 3], 't', ARGV[a + 4])
  if ARGV[a + 6] == '1' then
    redis.call('ZREM', KEYS[k + 4], ARGV[a + 1]); redis.call('HDEL', KEYS[k + 8], ARGV[a + 1])
  else
    redis.call('ZADD', KEYS[k + 4], ARGV[a + 4], ARGV[a + 1]); redis.call('HSET', KEYS[k + 8], ARGV[a + 1], ARGV[a + 9])
  end
  redis.call('ZADD', KEYS[k + 5], ARGV[a + 4], ARGV[a + 1])
  redis.call('ZADD', KEYS[k + 6], ARGV[a + 4], ARGV[a + 1])
  if ARGV[a + 10] ~= '' then redis.call('ZADD', KEYS[k + 9], ARGV[a + 4], ARGV[a + 1]) end
  if ARGV[a + 7] ~= '' then redis.call('HDEL', KEYS[k + 7], ARGV[a + 7]) end
  table.insert(seqs, seq)
end
return seqs
"""

# 1: claimed; 0: a duplicate (settled, or still queued on this replica); 2: unsettled on another live
# replica. A dead replica's unsettled claim is taken over: that message never started there.
CLAIM = """
if redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) then
  redis.call('HSET', KEYS[2], ARGV[3], ARGV[1])
  return 1
end
local owner = redis.call('HGET', KEYS[2], ARGV[3])
if (not owner) or owner == ARGV[1] then return 0 end
if redis.call('EXISTS', ARGV[4] .. 'replica:' .. owner) == 1 then return 2 end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
redis.call('HSET', KEYS[2], ARGV[3], ARGV[1])
return 1
"""

# Whose work may this replica take over: its own, or a replica's whose lease has run out.
_ORPHANED = """
local function orphaned(owner)
  return owner == ARGV[2] or redis.call('EXISTS', ARGV[1] .. 'replica:' .. owner) == 0
end
"""

RELEASE_UNSETTLED = (
    _ORPHANED
    + """
local pairs_ = redis.call('HGETALL', KEYS[1])
local released = 0
for i = 1, #pairs_, 2 do
  if orphaned(pairs_[i + 1]) then
    released = released + redis.call('DEL', ARGV[1] .. 'dedupe:' .. pairs_[i])
    redis.call('HDEL', KEYS[1], pairs_[i])
  end
end
return released
"""
)

# ARGV[3]: 'all' (this replica's and dead replicas'), 'dead' (dead replicas' only) or 'own'
UNFINISHED = (
    _ORPHANED
    + """
local ids = redis.call('ZRANGE', KEYS[1], 0, -1)
local bodies = {}
for _, id in ipairs(ids) do
  local owner = redis.call('HGET', KEYS[2], id) or ARGV[2]
  local mine = owner == ARGV[2]
  if (ARGV[3] == 'all' and orphaned(owner)) or (ARGV[3] == 'dead' and not mine and orphaned(owner))
     or (ARGV[3] == 'own' and mine) then
    local body = redis.call('HGET', ARGV[1] .. 'cmd:' .. id, 'body')
    if body then table.insert(bodies, body) end
  end
end
return bodies
"""
)

# [latest seq, body, body, ...]: the live records and the `limit` most recent, read atomically.
SNAPSHOT = """
local out = {redis.call('GET', KEYS[2]) or '0'}
local seen = {}
local function add(id)
  if not seen[id] then
    seen[id] = true
    local body = redis.call('HGET', ARGV[1] .. 'cmd:' .. id, 'body')
    if body then table.insert(out, body) end
  end
end
for _, id in ipairs(redis.call('ZRANGE', KEYS[1], 0, -1)) do add(id) end
local limit = tonumber(ARGV[2])
if limit > 0 then
  for i = 3, #ARGV do
    for _, id in ipairs(redis.call('ZREVRANGE', ARGV[1] .. ARGV[i], 0, limit - 1)) do add(id) end
  end
end
return out
"""

# [latest seq, oldest kept seq or '', entries...]
EVENTS_AFTER = """
local first = redis.call('XRANGE', KEYS[2], '-', '+', 'COUNT', 1)
local out = {redis.call('GET', KEYS[1]) or '0', ''}
if #first > 0 then out[2] = first[1][1] end
local entries = redis.call('XRANGE', KEYS[2], '(' .. ARGV[1] .. '-1', '+', 'COUNT', ARGV[2])
for _, entry in ipairs(entries) do table.insert(out, entry[1]); table.insert(out, entry[2][2]) end
return out
"""

PRUNE = """
local removed = 0
local final = {completed = true, failed = true, timed_out = true, cancelled = true, rejected = true}
for _, id in ipairs(redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', '(' .. ARGV[2], 'LIMIT', 0, ARGV[3])) do
  local key = ARGV[1] .. 'cmd:' .. id
  local fields = redis.call('HMGET', key, 'status', 'conv', 'queue')
  if fields[1] == false or final[fields[1]] then
    redis.call('DEL', key)
    redis.call('ZREM', KEYS[1], id)
    if fields[2] then redis.call('ZREM', ARGV[1] .. 'conv:' .. fields[2], id) end
    if fields[3] and fields[3] ~= '' then redis.call('ZREM', ARGV[1] .. 'queue:' .. fields[3], id) end
    removed = removed + 1
  end
end
-- events are appended in time order: trim up to the first one young enough to keep
local before = redis.call('XLEN', KEYS[2])
local keep = nil
local cursor = '-'
while keep == nil do
  local page = redis.call('XRANGE', KEYS[2], cursor, '+', 'COUNT', 500)
  if #page == 0 then break end
  for _, entry in ipairs(page) do
    if tonumber(entry[2][4]) >= tonumber(ARGV[2]) then keep = entry[1]; break end
  end
  if keep == nil then cursor = '(' .. page[#page][1] end
end
if keep then redis.call('XTRIM', KEYS[2], 'MINID', keep) else redis.call('XTRIM', KEYS[2], 'MAXLEN', 0) end
return removed + before - redis.call('XLEN', KEYS[2])
"""

# Confirmation questions. KEYS: the `questions` hash (key -> body), `questions:age` (key by asking order),
# `questions:expiry` (key by expires_at), and for PUT_QUESTION the `questions:n` counter.
_FORGET_QUESTION = """
local function forget(key)
  redis.call('HDEL', KEYS[1], key); redis.call('ZREM', KEYS[2], key); redis.call('ZREM', KEYS[3], key)
end
"""

# ARGV: key, body, expires_at, limit. Returns the bodies forgotten: the replaced one, then the oldest past the bound.
PUT_QUESTION = (
    _FORGET_QUESTION
    + """
local dropped = {}
local old = redis.call('HGET', KEYS[1], ARGV[1])
if old then table.insert(dropped, old); forget(ARGV[1]) end
local over = redis.call('HLEN', KEYS[1]) - tonumber(ARGV[4]) + 1
if over > 0 then
  for _, key in ipairs(redis.call('ZRANGE', KEYS[2], 0, over - 1)) do
    local body = redis.call('HGET', KEYS[1], key)
    if body then table.insert(dropped, body) end
    forget(key)
  end
end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
redis.call('ZADD', KEYS[2], redis.call('INCR', KEYS[4]), ARGV[1])
redis.call('ZADD', KEYS[3], ARGV[3], ARGV[1])
return dropped
"""
)

# ARGV: key, token ('' when none was given), now. Returns {'taken', body}, {'none'} or {'no_token'}; an
# expired question stays for EXPIRED_QUESTIONS, which hands it to one replica to record unanswered.
TAKE_QUESTION = (
    _FORGET_QUESTION
    + """
local body = redis.call('HGET', KEYS[1], ARGV[1])
if (not body) or tonumber(redis.call('ZSCORE', KEYS[3], ARGV[1]) or 0) < tonumber(ARGV[3]) then return {'none'} end
if ARGV[2] == '' or cjson.decode(body)['token'] ~= ARGV[2] then return {'no_token'} end
forget(ARGV[1])
return {'taken', body}
"""
)

# ARGV: now, at most how many. Returns the bodies of the questions expired before `now`, oldest asked first.
EXPIRED_QUESTIONS = (
    _FORGET_QUESTION
    + """
local keys = redis.call('ZRANGEBYSCORE', KEYS[3], '-inf', '(' .. ARGV[1], 'LIMIT', 0, tonumber(ARGV[2]))
local found = {}
for _, key in ipairs(keys) do
  local body = redis.call('HGET', KEYS[1], key)
  if body then table.insert(found, {tonumber(redis.call('ZSCORE', KEYS[2], key) or 0), body}) end
  forget(key)
end
table.sort(found, function(a, b) return a[1] < b[1] end)
local out = {}
for _, item in ipairs(found) do table.insert(out, item[2]) end
return out
"""
)
