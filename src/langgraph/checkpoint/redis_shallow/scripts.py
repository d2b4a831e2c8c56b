"""The Lua scripts that make each write one atomic round trip.

Each script touches only keys of one thread, which share a cluster hash
slot (see :mod:`.keys`). Scripts run with EVALSHA; ``setup`` loads them, and
a server that lost its script cache (restart, ``SCRIPT FLUSH``) gets the
source once through EVAL (see ``Script`` below).
"""

from __future__ import annotations

import hashlib

__all__ = [
    "ALL",
    "DELETE_IF_TOKEN",
    "DELETE_THREAD",
    "PRUNE_KEEP_LATEST",
    "PUT",
    "PUT_WRITES",
    "READ_THREAD",
    "WRITE_THREAD",
    "Script",
]


class Script:
    """A Lua script with its SHA1, for EVALSHA with an EVAL fallback."""

    __slots__ = ("name", "sha", "source")

    def __init__(self, name: str, source: str) -> None:
        self.name = name
        self.source = source
        self.sha = hashlib.sha1(source.encode()).hexdigest()


# KEYS: checkpoint hash, writes hash, registry set.
# ARGV: ttl_ms, ns member, keep prefix (new id), keep prefix (parent id) or "",
#       n required fields, required fields..., then field/value pairs.
# Refuses (returns the missing fields, writing nothing) when a channel value
# the checkpoint refers to but does not send is not stored; the saver then
# sends those values too. Otherwise replaces the checkpoint hash with exactly
# the sent and required fields and drops the writes of every checkpoint whose
# id is older than the new one (bytewise; LangGraph's ids are time-ordered),
# except the parent's. Writes of newer ids stay: with "async" durability the
# next step's writes can arrive before this put.
PUT = Script(
    "put",
    """
local nreq = tonumber(ARGV[5])
local keep = {}
local missing = {}
for i = 6, 5 + nreq do
  if redis.call('HEXISTS', KEYS[1], ARGV[i]) == 0 then
    missing[#missing + 1] = ARGV[i]
  end
  keep[ARGV[i]] = true
end
if #missing > 0 then
  return missing
end
local first = 6 + nreq
for i = first, #ARGV, 2 do
  keep[ARGV[i]] = true
end
local stale = {}
for _, f in ipairs(redis.call('HKEYS', KEYS[1])) do
  if not keep[f] then stale[#stale + 1] = f end
end
for i = 1, #stale, 1000 do
  redis.call('HDEL', KEYS[1], unpack(stale, i, math.min(i + 999, #stale)))
end
for i = first, #ARGV, 1000 do
  redis.call('HSET', KEYS[1], unpack(ARGV, i, math.min(i + 999, #ARGV)))
end
local function older(x, y)  -- bytewise x < y (Lua's < follows the locale)
  for i = 1, math.min(#x, #y) do
    local p, q = string.byte(x, i), string.byte(y, i)
    if p ~= q then return p < q end
  end
  return #x < #y
end
local a, b = ARGV[3], ARGV[4]
local nb = #b
local newid = string.sub(a, string.find(a, ':', 1, true) + 1)
stale = {}
for _, f in ipairs(redis.call('HKEYS', KEYS[2])) do
  local len = string.match(f, '^(%d+):')
  local id = len and string.sub(f, #len + 2, #len + 1 + tonumber(len)) or ''
  if older(id, newid) and (nb == 0 or string.sub(f, 1, nb) ~= b) then
    stale[#stale + 1] = f
  end
end
for i = 1, #stale, 1000 do
  redis.call('HDEL', KEYS[2], unpack(stale, i, math.min(i + 999, #stale)))
end
redis.call('SADD', KEYS[3], ARGV[2])
local ttl = tonumber(ARGV[1])
if ttl > 0 then
  redis.call('PEXPIRE', KEYS[1], ttl)
  redis.call('PEXPIRE', KEYS[2], ttl)
  redis.call('PEXPIRE', KEYS[3], ttl)
end
return 0
""",
)

# KEYS: writes hash, registry set, checkpoint hash.
# ARGV: ttl_ms, ns member, then (mode, field, record) triples; mode "n"
# inserts if absent, "s" overwrites.
PUT_WRITES = Script(
    "put_writes",
    """
for i = 3, #ARGV, 3 do
  if ARGV[i] == 'n' then
    redis.call('HSETNX', KEYS[1], ARGV[i + 1], ARGV[i + 2])
  else
    redis.call('HSET', KEYS[1], ARGV[i + 1], ARGV[i + 2])
  end
end
redis.call('SADD', KEYS[2], ARGV[2])
local ttl = tonumber(ARGV[1])
if ttl > 0 then
  redis.call('PEXPIRE', KEYS[1], ttl)
  redis.call('PEXPIRE', KEYS[2], ttl)
  redis.call('PEXPIRE', KEYS[3], ttl)
end
return 0
""",
)

