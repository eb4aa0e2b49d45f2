-- wrk script: a realistic mix. Many clients each reuse their own token (the first
-- BENCH_MIXED_CLIENTS lines of the file given after `--`, default 10 000), picked at random per
-- request, so the verified-token cache holds a large working set that mostly hits; and a
-- share of requests (BENCH_MIXED_NEW percent, default 5) carries a token never seen before,
-- taken in order from the rest of the file, starting at a random offset so consecutive runs do
-- not replay each other's new tokens.
local tokens = {}
local clients
local fresh
local share

init = function(args)
  for line in io.lines(args[1]) do
    if #line > 0 then tokens[#tokens + 1] = "Bearer " .. line end
  end
  clients = tonumber(os.getenv("BENCH_MIXED_CLIENTS") or "10000")
  share = tonumber(os.getenv("BENCH_MIXED_NEW") or "5")
  if clients >= #tokens then
    error("mixed.lua: the token file must hold more than BENCH_MIXED_CLIENTS tokens")
  end
  math.randomseed(os.time())
  fresh = clients + math.random(#tokens - clients)
end

request = function()
  local token
  if math.random(100) <= share then
    fresh = fresh + 1
    if fresh > #tokens then fresh = clients + 1 end
    token = tokens[fresh]
  else
    token = tokens[math.random(clients)]
  end
  return wrk.format("GET", "/protected", { ["Authorization"] = token })
end
