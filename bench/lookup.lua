-- wrk script: GET <path prefix><a random X id from a file>, one request per call.
-- Usage: wrk … -s bench/lookup.lua http://127.0.0.1:PORT -- IDS_FILE PATH_PREFIX
local ids = {}
local prefix = "/"

function init(args)
  prefix = args[2] or prefix
  for line in io.lines(args[1]) do
    ids[#ids + 1] = line
  end
  math.randomseed(os.time())
end

function request()
  return wrk.format("GET", prefix .. ids[math.random(#ids)])
end
