-- wrk script: closed-loop POST /v1/models/<model>/generate, counting responses by HTTP status.
--
--   wrk -t2 -c64 -d10s --timeout 30s -s bench/generate.lua http://127.0.0.1:8000 -- <model> <n> [limit] [accept] [format]
--
-- <n> images per request; [limit] (optional, 0 = none) stops each thread after that many responses, which is how the
-- soak test sends an exact number of requests with a tool that otherwise runs for a duration. [accept] is the
-- Accept header (default application/json); [format] the body's "format" field (pictures inside a JSON answer).
-- done() prints one line "BENCH_JSON {...}" that bench/wrk.py parses; wrk's own text report is ignored.

local threads = {}

function setup(thread)
  table.insert(threads, thread)
end

function init(args)
  local model, n = args[1], args[2]
  limit = tonumber(args[3] or "0")
  statuses = {}
  responses = 0
  wrk.method = "POST"
  wrk.path = "/v1/models/" .. model .. "/generate"
  wrk.headers["Content-Type"] = "application/json"
  wrk.headers["Accept"] = args[4] or "application/json"
  if args[5] and args[5] ~= "" then
    wrk.body = '{"n": ' .. n .. ', "format": "' .. args[5] .. '"}'
  else
    wrk.body = '{"n": ' .. n .. '}'
  end
end

function response(status, headers, body)
  local key = tostring(status)
  statuses[key] = (statuses[key] or 0) + 1
  responses = responses + 1
  if limit > 0 and responses >= limit then
    wrk.thread:stop()
  end
end

function done(summary, latency, requests)
  local merged = {}
  for _, thread in ipairs(threads) do
    for status, count in pairs(thread:get("statuses")) do
      merged[status] = (merged[status] or 0) + count
    end
  end
  local parts = {}
  for status, count in pairs(merged) do
    table.insert(parts, string.format('"%s": %d', status, count))
  end
  local pct = {}
  for _, p in ipairs({50, 90, 95, 99, 99.9}) do
    table.insert(pct, string.format('"%s": %d', tostring(p), latency:percentile(p)))
  end
  -- latency:percentile() covers every response; the quantile of accepted requests is computed in Python from
  -- these finer points, assuming refusals (answered at once) are faster than any accepted request.
  local fine = {}
  for i = 0, 1000 do
    table.insert(fine, string.format("%d", latency:percentile(i / 10)))
  end
  io.write(string.format(
    'BENCH_JSON {"duration_us": %d, "requests": %d, "bytes": %d, ' ..
    '"errors": {"connect": %d, "read": %d, "write": %d, "status": %d, "timeout": %d}, ' ..
    '"latency_us": {"mean": %.1f, "stdev": %.1f, "min": %d, "max": %d, "percentiles": {%s}, "permille": [%s]}, ' ..
    '"statuses": {%s}}\n',
    summary.duration, summary.requests, summary.bytes,
    summary.errors.connect, summary.errors.read, summary.errors.write, summary.errors.status,
    summary.errors.timeout,
    latency.mean, latency.stdev, latency.min, latency.max, table.concat(pct, ", "), table.concat(fine, ", "),
    table.concat(parts, ", ")))
end
