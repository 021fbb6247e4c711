-- GET the first page of 20 records: RECORDS_PATH + LIST_QUERY (default:
-- Rampart's records of COLLECTION, ?limit=20).
local records = os.getenv("RECORDS_PATH") or ("/api/v1/collections/" .. os.getenv("COLLECTION") .. "/records")
local query = os.getenv("LIST_QUERY") or "?limit=20"
wrk.method = "GET"
wrk.headers["Authorization"] = "Bearer " .. os.getenv("TOKEN")
wrk.path = records .. query
function response(status, headers, body)
  if status ~= 200 then print("unexpected status " .. status .. ": " .. body); os.exit(1) end
end
