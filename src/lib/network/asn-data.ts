/**
 * The IP → AS data set (@ip-location-db/asn) as compact typed arrays, and the binary file
 * they are cached in. Parsing the 32 MB of CSV takes about two seconds, so it is done once:
 * the result is written to a cache file keyed by the data set's version, file sizes and
 * modification times, and every later start reads that file (a header, the arrays, a CRC-32).
 */
import { createHash } from 'node:crypto';
import { mkdirSync, readdirSync, readFileSync, renameSync, statSync, unlinkSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { crc32 } from 'node:zlib';
import { parse } from 'csv-parse/sync';

export const IPV4_FILE = 'asn-ipv4-num.csv';
export const IPV6_FILE = 'asn-ipv6-num.csv';

/** Raised when the data set or its cache cannot be used; the message names the file and the fix. */
export class NetworkDataError extends Error {}

/** Sorted, non-overlapping ranges; each points at an AS by its index in `asNumber`. */
export interface AsnTables {
  v4Start: Uint32Array;
  v4End: Uint32Array;
  v4As: Uint32Array;
  /** Four words per range (big-endian order of the 128 bits). */
  v6Start: Uint32Array;
  v6End: Uint32Array;
  v6As: Uint32Array;
  asNumber: Uint32Array;
  /** Organisation name of AS index i: names[nameStart[i] .. nameStart[i + 1]) as UTF-8. */
  nameStart: Uint32Array;
  names: Uint8Array;
  /** Bytes the arrays hold in all. */
  byteLength: number;
}

const MAGIC = 'FFNETAS\u0001';
const FORMAT_VERSION = 1;
const HEADER_BYTES = 64;
const ENDIAN_MARK = 0x01020304;
const KEY_LENGTH = 24;

/** Where the npm package keeps its CSV files. */
export function defaultAsnSourceDir(): string {
  const require = createRequire(import.meta.url);
  return path.dirname(require.resolve('@ip-location-db/asn/package.json'));
}

/**
 * node_modules/.cache/footfall-networks beside the package: one compiled copy for every server
 * of this installation (the test suite starts many), rebuilt when the package changes.
 */
export function defaultCacheDir(): string {
  return path.resolve(defaultAsnSourceDir(), '../../.cache/footfall-networks');
}

interface Range {
  start: bigint;
  end: bigint;
  asn: number;
}

/** Reads one CSV file in slices (csv-parse per slice keeps memory flat), checking every row. */
function readRanges(file: string, bits: 32 | 128, names: Map<number, string>): Range[] {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    throw new NetworkDataError(
      `Network data: cannot read ${file} (${(error as NodeJS.ErrnoException).code ?? String(error)}). Reinstall the data set with \`npm ci\`, or point NETWORK_DATA_DIR at a folder holding ${IPV4_FILE} and ${IPV6_FILE}.`,
    );
  }
  const max = (1n << BigInt(bits)) - 1n;
  const ranges: Range[] = [];
  const bad = (line: number, why: string) =>
    new NetworkDataError(
      `Network data: ${file} line ${line} ${why}; the file is damaged. Reinstall the data set with \`npm ci\`.`,
    );
  let line = 0;
  for (let from = 0; from < text.length;) {
    let to = text.indexOf('\n', Math.min(text.length, from + (1 << 21)));
    to = to < 0 ? text.length : to + 1;
    let records: string[][];
    try {
      records = parse(text.slice(from, to), { relax_column_count: false, skip_empty_lines: true });
    } catch (error) {
      throw bad(
        line + ((error as { lines?: number }).lines ?? 1),
        `cannot be read as CSV (${(error as Error).message})`,
      );
    }
    for (const record of records) {
      line++;
      const [startText, endText, asnText, organisation] = record;
      if (
        record.length !== 4 ||
        !/^\d{1,39}$/.test(startText!) ||
        !/^\d{1,39}$/.test(endText!) ||
        !/^\d{1,10}$/.test(asnText!)
      ) {
        throw bad(line, 'is not "start,end,AS number,organisation"');
      }
      const start = BigInt(startText!);
      const end = BigInt(endText!);
      const asn = Number(asnText);
      if (end > max || start > end) throw bad(line, `has a range that is not an IPv${bits === 32 ? 4 : 6} range`);
      if (asn > 0xffffffff) throw bad(line, 'has an AS number over 4294967295');
      if (!names.has(asn)) names.set(asn, organisation!.trim());
      ranges.push({ start, end, asn });
    }
    from = to;
  }
  if (ranges.length === 0)
    throw new NetworkDataError(
      `Network data: ${file} holds no ranges; the file is damaged. Reinstall the data set with \`npm ci\`.`,
    );
  return ranges;
}

/**
 * Sorted, disjoint ranges where the more specific one wins: a range nested in another (or
 * starting inside it) takes its addresses, and the outer range resumes after it.
 */
