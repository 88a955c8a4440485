-- wrk script: replay pre-signed Twilio inbound SMS webhooks (one file line = "signature<TAB>body").
-- Each wrk thread takes every n-th line so no MessageSid is sent twice until the list wraps.
-- env: SMS_BENCH_REQUESTS (the file), SMS_BENCH_THREADS (wrk -t)
local requests = {}
local counter = 0
local created = 0

function setup(thread)
  thread:set("tid", created)
  created = created + 1
end

function init(args)
  local n = tonumber(os.getenv("SMS_BENCH_THREADS"))
  local i = 0
  for line in io.lines(os.getenv("SMS_BENCH_REQUESTS")) do
    if i % n == tid then
      local sig, body = line:match("([^\t]*)\t(.*)")
      requests[#requests + 1] = wrk.format("POST", "/sms/twilio/inbound", {
        ["Content-Type"] = "application/x-www-form-urlencoded",
        ["X-Twilio-Signature"] = sig,
      }, body)
    end
    i = i + 1
  end
end

function request()
  counter = counter + 1
  if counter > #requests then
    counter = 1 -- wrapped: replays are answered from the MessageSid receipt
  end
  return requests[counter]
end
