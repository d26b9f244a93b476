// Pages render in the browser from the API's data; only the landing page is prerendered (served from S3).
export const ssr = false;
export const trailingSlash = 'never';
