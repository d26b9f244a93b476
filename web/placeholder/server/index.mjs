// The dashboard's server function until the SvelteKit dashboard (built with our own adapter) lands:
// answers every request with a small HTML page, in the API Gateway payload 2.0 response shape.

const page = (title, text) => `<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <meta name="viewport" content="width=device-width, initial-scale=1">
  <title>${title} · Battleshiper</title>
  <link rel="icon" href="/battleshiper.svg" type="image/svg+xml">
  <style>body{margin:0;min-height:100vh;display:grid;place-items:center;font:16px/1.5 system-ui,sans-serif;color:#0f2a44;background:#f6f8fa}main{text-align:center;padding:2rem}p{color:#5b6b7b}</style>
</head>
<body><main><h1>${title}</h1><p>${text}</p></main></body>
</html>
`;

export const handler = async (event) => {
  const path = event?.rawPath ?? "/";
  const found = path === "/";
  const body = found
    ? page("The Battleshiper dashboard is being installed", "Reload this page in a few minutes.")
    : page("Not found", "There is nothing here yet.");
  return {
    statusCode: found ? 200 : 404,
    headers: { "content-type": "text/html; charset=utf-8", "cache-control": "no-store" },
    cookies: [],
    body,
    isBase64Encoded: false,
  };
};
