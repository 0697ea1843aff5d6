import { randomBytes } from 'node:crypto';
import nodemailer from 'nodemailer';
import type { ImapServer } from './imap-server.ts';
import { startSmtpSink, type SmtpSink } from './smtp-sink.ts';

const CRLF = '\r\n';

/** The header block of a raw message (up to the first empty line). */
export function headerBlock(raw: string): string {
  return raw.split(/\r?\n\r?\n/, 1)[0]!.replace(/\r?\n/g, CRLF);
}

export interface Rejection {
  recipient: string;
  /** The SMTP answer the next hop gave, as nodemailer reported it: "550 5.1.1 <…>: Recipient address rejected: …". */
  response: string;
  responseCode: number;
}

/**
 * What a relay does with a message it accepted: hands it to the next hop (here a real SMTP
 * server) for each recipient, and collects that server's refusals verbatim.
 */
export async function relayOnward(
  nextHop: SmtpSink,
  envelope: { from: string; to: string[] },
  raw: string,
): Promise<Rejection[]> {
  const transport = nodemailer.createTransport({ url: nextHop.url, logger: false });
  const rejections: Rejection[] = [];
  try {
    for (const to of envelope.to) {
      try {
        await transport.sendMail({ envelope: { from: envelope.from, to: [to] }, raw });
      } catch (error) {
        const e = error as {
          response?: string;
          responseCode?: number;
          rejectedErrors?: { response?: string; responseCode?: number }[];
        };
        const detail = e.rejectedErrors?.[0] ?? e;
        rejections.push({
          recipient: to,
          response: String(detail.response),
          responseCode: Number(detail.responseCode),
        });
      }
    }
  } finally {
    transport.close();
  }
  return rejections;
}

/**
 * An RFC 3464 delivery-status notification as an MTA writes it after a refusal further on:
 * multipart/report with a human part, the machine-readable message/delivery-status (Status
 * from the refusal's enhanced code, its text as Diagnostic-Code) and the original's headers
 * (text/rfc822-headers), sent to the original's envelope sender.
 */
export function buildDsn(options: {
  reportingMta: string;
  to: string;
  rejection: Rejection;
  originalHeaders: string;
  date: Date;
  messageId?: string;
  action?: 'failed' | 'delayed';
}): string {
  const boundary = `dsn-${randomBytes(6).toString('hex')}`;
  const enhanced =
    /\b([245]\.\d{1,3}\.\d{1,3})\b/.exec(options.rejection.response)?.[1] ??
    `${String(options.rejection.responseCode)[0]}.0.0`;
  const messageId = options.messageId ?? `<${randomBytes(8).toString('hex')}@${options.reportingMta}>`;
  return [
    `Return-Path: <>`,
    `From: Mail Delivery System <MAILER-DAEMON@${options.reportingMta}>`,
    `To: ${options.to}`,
    `Subject: Undelivered Mail Returned to Sender`,
    `Date: ${options.date.toUTCString().replace('GMT', '+0000')}`,
    `Message-ID: ${messageId}`,
    `Auto-Submitted: auto-replied`,
    `MIME-Version: 1.0`,
    `Content-Type: multipart/report; report-type=delivery-status;`,
    `\tboundary="${boundary}"`,
    ``,
    `This is a MIME-encapsulated message.`,
    ``,
    `--${boundary}`,
    `Content-Description: Notification`,
    `Content-Type: text/plain; charset=us-ascii`,
    ``,
    `I'm sorry to have to inform you that your message could not`,
    `be delivered to one or more recipients.`,
    ``,
    `<${options.rejection.recipient}>: host next-hop said: ${options.rejection.response}`,
    ``,
    `--${boundary}`,
    `Content-Description: Delivery report`,
    `Content-Type: message/delivery-status`,
    ``,
    `Reporting-MTA: dns; ${options.reportingMta}`,
    `Arrival-Date: ${options.date.toUTCString().replace('GMT', '+0000')}`,
    ``,
    `Final-Recipient: rfc822; ${options.rejection.recipient}`,
    `Original-Recipient: rfc822;${options.rejection.recipient}`,
    `Action: ${options.action ?? 'failed'}`,
    `Status: ${enhanced}`,
    `Remote-MTA: dns; next-hop.example`,
    `Diagnostic-Code: smtp; ${options.rejection.response}`,
    ``,
    `--${boundary}`,
    `Content-Description: Undelivered Message Headers`,
    `Content-Type: text/rfc822-headers`,
    ``,
    options.originalHeaders,
    ``,
    `--${boundary}--`,
    ``,
  ].join(CRLF);
}

/**
 * The next hop refuses `recipient` after the relay accepted the message for it: the message as
 * the relay got it is handed on to a real SMTP server that answers `refusal` (by default 550
 * 5.1.1 user unknown), and the DSN the relay writes from that answer lands in the bounce
 * mailbox, sent to the message's return path. Returns the refusal as the relay saw it, that
 * return path (the VERP address, where the message had one) and the DSN (to deliver it again).
 */
