// The landing page is static: prerendered into index.html, served by the CDN from S3.
export const ssr = true;
export const prerender = true;
