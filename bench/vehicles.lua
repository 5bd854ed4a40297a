-- GET /api/v1/vehicles/{vin} for random VINs of the benchmark catalogue.
-- Environment: VINS_FILE (one VIN per line), TOKEN (a bearer token; empty: none sent),
-- VEHICLE_PATH (default /api/v1/vehicles/: the catalog surface's /catalog/api/vehicles/ too).
local vins = {}
local token = os.getenv("TOKEN") or ""
local path = os.getenv("VEHICLE_PATH") or "/api/v1/vehicles/"

function init(args)
  for line in io.lines(os.getenv("VINS_FILE")) do
    vins[#vins + 1] = line
  end
  math.randomseed(os.time() + tonumber(tostring({}):sub(8), 16))
end

function request()
  local vin = vins[math.random(#vins)]
  local headers = {}
  if token ~= "" then
    headers["Authorization"] = "Bearer " .. token
  end
  return wrk.format("GET", path .. vin, headers)
end

function done(summary, latency, requests)
  local statuses = summary.errors.status
  io.write(string.format("non-2xx: %d\n", statuses))
end
