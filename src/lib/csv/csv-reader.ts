import { createReadStream } from 'node:fs';
import { Readable } from 'node:stream';
import { CsvError, parse, type Parser } from 'csv-parse';
import { parse as parseSample } from 'csv-parse/sync';

/**
 * Reading uploaded CSV files, shared by the imports (subscribers, offline events): streaming
 * through csv-parse, the delimiter detected from the first 64 KB, a UTF-8 BOM dropped, short and
 * long rows kept as they are (the importer decides), and file-level errors described for people.
 */

export type Delimiter = ',' | ';' | '\t';
export const DELIMITERS: readonly Delimiter[] = [',', ';', '\t'];
export const DELIMITER_LABELS: Record<Delimiter, string> = { ',': 'comma', ';': 'semicolon', '\t': 'tab' };

/** A file path, or a stream of the file's bytes (a stream can be read once: inspect and plan need a path, or two streams). */
export type CsvSource = string | Readable;

export interface OpenedCsv {
  delimiter: Delimiter;
  /** An async iterable of records, each a `string[]`. */
  records: Parser;
  /** The line the last complete record ended on (0 before the first): a record that breaks starts on the next. */
  lastCompleteLine: () => number;
  close: () => void;
}

const SNIFF_BYTES = 64 * 1024;
/** A record longer than this is a quote that is never closed, not a row. */
const MAX_RECORD_BYTES = 64 * 1024;

/**
 * Streams the source through csv-parse. The first 64 KB are read ahead to detect the
 * delimiter (unless given), then fed to the parser followed by the rest of the stream.
 */
export async function openCsv(source: CsvSource, delimiter?: Delimiter): Promise<OpenedCsv> {
  const input = typeof source === 'string' ? createReadStream(source) : source;
  const chunks = input[Symbol.asyncIterator]() as AsyncIterator<Buffer | string>;
  const head: Buffer[] = [];
  let size = 0;
  let ended = false;
  try {
    while (size < SNIFF_BYTES) {
      const next = await chunks.next();
      if (next.done) {
        ended = true;
        break;
      }
      const chunk = typeof next.value === 'string' ? Buffer.from(next.value) : next.value;
      head.push(chunk);
      size += chunk.length;
    }
  } catch (error) {
    input.destroy();
    throw error;
  }
  const chosen = delimiter ?? detectDelimiter(Buffer.concat(head), ended);
  let lastLine = 0;
  const records = parse({
    on_record: (record: string[], context: { lines: number }) => {
      lastLine = context.lines;
      return record;
    },
    delimiter: chosen,
    bom: true,
    relax_column_count: true,
    relax_quotes: true,
    max_record_size: MAX_RECORD_BYTES,
  });
  const feed = Readable.from(
    (async function* () {
      yield* head;
      if (ended) return;
      for (let next = await chunks.next(); !next.done; next = await chunks.next()) {
        yield typeof next.value === 'string' ? Buffer.from(next.value) : next.value;
      }
    })(),
  );
  feed.on('error', (error) => records.destroy(error));
  feed.pipe(records);
  return {
    delimiter: chosen,
    records,
    lastCompleteLine: () => lastLine,
    close: () => {
      feed.unpipe(records);
      feed.destroy();
      input.destroy();
      records.destroy();
    },
  };
}

/**
 * Comma, semicolon or tab: whichever splits the header into the most columns with the
 * following rows agreeing. csv-parse's own `delimiter_auto` considers every ASCII
 * character (a one-column file of addresses comes out split on ".") and, in 7.0, throws
 * on the first non-ASCII character, so the candidates are parsed with csv-parse here.
 */
