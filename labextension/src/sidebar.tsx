/** The threats sidebar: date, type, search, one page of flagged threats, scoring buttons. */
import { ReactWidget } from '@jupyterlab/ui-components';
import type { Message } from '@lumino/messaging';
import * as React from 'react';

import { requestApi } from './api';
import {
  clampPage,
  DATA_TYPES,
  DataType,
  DatesInfo,
  defaultDate,
  isStale,
  parseThreatsPage,
  scoreLabel,
  SEVERITIES,
  summary,
  ThreatRow,
  ThreatsPage,
  threatsQuery
} from './logic';

export interface ISidebarConfig {
  pageSize: number;
  defaultType: DataType;
  autoRefreshSeconds: number;
}

export interface ISidebarProps {
  config: ISidebarConfig;
  get: <T>(endpoint: string) => Promise<T>;
  investigate: (anchor: string, type: DataType, date: string) => Promise<void>;
  isVisible: () => boolean;
  /** Bumped each time the sidebar is shown again: reload (scores given elsewhere). */
  shown: number;
}

const NO_LAKE_HELP =
  'No dates with data. Generate a demo lake with `spot-lab generate --lake ~/.spot-lab/demo-lake --date 2026-11-28` and score it with `spot-lab score`, or set SPOT_LAB_LAKE to your Spot warehouse copy, then press refresh.';

function ThreatsView(props: ISidebarProps): JSX.Element {
  const { config } = props;
  const [type, setType] = React.useState<DataType>(config.defaultType);
  const [dates, setDates] = React.useState<DatesInfo | null>(null);
  const [date, setDate] = React.useState<string>('');
  const [query, setQuery] = React.useState('');
  const [search, setSearch] = React.useState('');
  const [page, setPage] = React.useState(1);
  const [data, setData] = React.useState<ThreatsPage | null>(null);
  const [error, setError] = React.useState<string | null>(null);
  const [loading, setLoading] = React.useState(false);
  const [tick, setTick] = React.useState(0);
  const latest = React.useRef(0);

  // Dates first: the date picker defaults to the latest date with flagged rows.
  React.useEffect(() => {
    let live = true;
    props
      .get<DatesInfo>('dates')
      .then(info => {
        if (!live) {
          return;
        }
        setDates(info);
        setDate(current => current || defaultDate(info, type) || '');
        setError(null);
      })
      .catch(err => live && setError(err.message));
    return () => {
      live = false;
    };
  }, [tick]);

  // One page; a newer request wins over a slower older one.
  React.useEffect(() => {
    if (!date) {
      return;
    }
    const id = ++latest.current;
    setLoading(true);
    const req = { type, date, page, pageSize: config.pageSize, q: search };
    props
      .get<unknown>(`threats?${threatsQuery(req)}`)
      .then(body => {
        if (id === latest.current) {
          setData(parseThreatsPage(body, req));
          setError(null);
        }
      })
      .catch(err => id === latest.current && setError(err.message))
      .finally(() => id === latest.current && setLoading(false));
  }, [type, date, page, search, config.pageSize, tick, props.shown]);

  // Auto-refresh only while the sidebar is visible and the tab is in front.
  React.useEffect(() => {
    if (!(config.autoRefreshSeconds > 0)) {
      return;
    }
    const timer = window.setInterval(() => {
      if (props.isVisible() && !document.hidden) {
        setTick(t => t + 1);
      }
    }, config.autoRefreshSeconds * 1000);
    return () => window.clearInterval(timer);
  }, [config.autoRefreshSeconds]);

  const changeType = (next: DataType) => {
    setType(next);
    setPage(1);
    if (dates) {
      setDate(defaultDate(dates, next) || date);
    }
  };

  // Actions use the row's own type, date and anchor (the page it was shown on), never the
  // controls' current values: after a switch the old rows are disabled until replaced.
  const score = async (row: ThreatRow, severity: number) => {
    try {
      await requestApi('score', {
        method: 'POST',
        body: JSON.stringify({
          type: row.type,
          date: row.date,
          anchor: row.anchor,
          severity
        })
      });
      setTick(t => t + 1);
    } catch (err) {
      setError((err as Error).message);
    }
  };

  const open = (row: ThreatRow) => {
    props.investigate(row.anchor, row.type, row.date).catch(err => setError(err.message));
  };

  const stale = isStale(data, { type, date, page, pageSize: config.pageSize, q: search });
  const pages = data ? data.pages : 1;
  const noDates = dates !== null && !date;
  return (
    <div className="spot-lab-threats">
      <div className="spot-lab-toolbar">
        <div className="spot-lab-types" role="tablist">
          {DATA_TYPES.map(t => (
            <button
              key={t}
              role="tab"
              aria-selected={t === type}
              className={`spot-lab-type ${t === type ? 'spot-lab-selected' : ''}`}
              onClick={() => changeType(t)}
            >
              {t}
            </button>
          ))}
        </div>
        <div className="spot-lab-controls">
          <input
            type="date"
            className="spot-lab-date"
            aria-label="date"
            value={date}
            onChange={e => {
              setDate(e.target.value);
              setPage(1);
            }}
          />
          <button
            className="spot-lab-refresh"
            title="Refresh"
            aria-label="refresh"
            onClick={() => setTick(t => t + 1)}
          >
            ⟳
          </button>
        </div>
        <form
          className="spot-lab-search"
          onSubmit={e => {
            e.preventDefault();
            setSearch(query);
            setPage(1);
          }}
        >
          <input
            type="search"
            placeholder="search IP, name or URI"
            aria-label="search"
            value={query}
            onChange={e => {
              setQuery(e.target.value);
              if (!e.target.value) {
                setSearch('');
                setPage(1);
              }
            }}
          />
        </form>
      </div>
      {error && <div className="spot-lab-error">{error}</div>}
      {!error && noDates && <div className="spot-lab-empty">{NO_LAKE_HELP}</div>}
      {data && !noDates && (
        <div className="spot-lab-summary">
          {summary(data)}
          {loading ? ' …' : ''}
        </div>
      )}
      {data && data.rows.length === 0 && !error && !noDates && (
        <div className="spot-lab-empty">
          {data.total === 0
            ? `No flagged ${type} threats on ${date}: score the day with \`spot-lab score --type ${type} --date ${date}\`, or pick another date.`
            : 'Nothing matches the search: clear it to see every flagged threat.'}
        </div>
      )}
      <ol className={`spot-lab-list ${stale ? 'spot-lab-stale' : ''}`} aria-busy={stale}>
        {(data?.rows ?? []).map(row => (
          <li
            key={`${row.type}-${row.date}-${row.rank}-${row.anchor}-${row.peer}`}
            className={`spot-lab-row ${row.severity ? `spot-lab-sev-${row.severity}` : ''}`}
            data-anchor={row.anchor}
            data-type={row.type}
            data-date={row.date}
          >
            <button
              className="spot-lab-open"
              disabled={stale}
              title={`Investigate ${row.anchor} in the notebook\n${row.detail}\n${row.time}`}
              onClick={() => open(row)}
            >
              <span className="spot-lab-rank">{row.rank}</span>
              <span className="spot-lab-anchor">{row.entity ?? row.anchor}</span>
              <span className="spot-lab-meta">
                <span className="spot-lab-score" title={scoreLabel(row).title}>
                  {scoreLabel(row).text}
                </span>
                {row.detectors.length > 0 && (
                  <span className="spot-lab-detectors">{row.detectors.join(' ')}</span>
                )}
                <span className={`spot-lab-scope spot-lab-${row.scope}`}>
                  {row.scope}
                </span>
                {row.country && <span className="spot-lab-country">{row.country}</span>}
                {row.peer && <span className="spot-lab-peer">{row.peer}</span>}
              </span>
            </button>
            <span className="spot-lab-severity" aria-label="analyst score">
              {[1, 2, 3].map(sev => (
                <button
                  key={sev}
                  className={`spot-lab-sev-button ${row.severity === sev ? 'spot-lab-chosen' : ''}`}
                  data-severity={sev}
                  disabled={stale}
                  title={`Score ${SEVERITIES[sev]}`}
                  onClick={() => score(row, sev)}
                >
                  {SEVERITIES[sev][0]}
                </button>
              ))}
            </span>
          </li>
        ))}
      </ol>
      {data && pages > 1 && (
        <div className="spot-lab-pager">
          <button
            disabled={page <= 1}
            onClick={() => setPage(p => clampPage(p - 1, pages))}
          >
            ‹ prev
          </button>
          <span>
            page {page} / {pages}
          </span>
          <button
            disabled={page >= pages}
            onClick={() => setPage(p => clampPage(p + 1, pages))}
          >
            next ›
          </button>
        </div>
      )}
    </div>
  );
}

