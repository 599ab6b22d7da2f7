import {
  cellSource,
  clampPage,
  defaultDate,
  ENABLE_SERVER,
  errorText,
  extensionLoaded,
  insertIndex,
  investigateCode,
  isStale,
  pageCount,
  parseThreatsPage,
  quoteAnchor,
  scoreLabel,
  summary,
  threatsQuery
} from '../logic';

describe('threatsQuery', () => {
  it('encodes every value and leaves out an empty search', () => {
    const qs = threatsQuery({
      type: 'dns',
      date: '2026-11-28',
      page: 2,
      pageSize: 50,
      q: '  '
    });
    expect(qs).toBe('type=dns&date=2026-11-28&page=2&page_size=50');
  });

  it('encodes a hostile search so it stays one parameter', () => {
    const qs = threatsQuery({
      type: 'flow',
      date: '2026-11-28',
      page: 1,
      pageSize: 50,
      q: "x' OR 1=1 --&page=9"
    });
    const params = new URLSearchParams(qs);
    expect(params.get('q')).toBe("x' OR 1=1 --&page=9");
    expect(params.getAll('page')).toEqual(['1']);
  });
});

describe('pagination', () => {
  it('counts pages, at least one', () => {
    expect(pageCount(0, 50)).toBe(1);
    expect(pageCount(50, 50)).toBe(1);
    expect(pageCount(51, 50)).toBe(2);
    expect(pageCount(10000, 50)).toBe(200);
    expect(pageCount(10, 0)).toBe(1);
  });

  it('clamps a page into range', () => {
    expect(clampPage(0, 5)).toBe(1);
    expect(clampPage(7, 5)).toBe(5);
    expect(clampPage(2.7, 5)).toBe(2);
    expect(clampPage(NaN, 5)).toBe(1);
  });
});

describe('cell text', () => {
  it('leaves plain anchors bare', () => {
    expect(investigateCode('10.0.0.5', 'flow', '2026-11-28')).toBe(
      '%spot_threat 10.0.0.5 --type flow --date 2026-11-28'
    );
    expect(quoteAnchor('http://evil.example/a/b.php?id=1')).toBe(
      "'http://evil.example/a/b.php?id=1'"
    );
    expect(quoteAnchor('x.example.com')).toBe('x.example.com');
  });

  it('quotes shell characters and escapes IPython expansion', () => {
    expect(quoteAnchor("a b'c")).toBe("'a b'\"'\"'c'");
    // each checked against IPython's var_expand + shlex (tests/test_server.py does it live)
    expect(quoteAnchor('http://x/{a}$b')).toBe("'http://x/{{a}}$''b'");
    expect(quoteAnchor('$HOME')).toBe("'$''HOME'");
    expect(quoteAnchor("x'$b'")).toBe("'x'\"'\"'$''b'\"'\"''");
  });

  it('refuses line breaks and bad dates', () => {
    expect(() => quoteAnchor('a\nb')).toThrow(/line breaks/);
    expect(() => investigateCode('1.2.3.4', 'flow', '28/11/2026')).toThrow(/YYYY-MM-DD/);
  });

  it('adds %load_ext spot_lab unless the kernel says it is loaded', () => {
    expect(cellSource('1.2.3.4', 'flow', '2026-11-28', false)).toBe(
      '%load_ext spot_lab\n%spot_threat 1.2.3.4 --type flow --date 2026-11-28'
    );
    expect(cellSource('1.2.3.4', 'flow', '2026-11-28', true)).toBe(
      '%spot_threat 1.2.3.4 --type flow --date 2026-11-28'
    );
  });

  it('quotes proxy URIs with spaces and < as one argument', () => {
    expect(investigateCode('evil.example/a b<c>', 'proxy', '2026-11-28')).toBe(
      "%spot_threat 'evil.example/a b<c>' --type proxy --date 2026-11-28"
    );
  });

  it('reads the kernel answer about the extension', () => {
    const reply = (text: string, status = 'ok') => ({
      status: 'ok',
      user_expressions: { spot_lab: { status, data: { 'text/plain': text } } }
    });
    expect(extensionLoaded(reply('True'))).toBe(true);
    expect(extensionLoaded(reply('False'))).toBe(false);
    expect(extensionLoaded(reply('True', 'error'))).toBe(null);
    expect(extensionLoaded({ status: 'error' })).toBe(null);
    expect(extensionLoaded(null)).toBe(null);
  });

  it('inserts below the active cell, at the end without one', () => {
    expect(insertIndex(0, 3)).toBe(1);
    expect(insertIndex(2, 3)).toBe(3);
    expect(insertIndex(-1, 3)).toBe(3);
    expect(insertIndex(5, 3)).toBe(3);
    expect(insertIndex(0, 0)).toBe(0);
  });
});

