-- (d) floor: GET a bare DRF view returning a constant.
local common = dofile(os.getenv("BENCH_LUA_DIR") .. "/common.lua")

done = common.done