/**
 * GETs that may have been started before the sidebar opened: the plugin asks for the
 * dates and the first page at start-up, so opening the sidebar shows rows at once.
 * A prefetched answer is used once; later requests always go to the server.
 */
class Prefetch {
  private _pending = new Map<string, { request: Promise<unknown>; at: number }>();
  private _asked = new Set<string>();

  start(endpoint: string): Promise<unknown> | null {
    if (this._asked.has(endpoint)) {
      return null; // the sidebar already asked the server itself
    }
    const request = requestApi<unknown>(endpoint);
    request.catch(() => undefined); // surfaced when the sidebar asks for it
    this._pending.set(endpoint, { request, at: Date.now() });
    return request;
  }

  get<T>(endpoint: string): Promise<T> {
    this._asked.add(endpoint);
    const pending = this._pending.get(endpoint);
    this._pending.delete(endpoint);
    const fresh = pending && Date.now() - pending.at < PREFETCH_TTL_MS;
    return (fresh ? pending.request : requestApi<T>(endpoint)) as Promise<T>;
  }
}

const PREFETCH_TTL_MS = 60_000;

/** The Lumino widget in the left area; `config` changes re-render the list. */
export class ThreatsSidebar extends ReactWidget {
  private _prefetch = new Prefetch();
  private _shown = 0;

  constructor(
    private _config: ISidebarConfig,
    private readonly _investigate: ISidebarProps['investigate']
  ) {
    super();
    this.addClass('spot-lab-sidebar');
  }

  set config(value: ISidebarConfig) {
    this._config = value;
    this.update();
  }

  protected onAfterShow(msg: Message): void {
    super.onAfterShow(msg);
    this._shown += 1; // the first show loads anyway; later ones pick up new scores
    this.update();
  }

  /** Ask for the dates and the default first page before the sidebar is opened. */
  prefetch(): void {
    const { defaultType, pageSize } = this._config;
    this._prefetch
      .start('dates')
      ?.then(info => {
        const date = defaultDate(info as DatesInfo, defaultType);
        if (date) {
          const qs = threatsQuery({ type: defaultType, date, page: 1, pageSize, q: '' });
          this._prefetch.start(`threats?${qs}`);
        }
      })
      .catch(() => undefined);
  }

  render(): JSX.Element {
    return (
      <ThreatsView
        config={this._config}
        get={endpoint => this._prefetch.get(endpoint)}
        investigate={this._investigate}
        isVisible={() => this.isVisible}
        shown={this._shown}
      />
    );
  }
}