describe('parseThreatsPage', () => {
  const body = {
    type: 'flow',
    date: '2026-11-28',
    q: '',
    page: 1,
    page_size: 2,
    pages: 3,
    total: 6,
    matched: 5,
    scored: 1,
    rows: [
      {
        rank: 0,
        anchor: '198.51.100.7',
        peer: '10.0.0.5',
        time: '2026-11-28 01:02:03',
        score: 1e-7,
        scope: 'external',
        country: 'Netherlands',
        detail: '',
        severity: 1
      },
      { rank: 1, anchor: '10.0.0.9', scope: 'internal', severity: 7, country: '' },
      { rank: 2 },
      'junk'
    ]
  };

  it('keeps valid rows and normalises fields', () => {
    const page = parseThreatsPage(body);
    expect(page.rows).toHaveLength(2);
    expect(page.rows[0].severity).toBe(1);
    expect(page.rows[0].country).toBe('Netherlands');
    expect(page.rows[1].severity).toBeNull();
    expect(page.rows[1].country).toBeNull();
    expect(page.rows[1].scope).toBe('internal');
    expect(page.pages).toBe(3);
    expect(summary(page)).toBe('1–2 of 5 matching (6 flagged), 1 scored');
  });

  it('stamps every row with the type and date of its page', () => {
    const req = { type: 'dns' as const, date: '2026-11-27', page: 1, pageSize: 2, q: '' };
    const page = parseThreatsPage({ ...body, type: undefined, date: undefined }, req);
    expect(page.rows.map(r => [r.type, r.date])).toEqual([
      ['dns', '2026-11-27'],
      ['dns', '2026-11-27']
    ]);
    expect(parseThreatsPage(body, req).rows[0].type).toBe('flow'); // the server's answer wins
  });

  it('marks the page on screen stale while another one loads', () => {
    const page = parseThreatsPage(body);
    const req = {
      type: 'flow' as const,
      date: '2026-11-28',
      page: 1,
      pageSize: 2,
      q: ' '
    };
    expect(isStale(page, req)).toBe(false);
    expect(isStale(page, { ...req, type: 'dns' })).toBe(true);
    expect(isStale(page, { ...req, date: '2026-11-27' })).toBe(true);
    expect(isStale(page, { ...req, page: 2 })).toBe(true);
    expect(isStale(page, { ...req, q: 'x' })).toBe(true);
    expect(isStale(null, req)).toBe(false);
  });

  it('rejects an answer without rows', () => {
    expect(() => parseThreatsPage({ error: 'x' })).toThrow(/unexpected answer/);
    expect(() => parseThreatsPage(null)).toThrow(/unexpected answer/);
  });

  it('summarises empty lists', () => {
    const empty = parseThreatsPage({ ...body, total: 0, matched: 0, rows: [] });
    expect(summary(empty)).toBe('no flagged threats');
  });
});

describe('triage list rows', () => {
  const body = {
    type: 'dns',
    date: '2026-11-28',
    page: 1,
    page_size: 50,
    total: 3,
    matched: 3,
    scored: 0,
    source: 'dns_threats',
    rows: [
      {
        rank: 1,
        anchor: 'cloudsync-metrics.net',
        peer: '10.0.10.167',
        score: 1.2,
        scope: 'external',
        detail: '66 names under cloudsync-metrics.net',
        entity: 'cloudsync-metrics.net',
        kind: 'domain',
        category: 'high',
        detectors: ['dns_tunnel', 'dns_beacon', 7]
      }
    ]
  };

  it('keeps the entity, kind and detectors and shows the severity', () => {
    const page = parseThreatsPage(body);
    const row = page.rows[0];
    expect(row.kind).toBe('domain');
    expect(row.detectors).toEqual(['dns_tunnel', 'dns_beacon']);
    expect(scoreLabel(row)).toEqual({
      text: '1.20',
      title: 'threat severity (higher = worse): dns_tunnel, dns_beacon'
    });
    expect(summary(page)).toBe('1–3 of 3 threats, 0 scored');
  });

  it('shows a flagged row by its model score', () => {
    const page = parseThreatsPage({
      ...body,
      source: 'dns_scores',
      rows: [{ rank: 0, anchor: 'x.example', score: 1e-7 }]
    });
    expect(page.rows[0].kind).toBeNull();
    expect(scoreLabel(page.rows[0]).title).toMatch(/model score/);
    expect(scoreLabel(page.rows[0]).text).toBe('1.00e-7');
  });
});

describe('defaultDate', () => {
  it('prefers the latest scored date, then the latest raw date', () => {
    const dates = {
      types: {
        flow: { raw: ['2026-11-27', '2026-11-28', '2026-11-29'], scored: ['2026-11-28'] },
        dns: { raw: ['2026-11-26'], scored: [] },
        proxy: { raw: [], scored: [] }
      },
      latest: { flow: '2026-11-28', dns: '2026-11-26', proxy: null }
    };
    expect(defaultDate(dates, 'flow')).toBe('2026-11-28');
    expect(defaultDate(dates, 'dns')).toBe('2026-11-26');
    expect(defaultDate(dates, 'proxy')).toBeNull();
  });
});

describe('errorText', () => {
  it('tells how to enable a missing server extension', () => {
    expect(errorText(404, null)).toBe(ENABLE_SERVER);
    expect(errorText(404, null)).toContain('jupyter server extension enable spot_lab');
  });

  it('shows the server message for bad input and engine errors', () => {
    expect(errorText(400, { error: 'bad date: use YYYY-MM-DD', reason: 'input' })).toBe(
      'bad date: use YYYY-MM-DD'
    );
    expect(
      errorText(503, { error: 'no Spot lake at /x: create one', reason: 'lake' })
    ).toBe('no Spot lake at /x: create one (then press refresh)');
    expect(errorText(500, 'oops')).toMatch(/server log/);
    expect(errorText(0, null)).toMatch(/cannot be reached/);
  });
});