export function disjointRanges(input: Range[]): Range[] {
  const sorted = input
    .slice()
    .sort((a, b) => (a.start < b.start ? -1 : a.start > b.start ? 1 : a.end > b.end ? -1 : a.end < b.end ? 1 : 0));
  const out: Range[] = [];
  const open: Range[] = [];
  let cursor = 0n;
  const emit = (start: bigint, end: bigint, asn: number) => {
    if (start > end) return;
    const last = out[out.length - 1];
    if (last?.asn === asn && last.end + 1n === start) last.end = end;
    else out.push({ start, end, asn });
  };
  const closeUntil = (limit: bigint) => {
    while (open.length > 0) {
      const top = open[open.length - 1]!;
      const from = cursor > top.start ? cursor : top.start;
      if (top.end <= limit) {
        emit(from, top.end, top.asn);
        if (top.end + 1n > cursor) cursor = top.end + 1n;
        open.pop();
      } else {
        emit(from, limit, top.asn);
        if (limit + 1n > cursor) cursor = limit + 1n;
        return;
      }
    }
  };
  for (const range of sorted) {
    closeUntil(range.start - 1n);
    open.push(range);
    if (range.start > cursor) cursor = range.start;
  }
  closeUntil(1n << 128n);
  return out;
}

/** The binary form: header, then the arrays in AsnTables order, then the names. */
function serialise(v4: Range[], v6: Range[], names: Map<number, string>, key: string): Buffer {
  const asns = [...new Set([...v4, ...v6].map((r) => r.asn))].sort((a, b) => a - b);
  const asIndex = new Map(asns.map((asn, i) => [asn, i]));
  const nameBytes = asns.map((asn) => Buffer.from(names.get(asn) ?? '', 'utf8'));
  const namesLength = nameBytes.reduce((sum, b) => sum + b.length, 0);
  const words = 3 * v4.length + 9 * v6.length + 2 * asns.length + 1;
  const buffer = Buffer.alloc(HEADER_BYTES + 4 * words + namesLength);
  const body = new Uint32Array(buffer.buffer, buffer.byteOffset + HEADER_BYTES, words);
  let at = 0;
  for (const r of v4) body[at++] = Number(r.start);
  for (const r of v4) body[at++] = Number(r.end);
  for (const r of v4) body[at++] = asIndex.get(r.asn)!;
  const split = (value: bigint) => {
    for (let shift = 96n; shift >= 0n; shift -= 32n) body[at++] = Number((value >> shift) & 0xffffffffn);
  };
  for (const r of v6) split(r.start);
  for (const r of v6) split(r.end);
  for (const r of v6) body[at++] = asIndex.get(r.asn)!;
  for (const asn of asns) body[at++] = asn;
  let offset = 0;
  for (const bytes of nameBytes) {
    body[at++] = offset;
    offset += bytes.length;
  }
  body[at++] = offset;
  let nameAt = HEADER_BYTES + 4 * words;
  for (const bytes of nameBytes) nameAt += bytes.copy(buffer, nameAt);
  buffer.write(MAGIC, 0, 'latin1');
  const header = new Uint32Array(buffer.buffer, buffer.byteOffset, HEADER_BYTES / 4);
  header[2] = ENDIAN_MARK;
  header[3] = FORMAT_VERSION;
  header[4] = v4.length;
  header[5] = v6.length;
  header[6] = asns.length;
  header[7] = namesLength;
  header[8] = crc32(buffer.subarray(HEADER_BYTES));
  buffer.write(key, 40, KEY_LENGTH, 'latin1');
  return buffer;
}

/** The arrays as views on `buffer` (no copy); throws a NetworkDataError naming `file` if it is not a sound cache. */
export function readTables(buffer: Buffer, file: string, key?: string): AsnTables {
  const corrupt = (why: string) =>
    new NetworkDataError(
      `Network data: the compiled cache ${file} is corrupt (${why}). Delete it and start again: it is rebuilt from the data set.`,
    );
  if (buffer.length < HEADER_BYTES || buffer.toString('latin1', 0, 8) !== MAGIC)
    throw corrupt('not a Footfall network data file');
  // Typed-array views need 4-byte alignment; a fresh read is aligned, a slice of a pool may not be.
  const bytes = buffer.byteOffset % 4 === 0 ? buffer : Buffer.from(new Uint8Array(buffer));
  const header = new Uint32Array(bytes.buffer, bytes.byteOffset, HEADER_BYTES / 4);
  if (header[2] !== ENDIAN_MARK || header[3] !== FORMAT_VERSION)
    throw corrupt('written by another version or another kind of machine');
  if (key !== undefined && bytes.toString('latin1', 40, 40 + KEY_LENGTH) !== key)
    throw corrupt('made from another copy of the data set');
  const [v4Count, v6Count, asCount, namesLength, checksum] = [
    header[4]!,
    header[5]!,
    header[6]!,
    header[7]!,
    header[8]!,
  ];
  const words = 3 * v4Count + 9 * v6Count + 2 * asCount + 1;
  if (bytes.length !== HEADER_BYTES + 4 * words + namesLength)
    throw corrupt(`${bytes.length} bytes where the header promises ${HEADER_BYTES + 4 * words + namesLength}`);
  if (crc32(bytes.subarray(HEADER_BYTES)) !== checksum) throw corrupt('checksum mismatch');
  let at = bytes.byteOffset + HEADER_BYTES;
  const take = (count: number) => {
    const view = new Uint32Array(bytes.buffer, at, count);
    at += 4 * count;
    return view;
  };
  const tables = {
    v4Start: take(v4Count),
    v4End: take(v4Count),
    v4As: take(v4Count),
    v6Start: take(4 * v6Count),
    v6End: take(4 * v6Count),
    v6As: take(v6Count),
    asNumber: take(asCount),
    nameStart: take(asCount + 1),
    names: new Uint8Array(bytes.buffer, at, namesLength),
    byteLength: bytes.length,
  };
  if (tables.nameStart[asCount] !== namesLength) throw corrupt('names table does not add up');
  return tables;
}

