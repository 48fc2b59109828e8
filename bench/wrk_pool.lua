-- wrk script of bench/run.py: cycles through pre-built requests read from a file.
--
--   wrk -t2 -c64 -d10s -s bench/wrk_pool.lua http://127.0.0.1:PORT -- POOL_FILE THREADS UNIQUE_KEY PREFIX
--
-- POOL_FILE: one request a line, METHOD \t PATH \t HEADERS \t BODY, HEADERS being "Name: value"
-- pairs joined by \031. Thread t (0-based) of THREADS sends lines t+1, t+1+THREADS, ... so two
-- threads never send the same line while the pool lasts (distinct WeChat MsgIds stay distinct).
-- UNIQUE_KEY = 1: every request gets its own Idempotency-Key header (PREFIX-thread-sequence).
-- done() prints one line "WRKJSON {...}" with the counts and the latency percentiles (in µs).

local next_thread = 0

function setup(thread)
  thread:set("tid", next_thread)
  next_thread = next_thread + 1
end

local pool = {}
local count, pos, step, unique, prefix, seq

function init(args)
  local path = args[1]
  step = tonumber(args[2]) or 1
  unique = args[3] == "1"
  prefix = args[4] or "bench"
  tid = tid or 0
  seq = 0
  for line in io.lines(path) do
    local method, target, rawheaders, body = line:match("^([^\t]*)\t([^\t]*)\t([^\t]*)\t(.*)$")
    if method then
      local headers = {}
      for pair in string.gmatch(rawheaders, "[^\031]+") do
        local name, value = pair:match("^([^:]+):%s*(.*)$")
        if name then headers[name] = value end
      end
      if body == "" then body = nil end
      if unique then
        pool[#pool + 1] = {method, target, headers, body}
      else
        pool[#pool + 1] = wrk.format(method, target, headers, body)
      end
    end
  end
  count = #pool
  if count == 0 then
    error("no request in " .. tostring(path))
  end
  pos = (tid % count) + 1
end

function request()
  local r = pool[pos]
  pos = pos + step
  if pos > count then pos = ((pos - 1) % count) + 1 end
  if unique then
    seq = seq + 1
    r[3]["Idempotency-Key"] = prefix .. "-" .. tid .. "-" .. seq
    return wrk.format(r[1], r[2], r[3], r[4])
  end
  return r
end

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'WRKJSON {"requests":%d,"duration_us":%d,"bytes":%d,"connect":%d,"read":%d,"write":%d,"status":%d,' ..
    '"timeout":%d,"p50_us":%d,"p90_us":%d,"p99_us":%d,"max_us":%d}\n',
    summary.requests, summary.duration, summary.bytes, e.connect, e.read, e.write, e.status, e.timeout,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max))
end
