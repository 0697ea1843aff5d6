import type { CheckResult } from './checks.ts';
import type { Issue } from './issue.ts';
import type { IssueFailure } from './issues.service.ts';

/**
 * The JSON shapes of /api/issues (what automation reads and writes), kept beside the domain
 * so the routes stay a few lines each. Field names are snake_case, times epoch milliseconds.
 */

export const MAX_JSON_BYTES = 512 * 1024;

const NO_STORE = { 'cache-control': 'no-store' };

export function json(body: unknown, status = 200, headers: Record<string, string> = {}): Response {
  return Response.json(body, { status, headers: { ...NO_STORE, ...headers } });
}

export function notFound(): Response {
  return json({ error: 'not_found', message: 'There is no such issue.' }, 404);
}

export function failureResponse(failure: IssueFailure): Response {
  const status = failure.reason === 'invalid' ? 400 : failure.reason === 'conflict' ? 409 : 404;
  const error = failure.reason === 'invalid' ? 'invalid' : failure.reason === 'conflict' ? 'conflict' : 'not_found';
  return json({ error, message: failure.message, ...(failure.fields ? { fields: failure.fields } : {}) }, status);
}

/** The id in /api/issues/<id>, or undefined for anything but a positive integer. */
export function issueIdParam(value: string | undefined): number | undefined {
  return value && /^[1-9]\d{0,15}$/.test(value) ? Number(value) : undefined;
}

/**
 * A JSON object from the request body, read with a size limit; otherwise the 4xx answer
 * (bad JSON, not an object, wrong content type, too large) with a sentence saying why.
 */
export async function readJsonObject(request: Request): Promise<{ ok: true; value: Record<string, unknown> } | { ok: false; response: Response }> {
  const refuse = (status: number, message: string) => ({ ok: false as const, response: json({ error: status === 413 ? 'too_large' : status === 415 ? 'unsupported_media_type' : 'invalid', message }, status) });
  const type = request.headers.get('content-type');
  if (type && !/^application\/([\w.+-]*\+)?json\s*(;|$)/i.test(type)) return refuse(415, `Send the body as JSON with "Content-Type: application/json" (got "${type.slice(0, 80)}").`);
  const declared = Number(request.headers.get('content-length'));
  if (Number.isFinite(declared) && declared > MAX_JSON_BYTES) return refuse(413, `The body is larger than ${MAX_JSON_BYTES / 1024} KB.`);
  let bytes: ArrayBuffer;
  try {
    bytes = await request.arrayBuffer();
  } catch {
    return refuse(400, 'The request body could not be read.');
  }
  if (bytes.byteLength > MAX_JSON_BYTES) return refuse(413, `The body is larger than ${MAX_JSON_BYTES / 1024} KB.`);
  if (bytes.byteLength === 0) return refuse(400, 'The body is empty: send a JSON object.');
  let value: unknown;
  try {
    value = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes));
  } catch (error) {
    return refuse(400, `The body is not valid JSON: ${error instanceof Error ? error.message : String(error)}`);
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return refuse(400, 'The body must be a JSON object, e.g. {"subject": "…"}.');
  return { ok: true, value: value as Record<string, unknown> };
}

/** An issue as the API shows it. */
export function issueJson(issue: Issue, siteUrl: string) {
  return {
    id: issue.id,
    slug: issue.slug,
    subject: issue.subject,
    preheader: issue.preheader,
    body_markdown: issue.bodyMarkdown,
    featured_articles: issue.featuredArticles.map((a) => a.slug),
    status: issue.status,
    frozen: issue.frozen,
    created_at: issue.createdAt,
    updated_at: issue.updatedAt,
    sent_at: issue.sentAt,
    archive_url: issue.status === 'sent' ? `${siteUrl}/newsletter/${issue.slug}/` : null,
  };
}

export function checksJson(checks: readonly CheckResult[]) {
  return checks.map((c) => ({ id: c.id, label: c.label, status: c.status, message: c.message, ...(c.details ? { details: c.details } : {}) }));
}
