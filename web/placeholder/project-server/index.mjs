// The server function a new project's stack starts with, until its first deployment replaces the
// code: every request gets 503 "not deployed yet", in the API Gateway payload 2.0 response shape.

const body = `<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><title>Not deployed yet</title></head>
<body style="margin:0;min-height:100vh;display:grid;place-items:center;font:16px/1.5 system-ui,sans-serif">
<main style="text-align:center;padding:2rem"><h1>Not deployed yet</h1><p>This project has no deployment yet. Try again after its first build.</p></main>
</body>
</html>
`;

export const handler = async () => ({
  statusCode: 503,
  headers: { "content-type": "text/html; charset=utf-8", "cache-control": "no-store", "retry-after": "60" },
  cookies: [],
  body,
  isBase64Encoded: false,
});
