-- wrk script: closed-loop POST of one fixed v2 infer body (JSON tensors, or JSON + binary tensors), counting
-- responses by HTTP status. The summary line is generate.lua's (loaded from beside this file).
--
--   wrk -t2 -c64 -d10s -s bench/infer.lua http://127.0.0.1:8000 -- <model> <body file> <JSON header length|0>
--
-- A header length of 0 sends the body as JSON; any other value is sent as Inference-Header-Content-Length.

local here = debug.getinfo(1, "S").source:match("^@(.*/)") or "./"
dofile(here .. "generate.lua")

function init(args)
  local model, path, header = args[1], args[2], args[3]
  limit = 0
  statuses = {}
  responses = 0
  local file = assert(io.open(path, "rb"))
  wrk.body = file:read("*a")
  file:close()
  wrk.method = "POST"
  wrk.path = "/v2/models/" .. model .. "/infer"
  if header ~= "0" then
    wrk.headers["Content-Type"] = "application/octet-stream"
    wrk.headers["Inference-Header-Content-Length"] = header
  else
    wrk.headers["Content-Type"] = "application/json"
  end
end
