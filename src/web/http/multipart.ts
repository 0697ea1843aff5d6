import { open, rm, type FileHandle } from 'node:fs/promises';

/**
 * A streaming reader for `multipart/form-data` uploads (RFC 7578): one file field goes
 * straight to a file on disk, chunk by chunk, so a 20 MB upload never sits in memory whole
 * (`Request.formData()` would buffer it). No multipart library is installed here (busboy
 * would do this); this one handles what browsers send: CRLF line ends, quoted parameters,
 * a boundary split anywhere across chunks.
 */

export interface ReceivedFile {
  /** The file name the browser sent (no path), as given: display it, never use it as a path. */
  fileName: string;
  size: number;
  /** The first bytes (up to 8 KB), for sniffing what the file is. */
  head: Buffer;
}

export type MultipartResult =
  | { ok: true; file: ReceivedFile | undefined; fields: Record<string, string> }
  | { ok: false; reason: 'not_multipart' | 'malformed' | 'too_large' };

export interface MultipartOptions {
  /** The form field whose file is kept; other files are read and dropped. */
  fileField: string;
  /** Where that file is written (created, mode 600; deleted again on any failure). */
  destination: string;
  maxFileBytes: number;
  /** Text fields are kept up to this size each (default 16 KB); longer ones make the body malformed. */
  maxFieldBytes?: number;
  /**
   * After the file proved too large, the rest of the body is still read (and dropped) up to
   * this many bytes in all, so a browser gets the answer rather than a reset connection.
   */
  maxDrainBytes?: number;
}

const HEAD_BYTES = 8 * 1024;
const MAX_HEADER_BYTES = 16 * 1024;
/** Text before the first boundary: browsers send none, so more than this is not a form upload. */
const MAX_PREAMBLE_BYTES = 16 * 1024;

/** The boundary of a multipart/form-data content type, or undefined. */
export function multipartBoundary(contentType: string | null | undefined): string | undefined {
  if (!contentType || !/^multipart\/form-data\s*;/i.test(contentType)) return undefined;
  const match = /;\s*boundary=(?:"([^"]{1,70})"|([^\s;"]{1,70}))/i.exec(contentType);
  return match ? (match[1] ?? match[2]) : undefined;
}

/**
 * `form-data; name="file"; filename="list.csv"` → its parameters. Browsers do not escape with
 * backslashes here (HTML percent-encodes `"` and line breaks instead), so a quoted value is
 * taken as it is: a Windows path keeps its backslashes, to be cut at the last one.
 */
function dispositionParameters(value: string): Map<string, string> {
  const params = new Map<string, string>();
  for (const match of value.matchAll(/;\s*([a-z*]+)\s*=\s*(?:"([^"]*)"|([^;\s]*))/gi)) {
    params.set(match[1]!.toLowerCase(), match[2] ?? match[3]!);
  }
  return params;
}

interface Part {
  name: string;
  /** Set for file parts. */
  fileName: string | undefined;
  kind: 'kept-file' | 'dropped' | 'field';
  chunks: Buffer[];
  size: number;
}

function parsePartHeaders(block: string, options: MultipartOptions, keptFile: boolean): Part | undefined {
  let disposition: string | undefined;
  for (const line of block.split('\r\n')) {
    const colon = line.indexOf(':');
    if (colon > 0 && line.slice(0, colon).trim().toLowerCase() === 'content-disposition') disposition = line.slice(colon + 1).trim();
  }
  if (!disposition || !/^form-data\b/i.test(disposition)) return undefined;
  const params = dispositionParameters(disposition);
  const name = params.get('name');
  if (name === undefined) return undefined;
  const fileName = params.get('filename');
  if (fileName === undefined) return { name, fileName, kind: 'field', chunks: [], size: 0 };
  const baseName = fileName.split(/[\\/]/).pop() ?? '';
  return { name, fileName: baseName, kind: name === options.fileField && !keptFile && baseName !== '' ? 'kept-file' : 'dropped', chunks: [], size: 0 };
}

/**
 * Reads a multipart body: the first non-empty file in `fileField` is written to
 * `destination`, text fields are collected. A body that ends early or breaks the format is
 * `malformed`; a file over `maxFileBytes` is `too_large`; either way no file is left behind.
 */
