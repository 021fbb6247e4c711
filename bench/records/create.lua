-- POST a 1 KiB JSON document to RECORDS_PATH (default: Rampart's records of
-- COLLECTION); CREATED is the expected status (Rampart 201, PocketBase 200).
local records = os.getenv("RECORDS_PATH") or ("/api/v1/collections/" .. os.getenv("COLLECTION") .. "/records")
local created = tonumber(os.getenv("CREATED") or "201")
wrk.method = "POST"
wrk.headers["Authorization"] = "Bearer " .. os.getenv("TOKEN")
wrk.headers["Content-Type"] = "application/json"
wrk.path = records
wrk.body = '{"ref":"bench","title":"' .. string.rep("x", 980) .. '"}'
function response(status, headers, body)
  if status ~= created then print("unexpected status " .. status .. ": " .. body); os.exit(1) end
end
