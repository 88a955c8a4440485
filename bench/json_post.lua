-- wrk: POST a 10-answer response to /api/v1/links/<code>/responses, a fresh Idempotency-Key each time.
local counter = 0
local id = tostring(math.random(1, 1e9))

function request()
  counter = counter + 1
  local headers = {
    ["Content-Type"] = "application/json",
    ["Idempotency-Key"] = id .. "-" .. counter,
  }
  local body = '{"answers": {"q1": "good", "q2": "good", "q3": "ok", "q4": "bad", "q5": "good", '
    .. '"q6": "ok", "q7": "good", "q8": "good", "q9": "ok", "q10": "good"}}'
  return wrk.format("POST", nil, headers, body)
end

function init(args)
  math.randomseed(os.time() + tonumber(tostring({}):sub(8), 16))
  id = tostring(math.random(1, 1e9))
end