export async function receiveMultipartFile(body: ReadableStream<Uint8Array> | null, contentType: string | null, options: MultipartOptions): Promise<MultipartResult> {
  const boundary = multipartBoundary(contentType);
  if (!boundary) return { ok: false, reason: 'not_multipart' };
  if (!body) return { ok: false, reason: 'malformed' };
  const delimiter = Buffer.from(`\r\n--${boundary}`);
  const maxField = options.maxFieldBytes ?? 16 * 1024;
  const maxDrain = options.maxDrainBytes ?? options.maxFileBytes * 5;

  const fields: Record<string, string> = {};
  let file: ReceivedFile | undefined;
  let handle: FileHandle | undefined;
  let tooLarge = false;
  let received = 0;
  let preamble = 0;
  // The body starts with "--boundary" (no CRLF before it): a CRLF in front lets one delimiter match all.
  let buffer: Buffer = Buffer.from('\r\n');
  let state = 'preamble' as 'preamble' | 'after-delimiter' | 'headers' | 'body' | 'done';
  let part: Part | undefined;

  const emit = async (bytes: Buffer) => {
    if (!part || bytes.length === 0) return;
    part.size += bytes.length;
    if (part.kind === 'field') {
      if (part.size > maxField) throw new MalformedError();
      part.chunks.push(bytes);
    } else if (part.kind === 'kept-file' && !tooLarge) {
      if (part.size > options.maxFileBytes) {
        tooLarge = true;
        return;
      }
      if (part.size - bytes.length < HEAD_BYTES) part.chunks.push(bytes.subarray(0, HEAD_BYTES - (part.size - bytes.length)));
      handle ??= await open(options.destination, 'wx', 0o600);
      await handle.write(bytes);
    }
  };

  const finishPart = async () => {
    if (!part) return;
    if (part.kind === 'field') fields[part.name] = Buffer.concat(part.chunks).toString('utf8');
    if (part.kind === 'kept-file' && !tooLarge) {
      handle ??= await open(options.destination, 'wx', 0o600); // an empty file is still a file
      file = { fileName: part.fileName!, size: part.size, head: Buffer.concat(part.chunks) };
    }
    part = undefined;
  };

  /** Consumes what it can of `buffer`; returns when it needs more bytes. */
  const advance = async () => {
    for (;;) {
      if (state === 'preamble' || state === 'body') {
        const at = buffer.indexOf(delimiter);
        if (at === -1) {
          // Keep enough of the end to hold a delimiter split across chunks.
          const safe = Math.max(0, buffer.length - (delimiter.length - 1));
          if (state === 'body') await emit(buffer.subarray(0, safe));
          else if ((preamble += safe) > MAX_PREAMBLE_BYTES) throw new MalformedError();
          buffer = buffer.subarray(safe);
          return;
        }
        if (state === 'body') {
          await emit(buffer.subarray(0, at));
          await finishPart();
        }
        buffer = buffer.subarray(at + delimiter.length);
        state = 'after-delimiter';
      } else if (state === 'after-delimiter') {
        if (buffer.length < 2) return;
        if (buffer[0] === 0x2d && buffer[1] === 0x2d) {
          state = 'done';
          return;
        }
        const lineEnd = buffer.indexOf('\r\n');
        if (lineEnd === -1) {
          if (buffer.length > 256) throw new MalformedError();
          return;
        }
        if (buffer.subarray(0, lineEnd).toString('latin1').trim() !== '') throw new MalformedError(); // only transport padding may follow
        buffer = buffer.subarray(lineEnd + 2);
        state = 'headers';
      } else if (state === 'headers') {
        const end = buffer.indexOf('\r\n\r\n');
        if (end === -1) {
          if (buffer.length > MAX_HEADER_BYTES) throw new MalformedError();
          return;
        }
        part = parsePartHeaders(buffer.subarray(0, end).toString('utf8'), options, file !== undefined || handle !== undefined);
        if (!part) throw new MalformedError();
        buffer = buffer.subarray(end + 4);
        state = 'body';
      } else {
        return; // done: the epilogue is ignored
      }
    }
  };

  const reader = body.getReader();
  try {
    for (;;) {
      let chunk: ReadableStreamReadResult<Uint8Array>;
      try {
        chunk = await reader.read();
      } catch {
        return await failed('malformed'); // the upload was interrupted
      }
      const { done, value } = chunk;
      if (done) break;
      received += value.length;
      if (tooLarge && received > maxDrain) break;
      if (state === 'done' || tooLarge) continue; // drain
      buffer = buffer.length === 0 ? Buffer.from(value) : Buffer.concat([buffer, value]);
      await advance();
    }
    if (tooLarge) return await failed('too_large');
    if (state !== 'done') return await failed('malformed');
    await handle?.close();
    handle = undefined;
    return { ok: true, file, fields };
  } catch (error) {
    await failed('malformed');
    if (error instanceof MalformedError) return { ok: false, reason: 'malformed' };
    throw error; // the disk, not the request
  } finally {
    reader.cancel().catch(() => {});
  }

  async function failed(reason: 'malformed' | 'too_large'): Promise<MultipartResult> {
    await handle?.close().catch(() => {});
    handle = undefined;
    await rm(options.destination, { force: true });
    return { ok: false, reason };
  }
}

class MalformedError extends Error {}
