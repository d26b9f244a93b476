// A zip with one entry, byte-identical for identical input: fixed timestamp and permissions, so an
// unchanged server produces an unchanged artifact.
import { createWriteStream, mkdirSync } from 'node:fs';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import yazl from 'yazl';

const FIXED_TIME = new Date(Date.UTC(1980, 0, 1, 0, 0, 0));

export async function zipSingleFile(source, name, destination) {
  mkdirSync(path.dirname(destination), { recursive: true });
  const zip = new yazl.ZipFile();
  zip.addFile(source, name, { mtime: FIXED_TIME, mode: 0o100644, compress: true });
  zip.end();
  // Rejects on a read or write failure, failing the build rather than leaving no zip behind.
  await pipeline(zip.outputStream, createWriteStream(destination));
}
