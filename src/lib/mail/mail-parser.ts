import type { simpleParser } from 'mailparser';

let parser: Promise<typeof simpleParser> | undefined;

/**
 * mailparser's simpleParser, loaded when the first message is read (the outbox, the bounce
 * mailbox) rather than at the start of every process that reads none.
 */
export function loadMailParser(): Promise<typeof simpleParser> {
  return (parser ??= import('mailparser').then((m) => m.simpleParser));
}
