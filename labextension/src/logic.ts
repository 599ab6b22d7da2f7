/**
 * The sidebar's pure logic: query strings, cell text, pagination, response parsing and
 * the error messages shown to analysts. No JupyterLab imports, so jest tests it in Node.
 */

export const DATA_TYPES = ['flow', 'dns', 'proxy'] as const;
export type DataType = (typeof DATA_TYPES)[number];

export const SEVERITIES: { [key: number]: string } = { 1: 'High', 2: 'Medium', 3: 'Low' };

export interface ThreatRow {
  /** The type and date of the page the row was shown on: every action on it uses these. */
  type: DataType;
  date: string;
  rank: number;
  anchor: string;
  peer: string;
  time: string;
  score: number | null;
  scope: 'internal' | 'external';
  country: string | null;
  detail: string;
  severity: number | null;
  /** Triage-list rows (`<type>_threats`): the threat's entity, kind and detectors. */
  entity: string | null;
  kind: string | null;
  category: string | null;
  detectors: string[];
}

export interface ThreatsPage {
  type: DataType;
  date: string;
  q: string;
  page: number;
  pageSize: number;
  pages: number;
  total: number;
  matched: number;
  scored: number;
  /** The table listed: `<type>_threats` (one row per threat) or `<type>_scores`. */
  source: string;
  rows: ThreatRow[];
}

export interface DatesInfo {
  types: { [type: string]: { raw: string[]; scored: string[] } };
  latest: { [type: string]: string | null };
}

export interface ThreatsRequest {
  type: DataType;
  date: string;
  page: number;
  pageSize: number;
  q: string;
}

export function isDataType(value: unknown): value is DataType {
  return typeof value === 'string' && (DATA_TYPES as readonly string[]).includes(value);
}

/** The query string of GET threats (values URL-encoded; an empty search is left out). */
export function threatsQuery(req: ThreatsRequest): string {
  const params = new URLSearchParams({
    type: req.type,
    date: req.date,
    page: String(req.page),
    page_size: String(req.pageSize)
  });
  const q = req.q.trim();
  if (q) {
    params.set('q', q);
  }
  return params.toString();
}

/** Number of pages for `total` rows (at least one, so "page 1 of 1" shows when empty). */
export function pageCount(total: number, pageSize: number): number {
  if (!(pageSize > 0)) {
    return 1;
  }
  return Math.max(1, Math.ceil(total / pageSize));
}

/** Keep a page number within 1..pages. */
export function clampPage(page: number, pages: number): number {
  if (!Number.isFinite(page)) {
    return 1;
  }
  return Math.min(Math.max(1, Math.floor(page)), Math.max(1, pages));
}

const BARE_WORD = /^[A-Za-z0-9._:/@%+=,-]+$/;

/**
 * An anchor as one argument of a line magic: bare when it is a plain word, else single
 * quoted shell style (IPython hands `%spot_threat` arguments to shlex). IPython first
 * expands `{expr}` and `$name` in magic lines: braces are doubled, and every `$` is
 * followed by an empty quote pair (`$''`) so no `$name` remains whatever the quoting.
 */
export function quoteAnchor(anchor: string): string {
  if (/[\r\n\0]/.test(anchor)) {
    throw new Error('an anchor cannot contain line breaks');
  }
  const braces = anchor.replace(/\{/g, '{{').replace(/\}/g, '}}');
  if (BARE_WORD.test(anchor)) {
    return braces;
  }
  const quoted = braces.replace(/'/g, "'\"'\"'").replace(/\$/g, () => "$''");
  return "'" + quoted + "'";
}

/** The cell that investigates one threat. */
export function investigateCode(anchor: string, type: DataType, date: string): string {
  if (!/^\d{4}-\d{2}-\d{2}$/.test(date)) {
    throw new Error(`bad date ${date}: use YYYY-MM-DD`);
  }
  return `%spot_threat ${quoteAnchor(anchor)} --type ${type} --date ${date}`;
}

export const LOAD_EXT = '%load_ext spot_lab';

