import { describe, expect, it } from 'vitest';
import {
  BODY_LIMITS,
  bodyRouteOf,
  LARGEST_ACTION_BODY,
  LARGEST_BODY,
  tooLargeAnswer,
} from '../../../src/web/http/body-limits.ts';
import { MAX_OFFLINE_UPLOAD_BYTES } from '#lib/offline/offline-uploads.ts';
import { MAX_UPLOAD_BYTES } from '#lib/subscribers/import-jobs.ts';
import { BODY_MAX } from '#lib/issues/issue.ts';

describe('request body limits', () => {
  it('name a limit for every route family, from the decided path and the action named in the query', () => {
    const cases: [string, string, keyof typeof BODY_LIMITS][] = [
      ['/admin/login', '?_action=accounts.login', 'form'],
      ['/_actions/accounts.login', '', 'form'],
      ['/subscribe', '?_action=subscribe', 'form'],
      ['/admin/issues/new', '?_action=issues.create', 'issueForm'],
      ['/admin/issues/7', '?_action=issues.update', 'issueForm'],
      ['/_actions/issues.renderPreview', '', 'issueForm'],
      ['/admin/offline-events/import', '?_action=offlineEvents.upload', 'offlineUpload'],
      ['/admin/subscribers/import/upload', '', 'subscriberImport'],
      ['/admin/tally/taps', '', 'tallyTaps'],
      ['/api/issues', '', 'api'],
      ['/api/subscribers', '', 'apiSubscribers'],
      ['/api/webhooks/calls', '', 'webhook'],
      ['/api/webhooks/bounces', '', 'webhook'],
      ['/unsubscribe/abc', '', 'oneClickUnsubscribe'],
      ['/t/o/abc', '', 'tracking'],
      ['/articles/x/', '', 'form'],
      ['/admin/login', '?_action=toString', 'form'], // not an own key of the action table
    ];
    for (const [route, search, expected] of cases)
      expect(bodyRouteOf(route, search), `${route}${search}`).toBe(expected);
  });

  it('leave room for what the routes accept: the largest issue, the offline CSV, the 20 MB import', () => {
    // An issue body of BODY_MAX characters outside Latin-1, form-encoded: 9 bytes a character.
    expect(BODY_LIMITS.issueForm).toBeGreaterThan(BODY_MAX * 9);
    expect(BODY_LIMITS.offlineUpload).toBeGreaterThan(MAX_OFFLINE_UPLOAD_BYTES + 4096);
    expect(BODY_LIMITS.subscriberImport).toBeGreaterThan(MAX_UPLOAD_BYTES);
    expect(LARGEST_ACTION_BODY).toBe(BODY_LIMITS.issueForm);
    expect(LARGEST_BODY).toBe(BODY_LIMITS.subscriberImport);
  });

  it('answer 413 in the form the client reads', () => {
    const api = tooLargeAnswer('/api/subscribers', { contentType: 'application/json' }, BODY_LIMITS.apiSubscribers);
    expect(api.status).toBe(413);
    expect(api.headers.connection).toBe('close');
    expect(JSON.parse(api.body)).toEqual({
      error: 'too_large',
      message: 'The request body is larger than 10 MB, the most this address accepts.',
    });
    const page = tooLargeAnswer(
      '/admin/login',
      { accept: 'text/html,application/xhtml+xml', contentType: 'application/x-www-form-urlencoded' },
      BODY_LIMITS.form,
    );
    expect(page.headers['content-type']).toMatch(/^text\/html/);
    expect(page.body).toContain('larger than 64 KB');
    expect(tooLargeAnswer('/unsubscribe/x', {}, BODY_LIMITS.oneClickUnsubscribe).headers['content-type']).toMatch(
      /^text\/plain/,
    );
  });
});
