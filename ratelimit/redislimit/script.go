package redislimit

import "github.com/redis/go-redis/v9"

// gcra is the whole decision, run in Redis as one script: the generic cell
// rate algorithm on one key that holds the bucket's theoretical arrival
// time (TAT: when it will be full again) in microseconds of the server's
// clock, so that the instances' clocks never matter. A token is there when
// taking it leaves the TAT at most a burst's refill time ahead of now.
//
// KEYS[1]  the bucket
// ARGV[1]  one token's refill time, µs (a decimal, not rounded)
// ARGV[2]  the burst
// ARGV[3]  tokens wanted (0 reads the bucket)
// ARGV[4]  "1": grant as many of them as there are, at least one (a
//
//	lease); else all or none
//
// It returns {granted, remaining, retry after µs (-1: never), reset after
// µs}; a lease that finds no token is told when one is there. The key
// expires when the bucket is full again, so an idle key costs nothing. The TAT is written with 17 significant digits, which a
// double reads back exactly.
var gcra = redis.NewScript(`
if redis.replicate_commands then pcall(redis.replicate_commands) end
local interval = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local n = tonumber(ARGV[3])
local partial = ARGV[4] == "1"
local t = redis.call("TIME")
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local tolerance = interval * burst
local tat = tonumber(redis.call("GET", KEYS[1]))
if not tat or tat < now then tat = now end
local avail = math.floor((now + tolerance - tat) / interval + 1e-9)
if avail > burst then avail = burst end
if partial then
  if avail >= 1 then
    if n > avail then n = avail end
  else
    n = 1
  end
end
if n > avail then
  local retry = -1
  if n <= burst then
    retry = math.ceil(tat + n * interval - tolerance - now)
    if retry < 1 then retry = 1 end
  end
  return {0, avail, retry, math.ceil(tat - now)}
end
local newtat = tat + n * interval
local reset = newtat - now
if n > 0 then
  local ttl = math.ceil(reset / 1000)
  if ttl < 1 then ttl = 1 end
  redis.call("SET", KEYS[1], string.format("%.17g", newtat), "PX", ttl)
end
return {n, avail - n, 0, math.ceil(reset)}
`)