/**
 * The user expression that asks the KERNEL whether spot-lab's magics are registered (a
 * `%load_ext spot_lab` in a cell's text says nothing: the cell may never have run).
 */
export const LOADED_EXPRESSION =
  "'spot_threat' in get_ipython().magics_manager.magics['line']";

/** The kernel's answer to LOADED_EXPRESSION: true, false, or null when it could not say. */
export function extensionLoaded(reply: unknown): boolean | null {
  const content = (typeof reply === 'object' && reply !== null ? reply : {}) as {
    status?: unknown;
    user_expressions?: { [key: string]: unknown };
  };
  const answer = content.user_expressions?.spot_lab as
    { status?: unknown; data?: { [mime: string]: unknown } } | undefined;
  if (content.status !== 'ok' || !answer || answer.status !== 'ok') {
    return null;
  }
  const text = answer.data?.['text/plain'];
  return text === 'True' ? true : text === 'False' ? false : null;
}

/** The cell to insert: with `%load_ext spot_lab` first unless the kernel has it loaded. */
export function cellSource(
  anchor: string,
  type: DataType,
  date: string,
  loaded: boolean
): string {
  const code = investigateCode(anchor, type, date);
  return loaded ? code : `${LOAD_EXT}\n${code}`;
}

/** Where the new cell goes: right below the active cell (the end when none is active). */
export function insertIndex(activeIndex: number, cells: number): number {
  if (!(activeIndex >= 0) || activeIndex >= cells) {
    return cells;
  }
  return activeIndex + 1;
}

/**
 * True while the page on screen is not the one asked for (another type, date, page or
 * search is loading): its rows are shown disabled, so no click acts on a stale row.
 */
export function isStale(page: ThreatsPage | null, req: ThreatsRequest): boolean {
  if (!page) {
    return false;
  }
  return (
    page.type !== req.type ||
    page.date !== req.date ||
    page.page !== req.page ||
    page.q !== req.q.trim()
  );
}

function num(value: unknown): number | null {
  return typeof value === 'number' && Number.isFinite(value) ? value : null;
}

function str(value: unknown): string {
  return typeof value === 'string' ? value : value == null ? '' : String(value);
}

/**
 * Validate and normalise the threats answer (unknown fields ignored, bad rows dropped).
 * `req` is what was asked: the page's type and date default to it, never to another.
 */
export function parseThreatsPage(body: unknown, req?: ThreatsRequest): ThreatsPage {
  if (
    typeof body !== 'object' ||
    body === null ||
    !Array.isArray((body as ThreatsJson).rows)
  ) {
    throw new Error('unexpected answer from the spot-lab server (no rows)');
  }
  const json = body as ThreatsJson;
  const type: DataType = isDataType(json.type) ? json.type : (req?.type ?? 'flow');
  const date = typeof json.date === 'string' && json.date ? json.date : (req?.date ?? '');
  const rows: ThreatRow[] = [];
  for (const raw of json.rows) {
    if (typeof raw !== 'object' || raw === null || typeof raw.anchor !== 'string') {
      continue;
    }
    const severity = num(raw.severity);
    rows.push({
      type,
      date,
      rank: num(raw.rank) ?? 0,
      anchor: raw.anchor,
      peer: str(raw.peer),
      time: str(raw.time),
      score: num(raw.score),
      scope: raw.scope === 'internal' ? 'internal' : 'external',
      country: typeof raw.country === 'string' && raw.country ? raw.country : null,
      detail: str(raw.detail),
      severity: severity !== null && SEVERITIES[severity] ? severity : null,
      entity: typeof raw.entity === 'string' && raw.entity ? raw.entity : null,
      kind: typeof raw.kind === 'string' && raw.kind ? raw.kind : null,
      category: typeof raw.category === 'string' && raw.category ? raw.category : null,
      detectors: Array.isArray(raw.detectors)
        ? raw.detectors.filter((d): d is string => typeof d === 'string')
        : []
    });
  }
  const pageSize = num(json.page_size) ?? 50;
  const matched = num(json.matched) ?? rows.length;
  return {
    type,
    date,
    q: typeof json.q === 'string' ? json.q : (req?.q.trim() ?? ''),
    page: num(json.page) ?? req?.page ?? 1,
    pageSize,
    pages: num(json.pages) ?? pageCount(matched, pageSize),
    total: num(json.total) ?? matched,
    matched,
    scored: num(json.scored) ?? 0,
    source: str(json.source),
    rows
  };
}

