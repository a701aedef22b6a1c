-- bench/load.py's one script. Each wrk thread drives one connection and, with
-- BENCH_PER_THREAD > 0, stops after that many answers, saying so on stdout
-- (load.py times the run from these lines: wrk's own duration is its -d).
--
-- With BENCH_DATA (rows "bank_id token", one per thread): freeze-payouts and
-- unfreeze-payouts on the thread's bank, alternating with the answers (as
-- pause_resume.lua does), a fresh Idempotency-Key each.
-- Otherwise: BENCH_METHOD (GET) and BENCH_BODY on the URL's path, with the
-- tokens of BENCH_TOKENS in turn (none: no Authorization header).
-- BENCH_DELAY_MS > 0 paces each connection (a bounded flood).
local common = dofile(os.getenv("BENCH_LUA_DIR") .. "/common.lua")
local rows = common.read_rows(os.getenv("BENCH_DATA"))
local method = os.getenv("BENCH_METHOD") or "GET"
local body = os.getenv("BENCH_BODY")
local per_thread = tonumber(os.getenv("BENCH_PER_THREAD") or "0")
local pause = tonumber(os.getenv("BENCH_DELAY_MS") or "0")
local prefix = os.getenv("BENCH_KEY_PREFIX") or "load"
local tokens = {}
for t in (os.getenv("BENCH_TOKENS") or ""):gmatch("%S+") do
  tokens[#tokens + 1] = t
end
local assigned = 0

function setup(thread)
  assigned = assigned + 1
  thread:set("tid", assigned)
  local row = rows[assigned]
  if row ~= nil then
    thread:set("bank", row[1])
    thread:set("token", row[2])
  end
end

local sent, answered, frozen = 0, 0, false

function request()
  sent = sent + 1
  local headers = { ["Content-Type"] = "application/json" }
  if bank ~= nil then
    headers["Authorization"] = "Bearer " .. token
    headers["Idempotency-Key"] = prefix .. "-" .. tid .. "-" .. sent
    local action = frozen and "unfreeze-payouts" or "freeze-payouts"
    return wrk.format("POST", "/api/ops/" .. action, headers,
      '{"scope":{"bank_profile_id":"' .. bank .. '"},"reason":"bench load"}')
  end
  if #tokens > 0 then
    headers["Authorization"] = "Bearer " .. tokens[(sent % #tokens) + 1]
  end
  return wrk.format(method, nil, headers, body)
end

function response(status, headers, body)
  -- 409 is "already frozen" / "not frozen": the bank is in the other state
  if status == 200 or status == 409 then
    frozen = not frozen
  end
  answered = answered + 1
  if answered == per_thread then
    io.write("BENCH_THREAD_DONE\n")
    io.flush()
    wrk.thread:stop()
  end
end

if pause > 0 then
  function delay()
    return pause
  end
end

done = common.done
