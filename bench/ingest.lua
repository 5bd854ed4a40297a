-- Telemetry uploads: each request a batch of 100 samples x 3 signals (speed, rpm, odometer) for
-- one of the vehicles in VEHICLES_FILE, with times no other request uses (every row is new).
-- Environment: TOKEN, VEHICLES_FILE (one VIN per line), BASE_MS (epoch ms of the first sample).
local vehicles = {}
local token = os.getenv("TOKEN")
local base = tonumber(os.getenv("BASE_MS"))
-- thread_id is a global that setup() sets in each thread's own Lua state
local counter = 0
local threads = {}

function setup(thread)
  thread:set("thread_id", #threads)
  table.insert(threads, thread)
end

function init(args)
  for line in io.lines(os.getenv("VEHICLES_FILE")) do
    vehicles[#vehicles + 1] = line
  end
end

function request()
  counter = counter + 1
  local vin = vehicles[(counter % #vehicles) + 1]
  local start = base + thread_id * 200000000 + counter * 100
  local parts = {}
  for i = 0, 99 do
    parts[#parts + 1] = string.format('{"t_ms":%d,"speed_kmh":%d,"rpm":%d,"odometer_km":%d.%d}',
      start + i, i, 1000 + i, counter, i)
  end
  local body = '{"samples":[' .. table.concat(parts, ",") .. ']}'
  return wrk.format("POST", "/api/v1/vehicles/" .. vin .. "/telemetry",
    { ["Authorization"] = "Bearer " .. token, ["Content-Type"] = "application/json" }, body)
end

function done(summary, latency, requests)
  io.write(string.format("non-2xx: %d\n", summary.errors.status))
end
