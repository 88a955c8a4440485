-- wrk: one connection per thread walks the whole web form: start, 10 answers, submit.
-- A completed response is a submit answered 200. Usage: wrk -t8 -c8 -s web_form.lua URL/s/<code>
local threads = {}

function setup(thread)
  table.insert(threads, thread)
end

function init(args)
  step, cookie, completed = 0, nil, 0
  base = wrk.path
end

function request()
  local headers = { ["Content-Type"] = "application/x-www-form-urlencoded" }
  if cookie then headers["Cookie"] = cookie end
  if step == 0 then return wrk.format("POST", base .. "/start", headers, "") end
  if step <= 10 then return wrk.format("POST", base .. "/" .. step, headers, "value=good") end
  return wrk.format("POST", base .. "/submit", headers, "website=")
end

function response(status, headers, body)
  local set = headers["Set-Cookie"]
  if set and step < 11 then cookie = set:match("^([^;]+)") end
  if step == 11 then
    if status == 200 then completed = completed + 1 end
    step, cookie = 0, nil
  elseif status == 302 then
    step = step + 1
  else
    step, cookie = 0, nil
  end
end

function done(summary, latency, requests)
  local total = 0
  for _, thread in ipairs(threads) do total = total + thread:get("completed") end
  io.write(string.format("COMPLETED %d\n", total))
end
