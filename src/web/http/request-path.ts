/**
 * The one reading of a request's path that every routing decision uses: the server entry's
 * fast paths (/t/, one-click unsubscribe, /api/), the body limits, the static files, and the
 * middleware's private-path test. Astro routes on the WHATWG-normalised path (dot segments
 * resolved, `\` read as `/`), percent-decoded with decodeURI until it stops changing, with runs
 * of slashes made one (`//admin` is the admin). A prefix tested on the raw path instead can be
 * walked around: `/api/../admin/login` looks like the API (which skips the origin check) and is
 * the login form to Astro.
 *
 * So the entry parses once, early, hands Astro the normalised path (nothing left for Astro to
 * resolve differently), and decides on `route`: the path as Astro will match it. A path whose
 * decoding is not valid UTF-8, or that is encoded more than once into another shape (`%252e`
 * → `.`), is refused with 400 before any decision.
 */
export interface RequestPath {
  /** The normalised path, percent-encoding kept: what Astro is given. */
  pathname: string;
  /** "?…" as sent, or "". */
  search: string;
  /** The path as Astro matches routes: decoded, single slashes. Prefix decisions are made on this. */
  route: string;
  /** pathname + search: the request target Astro is given. */
  target: string;
}

/** Only these characters, no empty or dot segment: already normal, and nothing to decode. */
const PLAIN_PATH = /^(?:\/[A-Za-z0-9_~-][A-Za-z0-9._~-]*)*\/?$/;
const MAX_DECODE_ROUNDS = 10;
/** After decoding: a dot segment or a backslash, which normalisation would have resolved had it been sent plainly. */
const HIDDEN_SEGMENT = /(^|\/)\.\.?(\/|$)|\\/;

/** The request target (`req.url`) read as Astro reads it, or undefined when it is refused (400). */
export function parseRequestPath(target: string): RequestPath | undefined {
  const query = target.indexOf('?');
  const rawPath = query < 0 ? target : target.slice(0, query);
  if (PLAIN_PATH.test(rawPath))
    return { pathname: rawPath, search: query < 0 ? '' : target.slice(query), route: rawPath, target };

  let url: URL;
  try {
    // Never resolved against a base: "//admin" is a path here, not a host.
    url = new URL(target.startsWith('/') ? `http://path.invalid${target}` : target);
  } catch {
    return undefined;
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') return undefined;
  const decoded = decodeAsAstro(url.pathname);
  if (decoded === undefined || (decoded !== url.pathname && HIDDEN_SEGMENT.test(decoded))) return undefined;
  return {
    pathname: url.pathname,
    search: url.search,
    route: decoded.replace(/\/{2,}/g, '/'),
    target: url.pathname + url.search,
  };
}

/**
 * decodeURI until the path stops changing, as Astro's validateAndDecodePathname does (a later
 * round that fails leaves the last good one: "/50%25off" is "/50%off"); undefined when the first
 * round fails (not UTF-8) or it never settles.
 */
function decodeAsAstro(pathname: string): string | undefined {
  let current = pathname;
  for (let round = 0; round < MAX_DECODE_ROUNDS; round++) {
    let decoded: string;
    try {
      decoded = decodeURI(current);
    } catch {
      return round === 0 ? undefined : current;
    }
    if (decoded === current) return decoded;
    current = decoded;
  }
  return undefined;
}

/** `route` is `folder` (e.g. "/api") or inside it: "/api" and "/api/me", never "/apiary". */
export function isUnder(route: string, folder: string): boolean {
  return route.startsWith(folder) && (route.length === folder.length || route[folder.length] === '/');
}
