-- GET /api/v1/vehicles/{vin} for random VINs of the benchmark catalogue.
-- Environment: VINS_FILE (one VIN per line), TOKEN (a bearer token).
local vins = {}
local token = os.getenv("TOKEN")

function init(args)
  for line in io.lines(os.getenv("VINS_FILE")) do
    vins[#vins + 1] = line
  end
  math.randomseed(os.time() + tonumber(tostring({}):sub(8), 16))
end

function request()
  local vin = vins[math.random(#vins)]
  return wrk.format("GET", "/api/v1/vehicles/" .. vin, { ["Authorization"] = "Bearer " .. token })
end

function done(summary, latency, requests)
  local statuses = summary.errors.status
  io.write(string.format("non-2xx: %d\n", statuses))
end
