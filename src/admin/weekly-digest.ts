/**
 * The weekly digest as an email: last week's issues, each with the headline figures its report
 * leads with (the same tiles, from the same IssueReport: no figure is worked out a second way)
 * and a link to the report. Every value is escaped before it goes into the MJML.
 */
import type { ComposeDigest, DigestContent } from '../lib/digest/digest.service.ts';
import { escapeHtml } from '../lib/mail/placeholders.ts';
import { renderComposedEmail } from '../lib/mail/templates.ts';
import { countOf } from '../lib/text/counts.ts';
import { formatDay, formatTime } from './format.ts';
import { issueHeadline } from './issue-headline.ts';

const e = escapeHtml;

function issueSection(content: DigestContent, report: DigestContent['reports'][number], siteUrl: string): string {
  const { added, reach } = issueHeadline(report, content.generatedAt);
  const row = report.issue;
  const line = (tile: (typeof added)[number]) =>
    `<strong>${e(tile.figure)}</strong> ${e(tile.label)}. <span style="color:#4f5a6b">${e(tile.detail)}</span>`;
  return `
    <mj-section>
      <mj-column>
        <mj-divider />
        <mj-text font-size="19px" line-height="26px" font-weight="700" color="#1d3461">${e(row.subject)}</mj-text>
        <mj-text mj-class="small">Sent ${e(formatTime(row.sentAt, report.timeZone))}. ${e(reach.map((tile) => `${tile.figure} ${tile.label}`).join(' · '))}</mj-text>
        <mj-text font-weight="700" padding="0 0 6px 0">What it added</mj-text>
        ${added.map((tile) => `<mj-text padding="0 0 8px 0">${line(tile)}</mj-text>`).join('\n        ')}
        <mj-button href="${e(`${siteUrl}/admin/issues/${row.issueId}/report`)}">Read the report</mj-button>
      </mj-column>
    </mj-section>`;
}

/** The digest's subject, preview and body, then rendered in the transactional layout. */
export const composeWeeklyDigest: ComposeDigest = (content, recipient) => {
  const { settings, week, reports } = content;
  const tz = settings.timeZone;
  const siteUrl = settings.siteUrl.replace(/\/$/, '');
  const span = `${formatDay(week.from, tz)} to ${formatDay(week.to - 1, tz)}`;
  const count = countOf(reports.length, 'issue');
  const title =
    reports.length === 0
      ? `${settings.siteName} weekly digest: no issue went out last week`
      : `${settings.siteName} weekly digest: ${count} last week`;
  const body = `
    <mj-section>
      <mj-column>
        <mj-text mj-class="heading" css-class="heading"><h1 style="margin:0;font-size:inherit;line-height:inherit;font-weight:700;">Last week’s newsletters</h1></mj-text>
        <mj-text>Hello ${e(recipient.name)}. ${reports.length === 0 ? `No issue went out from ${e(span)} (${e(tz)}).` : `${e(count)} went out from ${e(span)} (${e(tz)}). Figures as of ${e(formatTime(content.generatedAt, tz))}; each report has the rest, and what every figure means.`}</mj-text>
      </mj-column>
    </mj-section>
    ${reports.map((report) => issueSection(content, report, siteUrl)).join('\n')}
    <mj-section>
      <mj-column>
        <mj-divider />
        <mj-text mj-class="small">You get this every Monday at 08:00 (${e(tz)}) because you asked for it on your account page. <a href="{{stopUrl}}">Stop the weekly digest</a>.</mj-text>
      </mj-column>
    </mj-section>`;
  return renderComposedEmail(
    'transactional',
    {
      title: e(title),
      preview: e(
        reports.length === 0 ? 'Nothing went out last week.' : reports.map((r) => r.issue.subject).join(' · '),
      ),
      body,
    },
    {
      siteName: settings.siteName,
      siteUrl: settings.siteUrl,
      postalAddress: settings.postalAddress.replace(/\s*\n\s*/g, ', '),
      stopUrl: recipient.stopUrl,
    },
  );
};
