import { DELIMITERS, type Delimiter } from '../csv/csv-reader.ts';
import type { OfflineColumnMapping, OfflinePreview } from './offline-import.service.ts';

/**
 * The column mapping of an offline-events import as form fields, so the dry run can be a
 * plain GET (a link that can be reloaded) and the import a POST carrying the same fields:
 *
 *   delimiter=comma|semicolon|tab  time=<column>  kind=<column>|all:call|all:walk_in
 *   note=<column>|""  issue=<column>|""  mentioned=<column>|""
 */

const DELIMITER_NAMES: Record<string, Delimiter> = { comma: ',', semicolon: ';', tab: '\t' };

export function delimiterName(delimiter: Delimiter): 'comma' | 'semicolon' | 'tab' {
  return delimiter === ';' ? 'semicolon' : delimiter === '\t' ? 'tab' : 'comma';
}

export function delimiterFromName(name: unknown): Delimiter | undefined {
  return typeof name === 'string' && Object.hasOwn(DELIMITER_NAMES, name) ? DELIMITER_NAMES[name] : undefined;
}

const column = (value: string | undefined): number | null | undefined => {
  if (value === undefined || value === '') return null;
  if (!/^\d{1,4}$/.test(value)) return undefined;
  return Number(value);
};

/** The mapping the fields describe; undefined when a field is malformed or the time column is missing. */
export function mappingFromFields(fields: Record<string, string | undefined>): OfflineColumnMapping | undefined {
  const delimiter = delimiterFromName(fields.delimiter);
  const time = column(fields.time);
  const kind = fields.kind === 'all:call' ? 'call' : fields.kind === 'all:walk_in' ? 'walk_in' : column(fields.kind);
  const note = column(fields.note);
  const issue = column(fields.issue);
  const mentioned = column(fields.mentioned);
  if (
    !delimiter ||
    !DELIMITERS.includes(delimiter) ||
    time === null ||
    time === undefined ||
    kind === null ||
    kind === undefined
  )
    return undefined;
  if (note === undefined || issue === undefined || mentioned === undefined) return undefined;
  return { delimiter, time, kind, note, issue, mentioned };
}

/** The fields of a mapping (for hidden inputs and links). */
export function mappingToFields(mapping: OfflineColumnMapping): Record<string, string> {
  const col = (i: number | null) => (i === null ? '' : String(i));
  return {
    delimiter: delimiterName(mapping.delimiter),
    time: String(mapping.time),
    kind: typeof mapping.kind === 'number' ? String(mapping.kind) : `all:${mapping.kind}`,
    note: col(mapping.note),
    issue: col(mapping.issue),
    mentioned: col(mapping.mentioned),
  };
}

/** The fields to start the mapping form with: what the preview suggests (every row a call when no kind column is found). */
export function suggestedFields(preview: OfflinePreview): Record<string, string> {
  const col = (i: number | null) => (i === null ? '' : String(i));
  return {
    delimiter: delimiterName(preview.delimiter),
    time: col(preview.suggested.time),
    kind: preview.suggested.kind === null ? 'all:call' : String(preview.suggested.kind),
    note: col(preview.suggested.note),
    issue: col(preview.suggested.issue),
    mentioned: col(preview.suggested.mentioned),
  };
}
