import type { Adapter } from '@sveltejs/kit';

export interface AdapterOptions {
  /** Output directory, relative to the project root. Default `build`; Battleshiper projects keep it. */
  out?: string;
}

export default function adapter(options?: AdapterOptions): Adapter;
