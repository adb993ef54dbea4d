-- wrk script: every request is one V2 inference with the binary tensor data extension.
-- The body (JSON header + raw FP32 tensor) is read from $BODY; $HEADER_LEN is the JSON
-- header's length in bytes (Inference-Header-Content-Length); $MODEL the model's name.
-- Used by scripts/serve-wrk.sh.
local f = assert(io.open(os.getenv("BODY"), "rb"))
wrk.method = "POST"
wrk.body = f:read("*a")
f:close()
wrk.path = "/v2/models/" .. os.getenv("MODEL") .. "/infer"
wrk.headers["Inference-Header-Content-Length"] = os.getenv("HEADER_LEN")
wrk.headers["Content-Type"] = "application/octet-stream"

-- Anything but 200 is counted (wrk's "Non-2xx" line) and the first one printed.
local reported = false
function response(status, headers, body)
  if status ~= 200 and not reported then
    reported = true
    io.stderr:write("status " .. status .. ": " .. body .. "\n")
  end
end
