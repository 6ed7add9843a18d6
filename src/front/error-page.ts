// The one HTML page fcgate answers with itself (errors, refusals, redirects made by the
// gateway, static-file refusals), in the layout Apache's own pages have. Reason phrases come
// from the one table (cgi/status-reasons.ts).
import { reasonFor } from '../cgi/status-reasons.js';

/** The Content-Type of every page made here. */
export const ERROR_PAGE_TYPE = 'text/html; charset=utf-8';

/** What a page says under its title, by status (Apache's wording where it has one). */
const TEXTS: Record<number, string> = {
  301: 'The document has moved.',
  400: 'Your browser sent a request that this server could not understand.',
  403: "You don't have permission to access this resource.",
  404: 'The requested URL was not found on this server.',
  405: 'The requested method is not allowed for this URL.',
  408: 'The server timed out waiting for the request.',
  412: 'The precondition on the request for this URL evaluated to false.',
  413: 'The request body is larger than this server accepts.',
  416: 'None of the range-specifier values in the Range request-header field overlap the current extent of the selected resource.',
  417: 'The expectation given in the Expect request-header field could not be met by this server.',
  501: 'The request uses a transfer coding this server does not implement.',
  502: 'The application behind this gateway answered with something that is not a valid response.',
  503: 'The application behind this gateway is not available right now. Please try again later.',
  504: 'The application behind this gateway did not answer in time.',
  507: 'The server has no room left to take this request body.',
};

/** The reason phrase fcgate writes for `status` ('Error' when the table has none). */
export const reasonOf = (status: number): string => reasonFor(status) || 'Error';

/** The page for `status`; `text` replaces the default sentence (it must be HTML-safe). */
export function errorPage(status: number, text: string = TEXTS[status] ?? ''): string {
  const reason = reasonOf(status);
  return (
    `<!DOCTYPE html>\n<html><head><title>${status} ${reason}</title></head><body>\n<h1>${reason}</h1>\n`
    + (text === '' ? '' : `<p>${text}</p>\n`)
    + '</body></html>\n'
  );
}
