-- wrk script: POST /api/v1/auth/login with one account (bench/auth_login.sh creates it).
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.body = '{"email":"bench@motorpool.local","password":"bench-password-1"}'