# KEYS: registry set. ARGV: checkpoint key base, writes key base.
# Deletes every namespace's two hashes and the registry; returns how many
# keys it removed.
DELETE_THREAD = Script(
    "delete_thread",
    """
local n = 0
for _, m in ipairs(redis.call('SMEMBERS', KEYS[1])) do
  n = n + redis.call('DEL', ARGV[1] .. m, ARGV[2] .. m)
end
return n + redis.call('DEL', KEYS[1])
""",
)

# KEYS: registry set. ARGV: checkpoint key base, writes key base, ttl_ms to
# refresh (0: none). Returns {member, checkpoint fields, write fields, ...}
# for every namespace of the thread.
READ_THREAD = Script(
    "read_thread",
    """
local out = {}
local ttl = tonumber(ARGV[3])
for _, m in ipairs(redis.call('SMEMBERS', KEYS[1])) do
  local ck, wk = ARGV[1] .. m, ARGV[2] .. m
  out[#out + 1] = m
  out[#out + 1] = redis.call('HGETALL', ck)
  out[#out + 1] = redis.call('HGETALL', wk)
  if ttl > 0 then
    redis.call('PEXPIRE', ck, ttl)
    redis.call('PEXPIRE', wk, ttl)
  end
end
if ttl > 0 then redis.call('PEXPIRE', KEYS[1], ttl) end
return out
""",
)

# KEYS: registry set. ARGV: checkpoint key base, writes key base.
# For every namespace: drop the writes of any checkpoint but the stored one,
# and drop namespaces that hold writes but no checkpoint.
PRUNE_KEEP_LATEST = Script(
    "prune_keep_latest",
    """
local removed = 0
for _, m in ipairs(redis.call('SMEMBERS', KEYS[1])) do
  local ck, wk = ARGV[1] .. m, ARGV[2] .. m
  local id = redis.call('HGET', ck, 'id')
  if not id then
    removed = removed + redis.call('DEL', ck, wk)
    redis.call('SREM', KEYS[1], m)
  else
    local prefix = string.len(id) .. ':' .. id
    local n = #prefix
    local stale = {}
    for _, f in ipairs(redis.call('HKEYS', wk)) do
      if string.sub(f, 1, n) ~= prefix then stale[#stale + 1] = f end
    end
    for i = 1, #stale, 1000 do
      removed = removed + redis.call(
        'HDEL', wk, unpack(stale, i, math.min(i + 999, #stale)))
    end
  end
end
if redis.call('SCARD', KEYS[1]) == 0 then redis.call('DEL', KEYS[1]) end
return removed
""",
)

# KEYS: target registry set. ARGV: checkpoint key base, writes key base,
# ttl_ms (0: none), then per namespace: member, n, n checkpoint field/value
# items, m, m write field/value items. Replaces the whole target thread.
WRITE_THREAD = Script(
    "write_thread",
    """
for _, m in ipairs(redis.call('SMEMBERS', KEYS[1])) do
  redis.call('DEL', ARGV[1] .. m, ARGV[2] .. m)
end
redis.call('DEL', KEYS[1])
local ttl = tonumber(ARGV[3])
local i = 4
while i <= #ARGV do
  local m = ARGV[i]
  local targets = {ARGV[1] .. m, ARGV[2] .. m}
  i = i + 1
  for t = 1, 2 do
    local n = tonumber(ARGV[i])
    for j = i + 1, i + n, 1000 do
      redis.call('HSET', targets[t], unpack(ARGV, j, math.min(j + 999, i + n)))
    end
    if n > 0 and ttl > 0 then redis.call('PEXPIRE', targets[t], ttl) end
    i = i + n + 1
  end
  redis.call('SADD', KEYS[1], m)
end
if ttl > 0 then redis.call('PEXPIRE', KEYS[1], ttl) end
return 0
""",
)

# KEYS: checkpoint hash, writes hash, registry set. ARGV: ns member, then
# metadata tokens. Deletes the namespace's checkpoint and writes if the
# checkpoint's metadata tokens include any of the given ones (its run id).
DELETE_IF_TOKEN = Script(
    "delete_if_token",
    """
local mt = redis.call('HGET', KEYS[1], 'mt')
if not mt then return 0 end
mt = ' ' .. mt .. ' '
for i = 2, #ARGV do
  if string.find(mt, ' ' .. ARGV[i] .. ' ', 1, true) then
    redis.call('DEL', KEYS[1], KEYS[2])
    redis.call('SREM', KEYS[3], ARGV[1])
    if redis.call('SCARD', KEYS[3]) == 0 then redis.call('DEL', KEYS[3]) end
    return 1
  end
end
return 0
""",
)

ALL = (
    PUT,
    PUT_WRITES,
    READ_THREAD,
    DELETE_THREAD,
    PRUNE_KEEP_LATEST,
    WRITE_THREAD,
    DELETE_IF_TOKEN,
)
"""Every script, for ``setup`` to load."""
