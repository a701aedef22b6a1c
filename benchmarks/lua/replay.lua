-- (b) an idempotent replay: the same key and body as a request bench/run.py
-- made once before, so every response is the stored one. A static request:
-- wrk builds it once, the load tool costs least.
local common = dofile(os.getenv("BENCH_LUA_DIR") .. "/common.lua")

wrk.method = "POST"
wrk.body = os.getenv("BENCH_BODY")
wrk.headers["Authorization"] = "Bearer " .. os.getenv("BENCH_TOKEN")
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Idempotency-Key"] = os.getenv("BENCH_KEY")

done = common.done
