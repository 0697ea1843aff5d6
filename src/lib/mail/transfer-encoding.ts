/**
 * The Content-Transfer-Encoding of a text body, decided as nodemailer decides it for a body
 * handed over as a string: 7bit when the body is ASCII without control characters (tab and line
 * ends aside) and has no line longer than 76 characters; otherwise quoted-printable when it holds
 * more Latin letters than such other characters, base64 when not. nodemailer counts each
 * message's body character by character for that choice; a body made from one template for many
 * recipients (an issue) can be decided from the template's counts and the few inserted values.
 */
export type TextTransferEncoding = 'quoted-printable' | 'base64';

/** Latin letters (A–Z, a–z), and characters that are neither ASCII text nor line ends (non-ASCII, control). */
export interface CharacterCounts {
  letters: number;
  others: number;
}

/** Adds the counts of `text` to `into`. */
export function countCharacters(text: string, into: CharacterCounts = { letters: 0, others: 0 }): CharacterCounts {
  let letters = 0;
  let others = 0;
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if (code <= 0x08 || code === 0x0b || code === 0x0c || (code >= 0x0e && code <= 0x1f) || code >= 0x80) others++;
    else if ((code >= 0x41 && code <= 0x5a) || (code >= 0x61 && code <= 0x7a)) letters++;
  }
  into.letters += letters;
  into.others += others;
  return into;
}

/** A line longer than 76 characters, which a 7bit body may not have (nodemailer's test, per line). */
export function hasLongLine(text: string): boolean {
  return /^.{77,}/m.test(text);
}

/**
 * The encoding nodemailer chooses for a body with these counts, or undefined where it would send
 * the body as 7bit or where that is not known (ASCII only, and no line known to be too long).
 */
export function transferEncodingFor(counts: CharacterCounts, longLine: boolean): TextTransferEncoding | undefined {
  if (counts.others === 0 && !longLine) return undefined;
  return counts.others < counts.letters ? 'quoted-printable' : 'base64';
}
