-- bench/soak.sh's paced HTTP clients (wrk -t1): SOAK_MODE picks one, SOAK_DELAY_MS paces each
-- connection (it waits that long after every answer, so the rate is about connections x 1000 /
-- (delay + latency) per second, whatever the server's speed).
--   ingest: dongle uploads of 10 samples x 3 signals (speed, rpm, odometer) to the vehicles in
--           VEHICLES_FILE, times from BASE_MS on that no other request uses (every row is new)
--   reads:  in turn, the vehicle list, a vehicle's latest signals, its Motion.Speed history in
--           1-minute buckets, its convenience views (/all)
--   login:  bench/login.lua (POST /api/v1/auth/login, bench@motorpool.local)
-- Environment: SOAK_MODE, SOAK_DELAY_MS, TOKEN, VEHICLES_FILE (one VIN per line), BASE_MS (ingest).
local mode = os.getenv("SOAK_MODE")
local pause = tonumber(os.getenv("SOAK_DELAY_MS") or "100")

if mode == "login" then
  dofile("bench/login.lua")
  wrk.path = "/api/v1/auth/login"
else
  local token = os.getenv("TOKEN")
  local base = tonumber(os.getenv("BASE_MS") or "0")
  local vehicles = {}
  local counter = 0
  local auth = { ["Authorization"] = "Bearer " .. token }

  function init(args)
    for line in io.lines(os.getenv("VEHICLES_FILE")) do
      vehicles[#vehicles + 1] = line
    end
  end

  if mode == "ingest" then
    local headers = { ["Authorization"] = "Bearer " .. token, ["Content-Type"] = "application/json" }
    function request()
      counter = counter + 1
      local vin = vehicles[(counter % #vehicles) + 1]
      local start = base + counter * 10
      local parts = {}
      for i = 0, 9 do
        parts[#parts + 1] = string.format('{"t_ms":%d,"speed_kmh":%d,"rpm":%d,"odometer_km":%d.%d}',
          start + i, (counter + i) % 130, 800 + (counter * 7 + i) % 3000, 10000 + counter, i)
      end
      return wrk.format("POST", "/api/v1/vehicles/" .. vin .. "/telemetry", headers,
        '{"samples":[' .. table.concat(parts, ",") .. ']}')
    end
  else
    function request()
      counter = counter + 1
      local vin = vehicles[(counter % #vehicles) + 1]
      local kind = counter % 4
      if kind == 0 then
        return wrk.format("GET", "/api/v1/vehicles?page_size=20", auth)
      elseif kind == 1 then
        return wrk.format("GET", "/api/v1/vehicles/" .. vin .. "/signals", auth)
      elseif kind == 2 then
        return wrk.format("GET", "/api/v1/vehicles/" .. vin .. "/signals/Motion.Speed/history?bucket=1m&agg=avg", auth)
      end
      return wrk.format("GET", "/api/v1/vehicles/" .. vin .. "/all", auth)
    end
  end
end

function done(summary, latency, requests)
  io.write(string.format("non-2xx: %d\n", summary.errors.status))
end

function delay()
  return pause
end
