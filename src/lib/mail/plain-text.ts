import { compile } from 'html-to-text';

/**
 * The plain-text part of an email, derived from its HTML with html-to-text:
 * links read "label [url]" (just the url when the label is the url), images are
 * skipped, MJML's layout tables (role="presentation") read as plain blocks while
 * data tables keep their columns, blocks are separated by an empty line, and the hidden
 * preview text is left out.
 * Compiled once, on first use rather than at the start of every process (most never derive a
 * text): converting is then a walk over the document.
 */
const compileConvert = () =>
  compile({
    wordwrap: 78,
    selectors: [
      { selector: 'a', options: { hideLinkHrefIfSameAsText: true } },
      { selector: 'img', format: 'skip' },
      { selector: 'table', format: 'dataTable', options: { uppercaseHeaderCells: false } },
      { selector: 'table[role=presentation]', format: 'block' },
      { selector: 'div[style*="display:none"]', format: 'skip' },
      // MJML puts each mj-text in a div: give them paragraph spacing; its dividers are empty bordered paragraphs.
      { selector: 'div', options: { leadingLineBreaks: 2, trailingLineBreaks: 2 } },
      { selector: 'p[style*="border-top"]', format: 'skip' },
      { selector: 'h1', options: { uppercase: false } },
      { selector: 'h2', options: { uppercase: false } },
      { selector: 'h3', options: { uppercase: false } },
      { selector: 'h4', options: { uppercase: false } },
      { selector: 'h5', options: { uppercase: false } },
      { selector: 'h6', options: { uppercase: false } },
    ],
  });

let convert: ((html: string) => string) | undefined;
let convertInline: ((html: string) => string) | undefined;

export function deriveTextFromHtml(html: string): string {
  convert ??= compileConvert();
  return convert(html).trim();
}

/** One line of text from an HTML fragment (entities decoded, whitespace collapsed): a subject, a title. */
export function deriveLineFromHtml(html: string): string {
  convertInline ??= compile({ wordwrap: false });
  return convertInline(html).replace(/\s+/g, ' ').trim();
}
