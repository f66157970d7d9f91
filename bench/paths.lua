-- wrk script: GET a random path from a file (one request target per line), with fixed headers.
-- Usage: wrk … -s bench/paths.lua http://127.0.0.1:PORT -- PATHS_FILE ['Name: value' …]
-- A Host header given here replaces wrk's (the URL's host:port).
local paths = {}
local headers = {}

function init(args)
  for line in io.lines(args[1]) do
    paths[#paths + 1] = line
  end
  for i = 2, #args do
    local name, value = args[i]:match("^([^:]+):%s*(.*)$")
    headers[name] = value
  end
  math.randomseed(os.time())
end

function request()
  return wrk.format("GET", paths[math.random(#paths)], headers)
end
