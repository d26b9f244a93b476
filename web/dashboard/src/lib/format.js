// Display helpers: sizes, times and log time ranges.

export function bytes(n) {
  if (!Number.isFinite(n)) return '–';
  const units = ['B', 'KB', 'MB', 'GB', 'TB'];
  let i = 0;
  while (n >= 1024 && i < units.length - 1) { n /= 1024; i += 1; }
  return `${i === 0 ? n : n.toFixed(n < 10 ? 1 : 0)} ${units[i]}`;
}

/** Unix seconds → local date and time. */
export function dateTime(seconds) {
  if (!seconds) return '–';
  return new Date(seconds * 1000).toLocaleString();
}

/** Log timestamps are milliseconds. */
export function logTime(ms) {
  return new Date(ms).toISOString().replace('T', ' ').slice(0, 23);
}

export const LOG_RANGES = { '15m': 15 * 60e3, '1h': 60 * 60e3, '6h': 6 * 60 * 60e3, '24h': 24 * 60 * 60e3 };

/** The API's window for a named range ending now (ms); the API allows at most 24 h. */
export function logWindow(range, now = Date.now()) {
  const span = LOG_RANGES[range] ?? LOG_RANGES['1h'];
  return { start_time: now - span, end_time: now };
}
