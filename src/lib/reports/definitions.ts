/**
 * What the numbers mean, in words, shown next to the figures (DESIGN.md "What the numbers mean").
 * One entry per term; the admin links each column heading to its entry.
 */
export interface Definition {
  term: string;
  text: string;
}

export const DEFINITIONS = {
  delivery: {
    term: 'Delivery',
    text: 'One message of one issue to one subscriber. Delivered means the receiving mail server accepted it; bounced means it refused it for good.',
  },
  relayBounce: {
    term: 'Bounces and complaints reported later',
    text: 'What a mail relay reported after it had accepted a message — through its webhook (Amazon SES, Postmark, Mailgun, SendGrid, or the generic one) or a report in the bounce mailbox — one count per report. Hard bounce: the address takes no mail; the delivery counts as bounced and the address is suppressed for good. Soft bounce: a temporary failure (a full mailbox, a block, a deferral), recorded with its reason; nothing is suppressed. A full mailbox (enhanced status code X.2.2) counts as soft whoever reports it, even when the relay called it permanent; its reason then begins “mailbox full (5.2.2)”. Spam complaint: the reader marked the message as spam; the address is suppressed. A relay’s retry of a report it sent before counts once. Refusals during our own SMTP session are in the delivery counts, not here. Reasons are the relay’s words with addresses masked.',
  },
  recipients: {
    term: 'Recipients',
    text: 'The subscribers in the audience when the send started (active, not paused, matching its topics).',
  },
  open: {
    term: 'Open',
    text: 'A load of the issue’s invisible image for a delivery, judged by who loaded it — the network that owns the address (from its AS number), the agent and the time since delivery — with the reason kept: human (the reader’s own mail program or browser); proxy (Gmail’s or Yahoo’s image proxy fetching as the reader opens, counted as human); Apple MPP (Apple Mail Privacy Protection fetching every message in advance from Apple’s network or iCloud Private Relay, a machine); scanner (a security gateway, a cloud sandbox, Gmail’s delivery-time prefetch or a bot).',
  },
  uniqueOpens: {
    term: 'Unique opens',
    text: 'Deliveries opened at least once. “All” counts machines too; “likely human” counts deliveries with a human or image-proxy open, or a human click (a reader with images off still read it), so no rate passes 100 %. The rate is of delivered messages; a message not yet sent counts nothing.',
  },
  click: {
    term: 'Click',
    text: 'A redirect through one of the issue’s tracked links. Human, or bot with a reason naming who: a security gateway or cloud network following a link, a named scanner or bot agent, the hidden link people never see, a sweep of several links in a short span from a network that is not a home, office or mobile network, a desktop click seconds after delivery, or Microsoft Office checking a link before the browser opens it. A reader’s taps on a phone and tabs opened together after their open stay human. HEAD requests are never clicks.',
  },
  uniqueClicks: {
    term: 'Unique clicks',
    text: 'Deliveries with at least one human click. Click rate is of delivered messages; click-to-open is of likely-human unique opens. A reader who clicks with images off loaded no pixel but did open the message: a human click counts as an open, so click-to-open never passes 100 %.',
  },
  verdict: {
    term: 'Machine verdict',
    text: 'Scanners act per message: a click on the hidden link, a sweep of links, or a gateway’s first click before any sign of the reader marks that message’s machine — its network, and its agent where people browse from that network too. Its earlier opens and clicks and the page views its clicks led to become machine activity, and every count moves with them; later hits from the reader’s own network and browser still count.',
  },
  visit: { term: 'Visit', text: 'A run of page views by one visitor with gaps under 30 minutes.' },
  attributedVisit: {
    term: 'Visits from an issue',
    text: 'Visits that land with the issue’s campaign tag (utm_campaign = its slug) — a reader’s click, or a friend opening a forwarded or shared link, who is no recipient — or by a visitor carrying the issue’s attribution cookie, set by a human click and valid for the attribution window. It counts visits, not people: a reader who comes three times makes three visits. A page reached through a machine’s click, or from a machine network (a security gateway, cloud host or mail provider) with no human click behind it, is never a visit: it counts under machine activity, and a visit whose click is found to be a machine’s later goes with it.',
  },
  uniqueVisitors: {
    term: 'Recipients who visited',
    text: 'Recipients (deliveries) whose reader started a visit through their own human click, or the attribution cookie it set: people, each once. A friend who opens a forwarded or shared link makes a visit of the issue but is not counted here; one who clicks a tracked link inside a forwarded copy counts as the recipient who forwarded it (the link cannot tell them apart). A scanner’s landing never counts, and a visit goes again if its click is found to be a machine’s.',
  },
  laterVisit: {
    term: 'Later visit',
    text: 'An attributed visit that starts after that visitor’s first landing from the issue: they came back on their own.',
  },
  activeSubscribers: {
    term: 'Active subscribers',
    text: 'People on the list at the end of the period (now, for the period still running): everyone who joined up to then minus everyone who left, counted from the subscribers’ own timelines. Someone who confirmed, was imported or was added and has not since unsubscribed, bounced or complained. An erased person’s timeline is deleted with them, so they no longer count in any period, past ones included.',
  },
  joinedSubscribers: {
    term: 'Joined',
    text: 'People who became active in the period, by source. Imported: added by a CSV import. Signup form: confirmed a signup from the site. Issue referral: confirmed a signup made on a page reached from an issue (its link or a forwarded one). Other: added by hand or through the API, or came back after leaving (confirmed a new subscription). A signup counts when it is confirmed, not when the form is sent.',
  },
  leftSubscribers: {
    term: 'Left',
    text: 'Active people who stopped being on the list in the period. Unsubscribed: by the one-click link, the unsubscribe page, their preferences or an admin. Bounced or complained: their address bounced for good or they marked an issue as spam, and it is suppressed. An unconfirmed signup that unsubscribes, or a bounce after someone already left, changes nothing.',
  },
  erasedSubscribers: {
    term: 'Erased',
    text: '“Delete my data” requests carried out in the period, counted from the suppression list (a hash of the address is all that stays). They are not subtracted from the active list: the person’s whole history went with them.',
  },
  signup: {
    term: 'Attributed signup',
    text: 'A confirmed subscription whose signup visit was attributed to the issue (a forwarded link counts).',
  },
  offline: {
    term: 'Calls and walk-ins',
    text: 'Phone calls and walk-ins from the tally page, a CSV import or the call-tracking webhook. “All” counts every one of the shop’s in the issue’s window: from the quarter-hour of its send for the attribution window, or until the next issue went out if that came first, so no call or walk-in is in the window of two issues. Those are the shop’s traffic, not the issue’s result: what the issue added is its lift over a normal week, or the calls and walk-ins credited to it (its tracked phone number or a CSV row naming it).',
  },
  clickMap: {
    term: 'Click map',
    text: 'The email as it went out, each tracked link outlined with its number in the links table, its human clicks (every click, a reader clicking twice counts twice) and the people who made them (deliveries with at least one human click on that link, each once). Bot clicks — scanners, the hidden link — are counted apart and never shown on the map.',
  },
  mailClient: {
    term: 'Mail program',
    text: 'The mail program a likely-human open or a human click came from, told by its agent when the hit arrived (the agent itself is never kept): Apple Mail (Apple’s mail web view on a Mac, iPhone or iPad), Gmail and Yahoo Mail (their image proxies fetch as the reader opens, in the app or on the web), Outlook (its desktop and mobile apps), Thunderbird, other mail programs that name themselves, a web browser (web mail, or the browser a clicked link opened in — a click seldom names the mail program), and unknown (an app that names nothing, or a hit stored before these labels were kept). Apple Mail Privacy Protection fetching every message in advance is a machine: a row of its own, never a person’s open or program. Counts are events, not people; the report leaves out programs with nothing counted (the API lists every one).',
  },
  device: {
    term: 'Device',
    text: 'Desktop, phone or tablet as the agent names it: an iPhone or iPod is a phone and an iPad a tablet; an Android browser says “Mobile” on a phone and leaves it out on a tablet; Windows, Mac and Linux are desktops (an iPad asking for desktop sites says Mac, and counts as a desktop). Image proxies and Apple’s prefetch hide the device: unknown.',
  },
  unsubscribe: {
    term: 'Unsubscribes',
    text: 'Unsubscribes through this issue’s links (the footer link or the mail app’s one-click button).',
  },
  lift: {
    term: 'Lift',
    text: 'Events in the hours after a send minus the expected count, where expected is the mean of the same weekday-hours in the previous four weeks that no other send touched; shown with a 95% interval, never as a bare number. The window starts at the minute of the send; while the 24 or 72 hours are still running it ends now (the minute still running included), and earlier weeks are counted over exactly the same minutes. A headline uses a lift only when no other issue went out in its hours.',
  },
  hoursSinceSend: {
    term: 'Time since send',
    text: 'Measured from the quarter hour in which sending started; each point is the running total at the end of its quarter-hour (first 6 hours) or hour (first 2 days, first week). A curve stops where its data stops: the last point of an issue still running is now. The charts open on the span that suits the issue’s age, and switch.',
  },
  heatmap: {
    term: 'Weekday × hour',
    text: 'When things happened, in the site’s time zone (correct across daylight-saving changes).',
  },
  pageView: {
    term: 'Page view',
    text: 'A page of the site loaded by a visitor that is not a known bot. Opening the same page twice counts twice.',
  },
  newsletterView: {
    term: 'Newsletter views',
    text: 'Page views in a visit attributed to a newsletter issue (its campaign tag or its attribution cookie). The share is of all the page’s views.',
  },
  campaign: {
    term: 'Campaigns',
    text: 'Page views whose address carried a utm_campaign tag, by tag: an issue’s links carry its slug, other campaigns their own tag.',
  },
  referrer: { term: 'Referrers', text: 'Page views that came from a link on another site, by that site’s host name.' },
  machineActivity: {
    term: 'Machine activity',
    text: 'Opens, clicks and page views made by machines rather than readers: Apple Mail Privacy Protection fetching every message in advance, security gateways and sandboxes, and bots, grouped by the network they came from (its owner and AS number). Image-proxy opens count as human. Counts here are every event, not people.',
  },
  mailboxReports: {
    term: 'Reports processed',
    text: 'Messages in the bounce mailbox that were delivery-status notifications (RFC 3464) or complaint reports (ARF, RFC 5965), read and moved to the processed folder, since the mailbox was first read. A report the relay sent twice counts twice here but is recorded once.',
  },
  mailboxOthers: {
    term: 'Other messages moved aside',
    text: 'Messages in the bounce mailbox that were not such reports (an out-of-office reply, a person writing back, a message that cannot be read or is over 5 MB), moved to the other folder for a person to look at.',
  },
  mailboxBounces: {
    term: 'Bounces recorded from the mailbox',
    text: 'Bounce and complaint records whose source is the bounce mailbox, by kind, counted from the records themselves: hard (failed for good), soft (delayed, refused for now, or a full mailbox) and complaint. A report saying a message was delivered, or an authentication-failure report, records nothing.',
  },
  callAnswered: {
    term: 'Answered and missed calls',
    text: 'Calls credited to the issue (made to its tracked phone number), as the phone provider reported them: answered (Twilio “completed”, CallRail answered) or missed (busy, no answer, failed or cancelled, or CallRail not answered). Calls whose source does not say — the tally page, the admin, a CSV row, a generic webhook call without “answered” — are counted as not reported. A call is counted once, however often the provider retries it.',
  },
  callerRepeat: {
    term: 'First-time and repeat callers',
    text: 'A repeat caller’s call is one made from a number that had already called the shop — any call on record from the same number (kept only as a keyed hash) when this one was stored, within the raw-data retention period; otherwise it is a first-time caller’s. Decided when the call is stored and never changed afterwards, so a later pruning or erasure moves no figure. A call without the caller’s number (withheld, or from the tally page) counts as number not known.',
  },
  doorCounts: {
    term: 'People through the door',
    text: 'Counted by the shop’s door counters (named in Settings → Door counters), never tapped by staff: each counter reports how many went in (and out) in an interval, and the count is shared among the 15-minute periods the interval covers in proportion to its time in each (whole people: the leftovers go to the periods with the largest remainders, so the total is exactly what the counter said). A counter’s staff rule is applied as the counts are stored: quarter hours outside its opening hours (in the site’s time zone when the rule was saved) count nothing, and each day’s first N people in and out are staff. Changing a rule recounts the intervals still kept. A counter correcting an interval replaces its count. Walk-ins tapped on the tally page are a separate figure from a separate source and are never added to these; both are the shop’s traffic in the issue’s window, not the issue’s result (see the lift).',
  },
  experimentArm: {
    term: 'Experiment arm',
    text: 'An experiment splits an issue’s audience at random (from a stored seed, when the audience is frozen): variants A to D of an A/B test, each sent to an even part of the test share; the rest, who get the winner (or the issue, without an A/B test); and the held out, who get nothing this time. Each arm’s figures count its own recipients: size is everyone in the arm, delivered those whose message the mail server accepted, and likely-human openers, human clickers and recipients who visited are deliveries of the arm, each once, as in the issue’s own figures. Every measure is given per 100 delivered with its 95 % interval, and counts people where it can (see “Came back later (arm)”, “Called (arm)” and “Signups they referred”). Curves run from the quarter hour each arm’s sending started (the rest go out after the test).',
  },
  proportionInterval: {
    term: '95 % interval of a rate',
    text: 'Each rate per 100 delivered (openers, clickers, visitors, recipients who came back later or called, signups they referred) comes with its Wilson score interval: the range of true rates the count is consistent with at 95 %. It stays within 0 to 100, is not empty at 0 or 100 % (0 of 10 is 0 to 27.8 per 100), and for an arm with nothing delivered is the whole 0 to 100: nothing is known.',
  },
  differenceInterval: {
    term: '95 % interval of a difference',
    text: 'The difference between two arms’ rates comes with Newcombe’s hybrid score interval (method 10 of his 1998 paper), built from the two Wilson intervals; it behaves at zero counts and in small arms, where the textbook ± 1.96 standard errors does not. When either arm has nothing delivered the difference is unknown (−100 to 100 per 100).',
  },
  abWinner: {
    term: 'A/B winner',
    text: 'The variant with the most likely-human clickers per delivered (or likely-human openers, if that was chosen) wins when its interval against every other variant lies wholly above zero. With three or four variants each interval is widened for the number of pairs that could have come out on top (Bonferroni: 3 or 6 pairs, a 98.3 % or 99.2 % interval, z = 2.394 or 2.638 instead of 1.960), so the chance of naming a variant that is not really better stays under 5 %. The report shows every comparison the rule makes — the best variant against each other one, at that confidence — and the sentence quotes the one that decided: the winner against the closest other variant (marked “quoted”).',
  },
  withinNoise: {
    term: 'Within noise',
    text: 'Anything short of a winner: some other variant’s interval against the best reaches zero or below, or a variant has nothing delivered yet. The data then cannot tell the variants apart, and the first variant goes to the rest — the marketer’s own first choice is as good as any without evidence. It does not mean the variants are the same: a bigger test could still find a difference.',
  },
  holdout: {
    term: 'Holdout',
    text: 'A random share of the audience (at most 50 %) that gets nothing this time. The held out keep a row in the ledger marked held out: never delivered, never skipped, in no rate’s denominator. The incremental effect is the per-person rate of an outcome among recipients minus the same among the held out, per 1,000, with Newcombe’s 95 % interval × 1,000 — only for outcomes that can be told per person in both groups alike: visits by readers whose browser was known before the send, and calls from a subscriber’s known phone number (see “Identifiable (holdout)”). Recipients are everyone in the experiment not held out (every variant and the rest), whether or not their message was delivered, so the two groups stay alike. The window is the send’s start to 7 days after; until it ends the figures can still grow. Walk-ins, calls from numbers not on file and door counts can never be tied to a person, so they are not compared.',
  },
  armCalls: {
    term: 'Called (arm)',
    text: 'Per arm, the delivered recipients with at least one call (not undone) whose caller’s number matched their phone number on file, from the send’s start to 7 days after, per 100 delivered with its Wilson interval: people, as Mailchimp and Plausible count a conversion once per person. Beneath, the calls themselves (a person who called twice counts twice there). Anonymous calls and numbers not on file are in no arm; the held out’s calls are compared in the holdout result. Counted from the stored calls: an erased subscriber’s calls leave it.',
  },
  laterVisitorsArm: {
    term: 'Came back later (arm)',
    text: 'Per arm, the recipients with at least one later visit (a visit from the issue that started after their first landing from it, within the attribution window), per 100 delivered with its Wilson interval: people, each once — the same people as the “Recipients who came back later” list. Beneath, the later visits themselves (visits, not people: one person can come back several times). The people are counted from the stored visits, so retention pruning and erasure lower them with the rows; the later visits are the maintained count and stay.',
  },
  armSignups: {
    term: 'Signups they referred',
    text: 'Per arm, the confirmed signups whose browser clicked a link of that arm’s messages: the attribution cookie set by the click names the delivery, and a forwarded copy’s links are the forwarder’s, so a friend’s signup counts for the recipient who forwarded it. Per 100 delivered with its Wilson interval (signups are new people, not recipients: the interval treats each as one delivered recipient’s, exact while nobody refers two). A signup whose click was a machine’s, or that came through the issue’s campaign on a page without the cookie, has no arm. Counted as each signup is confirmed, so later erasure and pruning change nothing. Signups made before Footfall began recording the click (this release) count for the issue only: they cannot be split by arm.',
  },
  armProgress: {
    term: 'Arms while sending',
    text: 'On the send’s progress page, per arm: People, everyone in the arm (frozen when sending started); Sent, messages the mail server accepted; Waiting, messages queued or being sent (the rest wait here for the winner); Skipped or failed, messages that will not go (suppressed, failed, or the test stopped). The held out get nothing, so they have no counts. When the wait ends the decision waits for every variant message to be sent, failed or bounced — at most until twice the wait after the send’s start; then it is made with what was delivered by then (a message still queued counts as not delivered).',
  },
  holdoutIdentified: {
    term: 'Identifiable (holdout)',
    text: 'Who can be told apart per person, decided before the send so it is alike for recipients and held out. Visits: a subscriber is identifiable when Footfall’s reader cookie was first set in their browser before the send started — it is set (first-party, HttpOnly, signed, 400 days) on a likely-human click in any newsletter with per-person tracking on, and names the subscriber. Only clicks still counted as a person’s make someone known: when a click is later found to be a machine’s (a security scanner following links), “known since” moves to the subscriber’s earliest click still counted as a person’s, or they are not known at all. Their outcome is at least one visit from a browser carrying that cookie, starting within 7 days of the send’s start; visits through this issue’s own links count (that is the effect). Calls: a subscriber is identifiable when the phone number on file for them (kept only as a keyed hash) was set before the send started — a number added or changed afterwards, even because the person called, does not count; their outcome is at least one call matched to them in the same window. The share identifiable is shown per arm; the rates are of the identifiable, with Wilson 95 % intervals. An erased subscriber leaves both the identifiable and the outcome; pruned visits leave the outcome.',
  },
  regularCadence: {
    term: 'More than usual? (weekly sends)',
    text: 'When every earlier week had a send in the same hours, a week-on-week comparison cannot separate the send from the weekday, so no lift is given. What can answer: a holdout (compared per person), skipping the send every other week, or alternating two send days (compared week by week). Weeks needed use the normal approximation at 80 % power and 5 % two-sided, for an effect the size of the issue’s own attributed visits so far (people who came through its links). Week by week the assumption is that a window’s visits are Poisson around a steady level, with no trend and no more spread between weeks than chance; a holdout estimate without a holdout result takes the held out’s rate as 0 and so is a lower bound (“at least”).',
  },
  weeksNeeded: {
    term: 'Weeks needed',
    text: 'How many weekly sends it takes to see an effect of a given size with 80 % chance at 5 % significance (two-sided): (1.960 + 0.842)² × (p₁(1 − p₁)/n₁ + p₀(1 − p₀)/n₀) / d², with n₁ and n₀ the people one week adds to each group. It assumes each week adds independent people at the same rates; the same subscribers week after week make it optimistic.',
  },
} as const satisfies Record<string, Definition>;

export type DefinitionKey = keyof typeof DEFINITIONS;