export async function appendRefusalDsn(
  mailbox: Pick<ImapServer, 'append'>,
  relay: SmtpSink,
  recipient: string,
  options: {
    date: Date;
    refusal?: { code: number; message: string };
    action?: 'failed' | 'delayed';
    /** Leave the original's Message-ID out of the DSN: only the return path names the delivery. */
    withoutMessageId?: boolean;
  },
): Promise<{ rejection: Rejection; returnPath: string; dsn: string }> {
  const index = relay.envelopes.findIndex((e) => e.rcptTo.includes(recipient));
  if (index < 0) throw new Error(`the relay got no message for ${recipient}`);
  const returnPath = relay.envelopes[index]!.mailFrom;
  const raw = relay.raw[index]!;
  const refusal = options.refusal ?? {
    code: 550,
    message: `5.1.1 <${recipient}>: Recipient address rejected: User unknown`,
  };
  const nextHop = await startSmtpSink({ respond: (rcpt) => (rcpt === recipient ? refusal : null) });
  let rejection: Rejection | undefined;
  try {
    [rejection] = await relayOnward(nextHop, { from: returnPath, to: [recipient] }, raw);
  } finally {
    await nextHop.close();
  }
  if (!rejection) throw new Error(`the next hop accepted ${recipient}`);
  const headers = headerBlock(raw);
  const dsn = buildDsn({
    reportingMta: 'relay.shop.example',
    to: returnPath,
    rejection,
    originalHeaders: options.withoutMessageId ? headers.replace(/^Message-ID:.*\r\n/im, '') : headers,
    date: options.date,
    action: options.action,
  });
  await mailbox.append(dsn);
  return { rejection, returnPath, dsn };
}

/**
 * RFC 5965 Appendix B.2's example feedback report ("Earn money"), adapted: sent to the
 * shop's abuse address about a real message of ours (its headers in the message/rfc822 part),
 * with `Original-Rcpt-To` the reader who complained.
 */
export function buildArf(options: {
  originalHeaders: string;
  rcptTo: string;
  mailFrom: string;
  messageId: string;
  feedbackType?: string;
}): string {
  const b = 'part1_13d.2e68ed54_boundary';
  return [
    `From: <abusedesk@example.com>`,
    `Date: Thu, 8 Mar 2005 17:40:36 EDT`,
    `Subject: FW: Earn money`,
    `To: <abuse@shop.example>`,
    `Message-ID: ${options.messageId}`,
    `MIME-Version: 1.0`,
    `Content-Type: multipart/report; report-type=feedback-report;`,
    `     boundary="${b}"`,
    ``,
    `--${b}`,
    `Content-Type: text/plain; charset="US-ASCII"`,
    `Content-Transfer-Encoding: 7bit`,
    ``,
    `This is an email abuse report for an email message received from IP`,
    `192.0.2.1 on Thu, 8 Mar 2005 14:00:00 EDT.  For more information`,
    `about this format please see http://www.mipassoc.org/arf/.`,
    ``,
    `--${b}`,
    `Content-Type: message/feedback-report`,
    ``,
    `Feedback-Type: ${options.feedbackType ?? 'abuse'}`,
    `User-Agent: SomeGenerator/1.0`,
    `Version: 1`,
    `Original-Mail-From: <${options.mailFrom}>`,
    `Original-Rcpt-To: <${options.rcptTo}>`,
    `Arrival-Date: Thu, 8 Mar 2005 14:00:00 EDT`,
    `Reporting-MTA: dns; mail.example.com`,
    `Source-IP: 192.0.2.1`,
    `Authentication-Results: mail.example.com;`,
    `               spf=fail smtp.mail=somespammer@example.com`,
    `Reported-Domain: example.net`,
    `Reported-Uri: http://example.net/earn_money.html`,
    ``,
    `--${b}`,
    `Content-Type: message/rfc822`,
    `Content-Disposition: inline`,
    ``,
    options.originalHeaders,
    ``,
    `Spam Spam Spam`,
    `--${b}--`,
    ``,
  ].join(CRLF);
}

/**
 * RFC 6591 section 3.1's example authentication failure report (a DKIM failure), adapted to
 * one of our messages: a report, but no reader's complaint.
 */
export function buildAuthFailureReport(options: { originalHeaders: string; messageId: string }): string {
  const b = 'part1_13d.2e68ed54_boundary';
  return [
    `From: <arf-daemon@example.com>`,
    `Date: Thu, 8 Mar 2005 17:40:36 EDT`,
    `Subject: FW: Discount on Drugs`,
    `To: <abuse@shop.example>`,
    `Message-ID: ${options.messageId}`,
    `MIME-Version: 1.0`,
    `Content-Type: multipart/report; report-type=feedback-report;`,
    `     boundary="${b}"`,
    ``,
    `--${b}`,
    `Content-Type: text/plain; charset="US-ASCII"`,
    `Content-Transfer-Encoding: 7bit`,
    ``,
    `This is an authentication failure report for an email message`,
    `received from IP 192.0.2.1 on Thu, 8 Mar 2005 14:00:00 EDT.`,
    ``,
    `--${b}`,
    `Content-Type: message/feedback-report`,
    ``,
    `Feedback-Type: auth-failure`,
    `User-Agent: SomeDKIMFilter/1.0`,
    `Version: 1`,
    `Original-Mail-From: <news@shop.example>`,
    `Original-Rcpt-To: <user@example.com>`,
    `Received-Date: Thu, 8 Mar 2005 14:00:00 EDT`,
    `Source-IP: 192.0.2.1`,
    `Authentication-Results: mail.example.com;`,
    `               dkim=fail header.d=shop.example`,
    `Reported-Domain: shop.example`,
    `DKIM-Domain: shop.example`,
    `DKIM-Identity: @shop.example`,
    `DKIM-Selector: news`,
    ``,
    `--${b}`,
    `Content-Type: text/rfc822-headers`,
    ``,
    options.originalHeaders,
    ``,
    `--${b}--`,
    ``,
  ].join(CRLF);
}
