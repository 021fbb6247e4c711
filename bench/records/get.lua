-- GET one record by id (RECORD_ID) with a bearer token (TOKEN).
-- RECORDS_PATH: the collection's records path (default Rampart's).
local records = os.getenv("RECORDS_PATH") or "/api/v1/collections/docs/records"
wrk.method = "GET"
wrk.headers["Authorization"] = "Bearer " .. os.getenv("TOKEN")
wrk.path = records .. "/" .. os.getenv("RECORD_ID")
function response(status, headers, body)
  if status ~= 200 then print("unexpected status " .. status .. ": " .. body); os.exit(1) end
end