export function detectDelimiter(sample: Buffer, complete: boolean): Delimiter {
  let text = sample;
  if (!complete) {
    const utf16 = sample[0] === 0xff && sample[1] === 0xfe;
    const cut = utf16 ? sample.lastIndexOf(Buffer.from('\n\0')) + 2 : sample.lastIndexOf(0x0a) + 1;
    if (cut > 1) text = sample.subarray(0, cut);
  }
  let best: Delimiter = ',';
  let bestScore = 0;
  for (const delimiter of DELIMITERS) {
    let records: string[][];
    try {
      records = parseSample(text, { delimiter, bom: true, relax_column_count: true, relax_quotes: true, to: 50 });
    } catch {
      continue;
    }
    const nonBlank = records.filter((r) => !(r.length === 1 && r[0] === ''));
    const width = nonBlank[0]?.length ?? 0;
    if (width < 2) continue;
    const rest = nonBlank.slice(1);
    const agreeing = rest.length === 0 ? 1 : rest.filter((r) => r.length === width).length / rest.length;
    const score = (width - 1) * agreeing;
    if (score > bestScore) {
      best = delimiter;
      bestScore = score;
    }
  }
  return best;
}

/**
 * A file-level problem as one sentence for the person who uploaded it; rethrows what is not one.
 * With the file it came from, a quote that is never closed is placed on the line where it opened
 * (the parser only knows where it gave up: the end of the file, or 64 KB later).
 */
export function describeCsvError(error: unknown, opened?: Pick<OpenedCsv, 'lastCompleteLine'>): string {
  if (error instanceof CsvError) {
    const line = typeof error.lines === 'number' ? ` near line ${error.lines}` : '';
    if (error.code === 'CSV_MAX_RECORD_SIZE' || error.code === 'CSV_QUOTE_NOT_CLOSED') {
      const where = opened ? ` in the row that starts on line ${opened.lastCompleteLine() + 1}` : line;
      return `The file has a quoted field that is never closed${where}, so nothing after it can be read. Fix that line (a " that opens a field needs one that closes it) and upload the file again.`;
    }
    return `The file could not be read as CSV${line}: ${error.message}`;
  }
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  if (code === 'ENOENT') return 'The uploaded file is no longer there; upload it again.';
  if (typeof code === 'string' && /^E[A-Z]+$/.test(code)) return `The file could not be read (${code}).`;
  throw error;
}

/**
 * Rows with values past the header's last column (often an unquoted delimiter inside a value):
 * read from their mapped columns anyway, the extras ignored, and said so as a warning.
 */
export interface ExtraColumns {
  rows: number;
  /** The first few such rows (1-based, the header being row 1). */
  examples: number[];
}

export function noteExtraColumns(extra: ExtraColumns, row: number): void {
  extra.rows++;
  if (extra.examples.length < 10) extra.examples.push(row);
}

/** An empty line (csv-parse gives it as one empty field). */
export const isBlankRecord = (record: readonly string[]) => record.every((f) => f.trim() === '');

/** Undoes the `'` an export (ours, csv-stringify's escape_formulas) puts before =, +, -, @, tab, CR. */
const FORMULA_GUARD = /^'(?=[=+\-@\t\r\uFF1D\uFF0B\uFF0D\uFF20])/;
export const unguardFormula = (value: string) => (value.startsWith("'") ? value.replace(FORMULA_GUARD, '') : value);

/** A field read from an uploaded file, cut to a length safe to keep and show. */
export const keptValue = (value: string, max = 1000) => value.slice(0, max);

export interface CsvHead {
  delimiter: Delimiter;
  header: string[];
  /** Up to `limit` non-blank rows after the header. */
  rows: string[][];
}

/** The header and the first rows of a CSV (blank lines skipped), reading only the beginning of the file. */
export async function readCsvHead(
  source: CsvSource,
  limit: number,
  delimiter?: Delimiter,
): Promise<{ ok: true; value: CsvHead } | { ok: false; error: string }> {
  let opened: OpenedCsv | undefined;
  try {
    opened = await openCsv(source, delimiter);
    let header: string[] | undefined;
    const rows: string[][] = [];
    for await (const record of opened.records as AsyncIterable<string[]>) {
      if (isBlankRecord(record)) continue;
      if (!header) header = record;
      else rows.push(record);
      if (rows.length >= limit) break;
    }
    if (!header) return { ok: false, error: 'The file is empty.' };
    return { ok: true, value: { delimiter: opened.delimiter, header, rows } };
  } catch (error) {
    return { ok: false, error: describeCsvError(error, opened) };
  } finally {
    opened?.close();
  }
}
