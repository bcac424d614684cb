-- wrk script for bench/load.py: signed-in researchers reading transcript pages and
-- searching, through nginx (connections kept alive, as browsers do). Arguments (after --): a file of session cookies (one a line), a file of
-- request paths (one a line, already mixed in the wanted proportions), the think
-- time between two requests of a connection as MIN_MS and MAX_MS.
--
-- Each request goes out as one researcher, picked at random, to the next path.
-- Anything but a 200 counts as an error (a redirect to /login would mean a lost
-- session). done() prints one JSON line that bench/load.py reads.

local cookies, paths = {}, {}
local think_min, think_max = 0, 0
local next_path = 1
local bad = 0
local threads = {}

local function lines(name)
  local out = {}
  for line in io.lines(name) do
    if line ~= "" then out[#out + 1] = line end
  end
  return out
end

function setup(thread)
  threads[#threads + 1] = thread
end

function init(args)
  cookies = lines(args[1])
  paths = lines(args[2])
  think_min, think_max = tonumber(args[3]), tonumber(args[4])
  math.randomseed(os.time() + #threads * 7919 + math.floor(os.clock() * 1e6))
  next_path = math.random(#paths)
end

function delay()
  if think_max <= 0 then return 0 end
  return math.random(think_min, think_max)
end

function request()
  local path = paths[next_path]
  next_path = next_path % #paths + 1
  local headers = { ["Cookie"] = cookies[math.random(#cookies)] }
  return wrk.format("GET", path, headers)
end

function response(status, headers, body)
  if status ~= 200 then bad = bad + 1 end
end

function done(summary, latency, requests)
  local not_ok = 0
  for _, thread in ipairs(threads) do
    not_ok = not_ok + (thread:get("bad") or 0)
  end
  local e = summary.errors
  io.write(string.format(
    '{"requests": %d, "duration_us": %d, "bytes": %d, "not_200": %d, '
      .. '"connect": %d, "read": %d, "write": %d, "status": %d, "timeout": %d, '
      .. '"p50_ms": %.1f, "p95_ms": %.1f, "p99_ms": %.1f, "max_ms": %.1f, "mean_ms": %.1f}\n',
    summary.requests, summary.duration, summary.bytes, not_ok,
    e.connect, e.read, e.write, e.status, e.timeout,
    latency:percentile(50) / 1000, latency:percentile(95) / 1000,
    latency:percentile(99) / 1000, latency.max / 1000, latency.mean / 1000))
end
