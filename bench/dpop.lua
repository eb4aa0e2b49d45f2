-- wrk script: a DPoP request per request, the same bound token with a different pre-minted
-- proof each time (a DPoP server accepts each proof once), from the files given after `--`.
-- The warm-up (third argument `warmup`) takes proofs from the end of the file and the measured
-- run from the start, so neither replays the other's; running out of proofs shows as non-2xx.
local proofs = {}
local authorization
local i = 0
local step = 1

init = function(args)
  for line in io.lines(args[1]) do
    authorization = "DPoP " .. line
  end
  for line in io.lines(args[2]) do
    if #line > 0 then proofs[#proofs + 1] = line end
  end
  if args[3] == "warmup" then
    i = #proofs + 1
    step = -1
  end
end

request = function()
  i = i + step
  if i > #proofs or i < 1 then i = (step > 0) and 1 or #proofs end
  return wrk.format(nil, nil, { ["Authorization"] = authorization, ["DPoP"] = proofs[i] })
end
