import type { TopicId } from '../lib/subscribers/topics.ts';

/**
 * The newsletter issues of the demo history, oldest first: what the marketer wrote, and how
 * readers took it. `appeal` scales opens and clicks (1 = an ordinary issue); `footfall` scales
 * the calls and walk-ins in the days after (an issue about the repair counter brings people in
 * without being much read). Two are clearly better than the rest, one is weak.
 */
export interface IssueScript {
  subject: string;
  preheader: string;
  bodyMarkdown: string;
  /** Slugs of published articles shown as cards. */
  featured: string[];
  /** Only subscribers with one of these topics (absent: everyone). */
  topics?: TopicId[];
  /** The call-tracking number printed in the issue's footer: calls to it are credited to the issue. */
  trackedPhone: string;
  appeal: number;
  footfall: number;
}

const PHONE = '[(555) 0142](tel:5550142)';

export const ISSUE_SCRIPTS: readonly IssueScript[] = [
  {
    subject: 'Choosing your first widget, without the sales talk',
    preheader: 'Drive type, size, controls: what matters and what does not',
    bodyMarkdown: `# Buying a widget? Start with the job

Most widgets that end up in a drawer were bought for the wrong job. Our
[plain-spoken buyer's guide](/articles/choosing-your-first-widget/) is what we tell people at the
counter, written down: the questions worth asking before you pay.

Not sure between clockwork and battery? [We compared three popular models](/articles/clockwork-vs-battery-widgets-compared/).

Bring your shortlist in and try them on the counter, or ring us on ${PHONE}.`,
    featured: ['choosing-your-first-widget', 'clockwork-vs-battery-widgets-compared'],
    trackedPhone: '+1 555 0151',
    appeal: 1,
    footfall: 1,
  },
  {
    subject: 'Ten minutes a month that keep a widget running for years',
    preheader: 'A cloth, a soft brush and a drop of oil: the routine that prevents most repairs',
    bodyMarkdown: `# Most widgets on our bench are not broken — they are dirty

Dust, kitchen grease and pocket fluff work their way into the gear train. Ten minutes of care
every few weeks prevents nearly all of it: here is [our weekly and seasonal routine](/articles/cleaning-and-caring-for-your-widget/).

Never use household sprays on a dial. If something is stuck, [ask us first](mailto:repairs@frobozz.example).`,
    featured: ['cleaning-and-caring-for-your-widget'],
    trackedPhone: '+1 555 0152',
    appeal: 0.9,
    footfall: 0.8,
  },
  {
    subject: 'Won’t hold its wind? It is probably a 40p spring',
    preheader: 'Diagnose a tired click spring in two minutes and replace it safely',
    bodyMarkdown: `# The most common fault we see, and the cheapest fix

You turn the key, let go, and the widget goes limp. Nine times out of ten the mainspring is fine
and the culprit is the click spring. [Here is how to check it and replace it, step by step](/articles/fixing-a-widget-that-wont-hold-its-wind/).

We keep click springs for every model we sell. Would you rather we did it? Bring it to the
repair counter or call ${PHONE}.

The [Flathead Society's parts list](https://flathead-society.example/parts?ref=frobozz) has the sizes.`,
    featured: ['fixing-a-widget-that-wont-hold-its-wind', 'cleaning-and-caring-for-your-widget'],
    trackedPhone: '+1 555 0153',
    appeal: 1.5,
    footfall: 1.3,
  },
  {
    subject: 'Clockwork, battery or twin-drive: which widget suits you?',
    preheader: 'The Pocket Ticker, the Brightbox and the Twin-Drive side by side',
    bodyMarkdown: `# Neither is better. They suit different people.

We put three widgets we sell plenty of [side by side](/articles/clockwork-vs-battery-widgets-compared/):
winding, running time, noise, and what each costs you over five years.

Battery widget owners: read [which battery to buy and how to store them](/articles/widget-batteries-explained/).`,
    featured: ['clockwork-vs-battery-widgets-compared', 'widget-batteries-explained'],
    trackedPhone: '+1 555 0154',
    appeal: 1.05,
    footfall: 1,
  },
  {
    subject: 'Late Thursdays and a proper repair counter',
    preheader: 'From October we are open until 8 pm on Thursdays, and repairs have their own counter',
    bodyMarkdown: `# A few changes at 12 Flathead Row

We now open until 8 pm on Thursdays, and repairs have [their own counter](/articles/repair-counter-and-new-opening-hours/)
with a bench you can watch. Our first free workshop evening is on a Thursday: bring a widget and
learn to service it yourself.

Book a place by calling ${PHONE}, or just drop in.`,
    featured: ['repair-counter-and-new-opening-hours'],
    trackedPhone: '+1 555 0155',
    appeal: 0.75,
    footfall: 1.8,
  },
  {
    subject: 'Widget batteries, explained (and why cheap ones cost more)',
    preheader: 'Which battery your widget takes, how long it lasts, and how to store spares',
    bodyMarkdown: `# The battery drawer, sorted

Which battery your widget takes, how long it lasts, and why the bargain packs cost more in the
end: [widget batteries explained](/articles/widget-batteries-explained/).

Old batteries go in the recycling box by our door, whoever sold them to you.`,
    featured: ['widget-batteries-explained', 'choosing-your-first-widget'],
    trackedPhone: '+1 555 0156',
    topics: ['guides', 'offers'],
    appeal: 1,
    footfall: 0.9,
  },
  {
    subject: 'Cold mornings are coming: get your widget ready for winter',
    preheader: 'Five things to do before the first frost, and a free spring check at the counter',
    bodyMarkdown: `# Winter is hard on springs and batteries

Every November the same widgets come back to the shop: the garage widget that stopped
overnight, the shed widget with a misted dial. [Our autumn checklist](/articles/getting-your-widget-ready-for-winter/)
avoids most of it.

This month the **spring check is free** at the repair counter: bring your widget in, or call
${PHONE} and we will tell you whether it needs one.

Batteries in the cold: [what to buy and how to store them](/articles/widget-batteries-explained/).`,
    featured: ['getting-your-widget-ready-for-winter', 'widget-batteries-explained'],
    trackedPhone: '+1 555 0157',
    appeal: 1.7,
    footfall: 1.6,
  },
  {
    subject: 'Last days of the free spring check',
    preheader: 'Until Saturday at the repair counter: no booking needed',
    bodyMarkdown: `# Free spring checks end on Saturday

Thank you to everyone who brought a widget in. The free spring check runs until Saturday at
the [repair counter](/articles/repair-counter-and-new-opening-hours/); no booking needed.

Not sure yours needs one? Read [the winter checklist](/articles/getting-your-widget-ready-for-winter/) or call ${PHONE}.`,
    featured: ['getting-your-widget-ready-for-winter'],
    trackedPhone: '+1 555 0158',
    appeal: 0.85,
    footfall: 1.4,
  },
];

/** `count` scripts spread over the list, oldest first (all eight for the full demo). */
export function chooseScripts(count: number): IssueScript[] {
  const n = Math.max(1, Math.min(count, ISSUE_SCRIPTS.length));
  if (n === 1) return [ISSUE_SCRIPTS[ISSUE_SCRIPTS.length - 1]!];
  return Array.from({ length: n }, (_, i) => ISSUE_SCRIPTS[Math.round((i * (ISSUE_SCRIPTS.length - 1)) / (n - 1))]!);
}
