-- (a) pause-bank / resume-bank through the whole pipeline. Each wrk thread
-- drives one connection with its own bank and its own token, alternating
-- pause and resume under a fresh Idempotency-Key, so every request executes
-- (a non-2xx would mean a refusal: bench/run.py requires zero).
--
-- The alternation follows the answers, not a request counter: wrk calls
-- request() once before the run to check the script (a dry run, never sent),
-- which would otherwise make the first thread start with a resume.
local common = dofile(os.getenv("BENCH_LUA_DIR") .. "/common.lua")
local rows = common.read_rows(os.getenv("BENCH_DATA")) -- bank_id token
local prefix = os.getenv("BENCH_KEY_PREFIX") or "bench"
local assigned = 0

function setup(thread)
  assigned = assigned + 1
  local row = rows[assigned]
  if row == nil then
    error("bench data has fewer rows than wrk threads")
  end
  thread:set("tid", assigned)
  thread:set("bank", row[1])
  thread:set("token", row[2])
end

local counter = 0
local paused = false -- the state this connection's last answer left its bank in

function request()
  counter = counter + 1
  local action = paused and "resume-bank" or "pause-bank"
  return wrk.format("POST", "/api/ops/" .. action, {
    ["Authorization"] = "Bearer " .. token,
    ["Content-Type"] = "application/json",
    ["Idempotency-Key"] = prefix .. "-" .. tid .. "-" .. counter,
  }, '{"bank_profile_id":"' .. bank .. '","reason":"bench"}')
end

function response(status, headers, body)
  -- 409 is "already paused" / "not paused": the bank is in the other state
  if status == 200 or status == 409 then
    paused = not paused
  end
end

done = common.done
