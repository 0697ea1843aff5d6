import { BODY_LIMITS } from './http/body-limits.ts';
import { readJsonBody } from './http/request-body.ts';
import type { CheckResult } from '../lib/issues/checks.ts';
import type { Issue } from '../lib/issues/issue.ts';
import type { IssueFailure } from '../lib/issues/issues.service.ts';

/**
 * The JSON shapes of /api/issues (what automation reads and writes), kept beside the domain
 * so the routes stay a few lines each. Field names are snake_case, times epoch milliseconds.
 */

const NO_STORE = { 'cache-control': 'no-store' };

export function json(body: unknown, status = 200, headers: Record<string, string> = {}): Response {
  return Response.json(body, { status, headers: { ...NO_STORE, ...headers } });
}

export function notFound(): Response {
  return json({ error: 'not_found', message: 'There is no such issue.' }, 404);
}

export function failureResponse(failure: IssueFailure): Response {
  const status = { invalid: 400, conflict: 409, 'not-found': 404, 'mail-failed': 502 }[failure.reason];
  const error = { invalid: 'invalid', conflict: 'conflict', 'not-found': 'not_found', 'mail-failed': 'mail_failed' }[
    failure.reason
  ];
  return json({ error, message: failure.message, ...(failure.fields ? { fields: failure.fields } : {}) }, status);
}

/** The id in /api/issues/<id>, or undefined for anything but a positive integer. */
export function issueIdParam(value: string | undefined): number | undefined {
  return value && /^[1-9]\d{0,15}$/.test(value) ? Number(value) : undefined;
}

/**
 * A JSON object from the request body (read with a size limit by readJsonBody); otherwise the
 * 4xx answer (bad JSON, not an object, wrong content type, too large) with a sentence saying why.
 */
export async function readJsonObject(
  request: Request,
  maxBytes: number = BODY_LIMITS.api,
): Promise<{ ok: true; value: Record<string, unknown> } | { ok: false; response: Response }> {
  const body = await readJsonBody(request, maxBytes);
  if (!body.ok)
    return {
      ok: false,
      response: json(
        {
          error: body.status === 413 ? 'too_large' : body.status === 415 ? 'unsupported_media_type' : 'invalid',
          message: body.message,
        },
        body.status,
      ),
    };
  const value = body.value;
  if (typeof value !== 'object' || value === null || Array.isArray(value))
    return {
      ok: false,
      response: json({ error: 'invalid', message: 'The body must be a JSON object, e.g. {"subject": "…"}.' }, 400),
    };
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
    tracked_phone: issue.trackedPhone,
    tracked_phone_display: issue.trackedPhoneDisplay,
    archive_url: issue.status === 'sent' ? `${siteUrl}/newsletter/${issue.slug}/` : null,
  };
}

export function checksJson(checks: readonly CheckResult[]) {
  return checks.map((c) => ({
    id: c.id,
    label: c.label,
    status: c.status,
    message: c.message,
    ...(c.details ? { details: c.details } : {}),
  }));
}
