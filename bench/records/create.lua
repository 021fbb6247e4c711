-- POST a 1 KiB JSON document into collection COLLECTION.
wrk.method = "POST"
wrk.headers["Authorization"] = "Bearer " .. os.getenv("TOKEN")
wrk.headers["Content-Type"] = "application/json"
wrk.path = "/api/v1/collections/" .. os.getenv("COLLECTION") .. "/records"
wrk.body = '{"ref":"bench","title":"' .. string.rep("x", 980) .. '"}'
function response(status, headers, body)
  if status ~= 201 then print("unexpected status " .. status .. ": " .. body); os.exit(1) end
end
