-- wrk script: a different token on every request, cycling through the file given after `--`,
-- starting at a random offset so consecutive runs do not replay the same order.
local tokens = {}
local i = 0

init = function(args)
  for line in io.lines(args[1]) do
    if #line > 0 then tokens[#tokens + 1] = "Bearer " .. line end
  end
  math.randomseed(os.time())
  i = math.random(#tokens)
end

request = function()
  i = i % #tokens + 1
  return wrk.format("GET", "/protected", { ["Authorization"] = tokens[i] })
end
