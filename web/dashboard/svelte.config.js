import adapter from '@battleshiper/adapter';

/** @type {import('@sveltejs/kit').Config} */
export default {
  kit: {
    adapter: adapter(),
    // Only the landing page is prerendered; its links lead to the API and to browser-rendered pages.
    prerender: { crawl: false, entries: ['/'] },
    // A fixed version (packaging passes the sources' digest), so the same sources build the same bytes;
    // SvelteKit's default is the build time.
    version: { name: process.env.BATTLESHIPER_DASHBOARD_VERSION || 'dev', pollInterval: 0 },
  },
};
