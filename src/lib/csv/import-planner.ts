import {
  describeCsvError,
  isBlankRecord,
  keptValue,
  noteExtraColumns,
  openCsv,
  type CsvSource,
  type Delimiter,
  type ExtraColumns,
  type OpenedCsv,
} from './csv-reader.ts';

/**
 * The dry run both CSV imports share (subscribers, offline events): every row read (streaming)
 * and checked, the rows that pass checked against the database a chunk at a time, exact counts,
 * every rejected row with its reason. It writes nothing. What a row means is the importer's:
 * it gives one row's checks (`readRow`) and the database's (`checkChunk`); the file's shape
 * (header, blank rows, text that is not UTF-8, missing and extra columns) is checked here.
 */

/** Rejections every import makes, before its own checks run. */
export type CsvShapeRejection = 'not_utf8' | 'missing_columns';

export interface RejectedCsvRow<Code extends string> {
  /** 1-based, the header being row 1 (a quoted line break does not start a new row). */
  row: number;
  code: Code;
  reason: string;
  /** Every field of the row as read, each cut at 1,000 characters. */
  values: string[];
}

export type RejectRow<Code extends string> = (
  row: number,
  values: readonly string[],
  code: Code,
  reason: string,
) => void;

export interface CsvPlanSteps<Code extends string, Checked> {
  delimiter: Delimiter;
  /** Why the mapping does not fit a header this wide, or null when it does. */
  checkMapping: (width: number) => string | null;
  /** The columns the mapping reads: text in one of them that is not UTF-8 rejects the row. */
  mappedColumns: readonly number[];
  /** `whole`: a row shorter than the header is rejected; `mapped`: only a row that lacks a mapped column. */
  shortRows: 'whole' | 'mapped';
  /** One row's own checks: what goes on to the database's check, or undefined (rejected, or folded into an earlier row). */
  readRow: (fields: string[], row: number, reject: RejectRow<Code>) => Checked | undefined;
  /** Rows per database round trip. */
  chunkSize: number;
  /** The database's checks of one chunk, in file order. */
  checkChunk: (chunk: Checked[], reject: RejectRow<Code>) => Promise<void>;
  /** Rejected rows kept for the report (the counts are exact beyond that); default: all. */
  maxRejectedKept?: number;
}

export interface CsvRowTally<Code extends string> {
  /** Data rows read (not the header), blank ones included. */
  rows: number;
  /** Empty lines, skipped silently. */
  blank: number;
  rejected: number;
  rejectedBy: Partial<Record<Code, number>>;
  /** In file order. */
  rejectedRows: RejectedCsvRow<Code>[];
  /** Rows with values past the header's last column: read from their mapped columns, the extras ignored (a warning). */
  extraColumns: ExtraColumns;
}

/**
 * Reads `source` through the importer's steps. File-level problems (a quote never closed, an
 * unreadable file, a mapping outside the header, no header at all) come back as an error;
 * row-level problems as rejected rows.
 */
export async function planCsvImport<Code extends string, Checked>(
  source: CsvSource,
  steps: CsvPlanSteps<Code | CsvShapeRejection, Checked>,
): Promise<{ ok: true; value: CsvRowTally<Code | CsvShapeRejection> } | { ok: false; error: string }> {
  const tally: CsvRowTally<Code | CsvShapeRejection> = {
    rows: 0,
    blank: 0,
    rejected: 0,
    rejectedBy: {},
    rejectedRows: [],
    extraColumns: { rows: 0, examples: [] },
  };
  const maxKept = steps.maxRejectedKept ?? Infinity;
  const reject: RejectRow<Code | CsvShapeRejection> = (row, values, code, reason) => {
    tally.rejected++;
    tally.rejectedBy[code] = (tally.rejectedBy[code] ?? 0) + 1;
    if (tally.rejectedRows.length < maxKept)
      tally.rejectedRows.push({ row, code, reason, values: values.map((v) => keptValue(v)) });
  };
  let pending: Checked[] = [];
  const flush = async () => {
    const chunk = pending;
    pending = [];
    if (chunk.length > 0) await steps.checkChunk(chunk, reject);
  };

  let opened: OpenedCsv | undefined;
  try {
    opened = await openCsv(source, steps.delimiter);
    let header: string[] | undefined;
    let row = 0;
    for await (const fields of opened.records as AsyncIterable<string[]>) {
      row++;
      if (!header) {
        if (isBlankRecord(fields)) continue; // empty lines before the header
        header = fields;
        const problem = steps.checkMapping(header.length);
        if (problem) return { ok: false, error: problem };
        continue;
      }
      tally.rows++;
      if (isBlankRecord(fields)) {
        tally.blank++;
        continue;
      }
      if (steps.mappedColumns.some((i) => fields[i]?.includes('\uFFFD'))) {
        reject(row, fields, 'not_utf8', 'not UTF-8 text (save the file as UTF-8 and upload it again)');
        continue;
      }
      const short =
        steps.shortRows === 'whole'
          ? fields.length < header.length
          : steps.mappedColumns.some((i) => i >= fields.length);
      if (short) {
        reject(row, fields, 'missing_columns', `missing columns: ${fields.length} of ${header.length}`);
        continue;
      }
      if (fields.length > header.length && fields.slice(header.length).some((f) => f.trim() !== ''))
        noteExtraColumns(tally.extraColumns, row);
      const checked = steps.readRow(fields, row, reject);
      if (checked === undefined) continue;
      pending.push(checked);
      if (pending.length >= steps.chunkSize) await flush();
    }
    if (!header) return { ok: false, error: 'The file is empty.' };
    await flush();
  } catch (error) {
    return { ok: false, error: describeCsvError(error, opened) };
  } finally {
    opened?.close();
  }
  // Rows the database rejects come after later rows the file's checks rejected: list them in file order.
  tally.rejectedRows.sort((a, b) => a.row - b.row);
  return { ok: true, value: tally };
}
