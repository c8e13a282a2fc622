/** How numbers read on the page. Pure: no DOM. */

/** A value as the server gave it (JSON's shortest form: 8123, 1.42), or "–" when absent. */
export function formatValue(value: number): string {
  return Number.isFinite(value) ? String(value) : '–';
}

/** A bandwidth in Mb/s, in the largest unit that keeps it above 1 (Mb/s, Gb/s, Tb/s). */
export function formatBandwidth(mbps: number): string {
  if (!Number.isFinite(mbps)) return '–';
  if (mbps >= 1e6) return `${(mbps / 1e6).toFixed(2)} Tb/s`;
  if (mbps >= 1e3) return `${(mbps / 1e3).toFixed(1)} Gb/s`;
  return `${Math.round(mbps)} Mb/s`;
}

/** An age in seconds: "4.2 s", "3 min 5 s", "2 h 1 min". */
export function formatAge(seconds: number): string {
  if (!Number.isFinite(seconds)) return '–';
  const s = Math.max(0, seconds);
  if (s < 60) return `${s.toFixed(1)} s`;
  if (s < 3600) return `${Math.floor(s / 60)} min ${Math.floor(s % 60)} s`;
  return `${Math.floor(s / 3600)} h ${Math.floor((s % 3600) / 60)} min`;
}

/** A count with thousands separators that do not depend on the browser's locale (100,000). */
export function formatCount(n: number): string {
  return String(Math.round(n)).replace(/\B(?=(\d{3})+(?!\d))/g, ',');
}