interface ThreatsJson {
  type?: unknown;
  date?: unknown;
  q?: unknown;
  page?: unknown;
  page_size?: unknown;
  pages?: unknown;
  total?: unknown;
  matched?: unknown;
  scored?: unknown;
  source?: unknown;
  rows: {
    rank?: unknown;
    anchor?: unknown;
    peer?: unknown;
    time?: unknown;
    score?: unknown;
    scope?: unknown;
    country?: unknown;
    detail?: unknown;
    severity?: unknown;
    entity?: unknown;
    kind?: unknown;
    category?: unknown;
    detectors?: unknown;
  }[];
}

/** The date to show first: the latest date with flagged rows, else with data, else none. */
export function defaultDate(dates: DatesInfo, type: DataType): string | null {
  const info = dates.types?.[type];
  if (info) {
    const pick = info.scored.length ? info.scored : info.raw;
    if (pick.length) {
      return pick[pick.length - 1];
    }
  }
  return dates.latest?.[type] ?? null;
}

/** How a row's score is shown: a threat's severity (higher is worse) or, for Spot's flagged
 * rows, the model score (lower is more suspicious). */
export function scoreLabel(row: ThreatRow): { text: string; title: string } {
  if (row.kind) {
    const text = row.score === null ? '' : row.score.toFixed(2);
    const by = row.detectors.length ? `: ${row.detectors.join(', ')}` : '';
    return { text, title: `threat severity (higher = worse)${by}` };
  }
  return { text: formatScore(row.score), title: 'model score (lower = more suspicious)' };
}

/** A model score as shown in the list (Spot: lower is more suspicious). */
export function formatScore(score: number | null): string {
  if (score === null) {
    return '';
  }
  return score < 0.001 && score > 0 ? score.toExponential(2) : score.toFixed(4);
}

export const ENABLE_SERVER =
  'The spot-lab server extension is not running: run `jupyter server extension enable spot_lab` and restart JupyterLab.';

/** What the analyst reads when a request fails: what happened and what to do. */
export function errorText(status: number, body: unknown): string {
  const json = (typeof body === 'object' && body !== null ? body : {}) as {
    error?: unknown;
    reason?: unknown;
    message?: unknown;
  };
  const message = typeof json.error === 'string' ? json.error : str(json.message);
  if (status === 404 && !message) {
    return ENABLE_SERVER;
  }
  if (json.reason === 'lake') {
    return `${message} (then press refresh)`;
  }
  if (status === 403) {
    return 'JupyterLab refused the request (session expired?): reload the page and log in again.';
  }
  if (status === 0) {
    return 'The Jupyter server cannot be reached: check that it is still running.';
  }
  if (message) {
    return message;
  }
  return `The spot-lab server answered ${status}: see the Jupyter server log.`;
}

/** Text of the list header, e.g. "1–50 of 1,234 flagged (12 scored)". */
export function summary(page: ThreatsPage): string {
  const what = page.source.endsWith('_threats') ? 'threats' : 'flagged';
  if (page.matched === 0) {
    return page.total === 0
      ? `no ${what === 'threats' ? 'threats' : 'flagged threats'}`
      : `no match among ${page.total} ${what}`;
  }
  const first = (page.page - 1) * page.pageSize + 1;
  const last = Math.min(page.matched, page.page * page.pageSize);
  const of =
    page.matched === page.total
      ? `${page.total.toLocaleString('en-US')} ${what}`
      : `${page.matched.toLocaleString('en-US')} matching (${page.total.toLocaleString('en-US')} ${what})`;
  return `${first}–${last} of ${of}, ${page.scored} scored`;
}
