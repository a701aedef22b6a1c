-- GET /api/metrics/summary with a pay_admin token (bench/kpi_summary.py).
local common = dofile(os.getenv("BENCH_LUA_DIR") .. "/common.lua")

wrk.method = "GET"
wrk.headers["Authorization"] = "Bearer " .. os.getenv("BENCH_TOKEN")

done = common.done
