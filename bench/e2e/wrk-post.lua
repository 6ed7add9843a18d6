-- The 64 KiB POST of scripts/bench-e2e.mjs: every request carries the same body.
wrk.method = "POST"
wrk.body = string.rep("0123456789abcdef", 4096)
wrk.headers["Content-Type"] = "application/octet-stream"