/** Compiles the two CSV files in `sourceDir` into the binary form. */
export function compileAsnData(sourceDir: string, key = ''): Buffer {
  const names = new Map<number, string>();
  const v4 = disjointRanges(readRanges(path.join(sourceDir, IPV4_FILE), 32, names));
  const v6 = disjointRanges(readRanges(path.join(sourceDir, IPV6_FILE), 128, names));
  return serialise(v4, v6, names, key);
}

/** Identifies one copy of the data set: its version and both files' sizes and modification times. */
export function sourceKey(sourceDir: string): string {
  const parts = [`format ${FORMAT_VERSION}`];
  for (const name of [IPV4_FILE, IPV6_FILE]) {
    const file = path.join(sourceDir, name);
    try {
      const stat = statSync(file);
      parts.push(`${name} ${stat.size} ${stat.mtimeMs}`);
    } catch (error) {
      throw new NetworkDataError(
        `Network data: cannot read ${file} (${(error as NodeJS.ErrnoException).code ?? String(error)}). Reinstall the data set with \`npm ci\`, or point NETWORK_DATA_DIR at a folder holding ${IPV4_FILE} and ${IPV6_FILE}.`,
      );
    }
  }
  try {
    parts.push(
      `version ${(JSON.parse(readFileSync(path.join(sourceDir, 'package.json'), 'utf8')) as { version: string }).version}`,
    );
  } catch {
    // A folder of CSV files without package.json (NETWORK_DATA_DIR): sizes and times identify it.
  }
  return createHash('sha256').update(parts.join('\n')).digest('hex').slice(0, KEY_LENGTH);
}

export interface LoadedAsnTables {
  tables: AsnTables;
  /** "cache": read the compiled file; "compiled": parsed the CSV files (and cached them, unless `cacheWarning`). */
  from: 'cache' | 'compiled';
  cacheFile: string;
  /** Why the compiled tables could not be cached (the next start parses the CSV again). */
  cacheWarning?: string;
  milliseconds: number;
}

/**
 * The data set's tables: from the cache file in `cacheDir` when one matches the data set,
 * else compiled from the CSV files and written there (atomically, so concurrent starts never
 * read a half-written file; older cache files are removed).
 */
export function loadAsnTables(options: { sourceDir: string; cacheDir: string }): LoadedAsnTables {
  const began = performance.now();
  const key = sourceKey(options.sourceDir);
  const cacheFile = path.join(options.cacheDir, `asn-${key}.bin`);
  let cached: Buffer | undefined;
  try {
    cached = readFileSync(cacheFile);
  } catch (error) {
    // Absent (or its folder is not one yet): compile it.
    if (!['ENOENT', 'ENOTDIR'].includes((error as NodeJS.ErrnoException).code ?? '')) {
      throw new NetworkDataError(
        `Network data: cannot read the compiled cache ${cacheFile} (${(error as NodeJS.ErrnoException).code}). Delete it or fix its permissions.`,
      );
    }
  }
  if (cached)
    return {
      tables: readTables(cached, cacheFile, key),
      from: 'cache',
      cacheFile,
      milliseconds: performance.now() - began,
    };

  const compiled = compileAsnData(options.sourceDir, key);
  let cacheWarning: string | undefined;
  try {
    mkdirSync(options.cacheDir, { recursive: true });
    const temporary = `${cacheFile}.${process.pid}.tmp`;
    writeFileSync(temporary, compiled);
    renameSync(temporary, cacheFile);
    for (const name of readdirSync(options.cacheDir)) {
      if (/^asn-[0-9a-f]+\.bin$/.test(name) && name !== path.basename(cacheFile))
        unlinkSync(path.join(options.cacheDir, name));
    }
  } catch (error) {
    cacheWarning = `could not write ${cacheFile} (${(error as NodeJS.ErrnoException).code ?? String(error)}); set NETWORK_CACHE_DIR to a writable folder`;
  }
  return {
    tables: readTables(compiled, cacheFile, key),
    from: 'compiled',
    cacheFile,
    cacheWarning,
    milliseconds: performance.now() - began,
  };
}
