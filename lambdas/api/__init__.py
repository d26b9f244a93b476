"""The platform API behind `/api/...` (payload 2.0 HTTP API): one function per route group."""
