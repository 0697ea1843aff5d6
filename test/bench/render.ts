// npm run bench:render — what one recipient's message costs, as a fraction of one MJML render of
// the same issue measured in the same run (target ≤ 1/100), and the time to prepare 100,000
// personalised messages. Rounds interleave one MJML render and 1,000 recipients; medians.
import { renderIssueEmail, composeIssueMjml, runMjml } from '../../src/lib/issues/render.ts';
import { createPersonalizer, type IssueSnapshot } from '../../src/lib/issues/personalize.ts';
import { sampleContent, sampleSettings } from '../helpers/issues.ts';
import { conditions, median } from './run-load.ts';

const TARGET = 0.01;
const ROUNDS = 40;
const PER_ROUND = 1000;
const RECIPIENTS = Number(process.env.BENCH_RECIPIENTS ?? 100_000);

const content = sampleContent();
const settings = sampleSettings({ siteUrl: 'https://www.frobozz.example' });
const secret = 'b'.repeat(43);

// Warm-up, not measured: MJML's module load (~300 ms) and first render, V8's first compiles.
const rendered = await renderIssueEmail(content, settings);
const mjml = await composeIssueMjml(content, settings);
for (let i = 0; i < 5; i++) await runMjml(mjml);

const snapshot: IssueSnapshot = {
  issueId: 42,
  slug: content.slug,
  subject: content.subject,
  from: { name: 'Frobozz Electric', address: 'news@frobozz.example' },
  replyTo: null,
  html: rendered.html,
  text: rendered.text,
  headers: {
    fixed: { 'List-Id': 'Frobozz Electric newsletter <newsletter.frobozz.example>', 'X-Footfall-Issue': content.slug },
    messageIdDomain: 'frobozz.example',
    unsubscribeMailto: 'news@frobozz.example?subject=unsubscribe',
  },
  links: rendered.links.map((link) => ({ ...link, id: 10_000 + link.position })),
  archiveHtml: '',
  openTracking: true,
  clickTracking: true,
  siteUrl: settings.siteUrl,
  createdAt: 0,
};
const personalize = createPersonalizer(snapshot, { secret });
let sink = 0;
for (let i = 1; i <= 5000; i++)
  sink += personalize({ deliveryId: 900_000 + i, subscriberId: i, email: `warm${i}@example.com`, name: null }).html
    .length;

// Interleaved: one MJML render, then a batch of recipients, 40 times. Each round gives its own
// ratio, so a slow moment (another process on the machine) weighs on both sides of it alike.
const mjmlMs: number[] = [];
const perRecipientUs: number[] = [];
const ratios: number[] = [];
let nextId = 100_000;
for (let round = 0; round < ROUNDS; round++) {
  const { ms } = await runMjml(mjml);
  const start = performance.now();
  for (let i = 0; i < PER_ROUND; i++) {
    const id = nextId++;
    const mail = personalize({
      deliveryId: id,
      subscriberId: id,
      email: `reader${id}@example.com`,
      name: i % 3 === 0 ? 'Jo Bloggs' : null,
    });
    sink += mail.html.length + mail.text!.length;
  }
  const us = ((performance.now() - start) * 1000) / PER_ROUND;
  mjmlMs.push(ms);
  perRecipientUs.push(us);
  ratios.push(us / 1000 / ms);
}
const fullRenderMs: number[] = [];
for (let i = 0; i < 5; i++) {
  const started = performance.now();
  await renderIssueEmail(content, settings);
  fullRenderMs.push(performance.now() - started);
}

// 100,000 messages prepared in one go, as a sending worker would (the mail objects are dropped as it goes).
const preparedStart = performance.now();
for (let i = 0; i < RECIPIENTS; i++) {
  const id = 1_000_000 + i;
  const mail = personalize({ deliveryId: id, subscriberId: id, email: `reader${id}@example.com`, name: null });
  sink += mail.html.length;
}
const preparedMs = performance.now() - preparedStart;
const prepared = RECIPIENTS;

const oneMjml = median(mjmlMs);
const perRecipient = median(perRecipientUs);
const ratio = median(ratios);
const sample = personalize({ deliveryId: 123_456, subscriberId: 123_456, email: 'reader@example.com', name: null });
console.log(
  `conditions: ${conditions()}; issue: ${rendered.links.length} registered links, ${content.featuredArticles.length} article cards, ${(Buffer.byteLength(sample.html) / 1024).toFixed(1)} KB HTML + ${(Buffer.byteLength(sample.text!) / 1024).toFixed(1)} KB text per message; click and open tracking on`,
);
console.log(
  `one MJML render (mjml2html): ${oneMjml.toFixed(2)} ms (median of ${mjmlMs.length}); the whole render incl. Markdown, link rewriting and text part: ${median(fullRenderMs).toFixed(2)} ms`,
);
console.log(
  `personalise one recipient: ${perRecipient.toFixed(1)} µs (median of ${ROUNDS} rounds of ${PER_ROUND.toLocaleString('en')}) — ${rendered.links.length + 1} HMAC-signed tokens, 2 signed subscriber links, string splicing`,
);
console.log(
  `${prepared.toLocaleString('en')} personalised messages prepared in ${(preparedMs / 1000).toFixed(2)} s (${Math.round(prepared / (preparedMs / 1000)).toLocaleString('en')} a second, one core)`,
);
console.log(`personalize ratio: ${ratio.toFixed(4)} (median of the ${ROUNDS} rounds' ratios; target <= ${TARGET})`);
if (sink === 0) console.log('');
process.exit(ratio <= TARGET ? 0 : 1);
