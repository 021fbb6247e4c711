-- GET the first page of 20 records of collection COLLECTION.
wrk.method = "GET"
wrk.headers["Authorization"] = "Bearer " .. os.getenv("TOKEN")
wrk.path = "/api/v1/collections/" .. os.getenv("COLLECTION") .. "/records?limit=20"
function response(status, headers, body)
  if status ~= 200 then print("unexpected status " .. status .. ": " .. body); os.exit(1) end
end
