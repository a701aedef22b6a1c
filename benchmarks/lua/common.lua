-- Shared by the bench scripts: per-thread data and the parseable result line.
local common = {}

-- Rows of whitespace-separated fields, one row per wrk thread (= connection).
function common.read_rows(path)
  local rows = {}
  if path == nil or path == "" then
    return rows
  end
  for line in io.lines(path) do
    local row = {}
    for field in line:gmatch("%S+") do
      row[#row + 1] = field
    end
    if #row > 0 then
      rows[#rows + 1] = row
    end
  end
  return rows
end

-- wrk's done() hook: one line that bench/run.py parses (times in ms).
function common.done(summary, latency, requests)
  local seconds = summary.duration / 1e6
  local e = summary.errors
  io.write(string.format(
    "BENCH_RESULT requests=%d duration_s=%.3f rps=%.1f mean_ms=%.3f "
      .. "p50_ms=%.3f p90_ms=%.3f p99_ms=%.3f max_ms=%.3f non2xx=%d "
      .. "connect_errors=%d read_errors=%d write_errors=%d timeouts=%d\n",
    summary.requests, seconds, summary.requests / seconds, latency.mean / 1000,
    latency:percentile(50) / 1000, latency:percentile(90) / 1000,
    latency:percentile(99) / 1000, latency.max / 1000, e.status,
    e.connect, e.read, e.write, e.timeout))
end

return common
