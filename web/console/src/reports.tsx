// The reports page: conversations per day and per hour, first response and resolution times, CSAT, agent
// load, and the live supervisor view. Charts are uPlot (a small, well-kept library), drawn on canvas: no markup
// from data. Dates are the viewer's time zone; the server stores UTC.

import { useEffect, useRef } from "preact/hooks";
import { signal } from "@preact/signals";
import uPlot from "uplot";
import "uplot/dist/uPlot.min.css";
import { call } from "./api";
import type { Words } from "./i18n";

interface Durations {
  count: number;
  median: number;
  p90: number;
}

interface Report {
  days: string[];
  per_day: number[];
  per_hour: number[];
  first_response_s: Durations;
  resolution_s: Durations;
  csat: number[];
  csat_average: number;
  agent_load: Record<string, number[]>;
  agent_names: Record<string, string>;
  conversations: number;
  truncated: boolean;
}

interface LiveState {
  teams: { team_id: string; name: string; queued: number; offered: number; pending: number; oldest_queued_at?: string }[];
  agents: { id: string; name: string; presence: string; capacity: number; slots_used: number }[];
}

const report = signal<Report | null>(null);
const live = signal<LiveState | null>(null);
const range = signal(7);

const zone = Intl.DateTimeFormat().resolvedOptions().timeZone || "UTC";

function dayString(d: Date): string {
  return new Intl.DateTimeFormat("en-CA", { timeZone: zone, year: "numeric", month: "2-digit", day: "2-digit" }).format(d);
}

async function load(): Promise<void> {
  const to = new Date();
  const from = new Date(to.getTime() - (range.value - 1) * 86400000);
  const q = new URLSearchParams({ from: dayString(from), to: dayString(to), tz: zone });
  const [r, s] = await Promise.all([call<Report>("GET", "/api/v1/reports?" + q.toString()), call<LiveState>("GET", "/api/v1/routing/state")]);
  report.value = r;
  live.value = s;
}

function Chart(props: { title: string; xLabel: string; labels: string[]; series: { label: string; values: number[] }[]; bars?: boolean }) {
  const ref = useRef<HTMLDivElement>(null);
  useEffect(() => {
    const el = ref.current;
    if (!el) return;
    const xs = props.labels.map((_, i) => i);
    const colors = ["#0f766e", "#f59e0b", "#2563eb", "#db2777", "#7c3aed", "#65a30d"];
    const opts: uPlot.Options = {
      width: Math.min(560, el.clientWidth || 560),
      height: 200,
      scales: { x: { time: false } },
      axes: [{ values: (_u, ticks) => ticks.map((i) => props.labels[i] ?? "") }, {}],
      series: [
        { label: props.xLabel, value: (_u, v) => (v == null ? "--" : (props.labels[v] ?? "--")) },
        ...props.series.map((s, i) => ({
          label: s.label,
          stroke: colors[i % colors.length],
          fill: props.bars ? colors[i % colors.length] + "55" : undefined,
          paths: props.bars ? uPlot.paths.bars?.({ size: [0.6, 40] }) : undefined,
        })),
      ],
    };
    const plot = new uPlot(opts, [xs, ...props.series.map((s) => s.values)], el);
    return () => plot.destroy();
  }, [props.xLabel, props.labels.join(","), JSON.stringify(props.series)]);
  return (
    <figure class="chart">
      <figcaption>{props.title}</figcaption>
      <div ref={ref} />
    </figure>
  );
}

function minutes(s: number): string {
  return s < 60 ? `${Math.round(s)} s` : `${(s / 60).toFixed(1)} min`;
}

export function ReportsPage(props: { t: Words }) {
  const t = props.t;
  useEffect(() => {
    void load();
    const timer = setInterval(() => void load(), 15000); // the live view stays current
    return () => clearInterval(timer);
  }, [range.value]);
  const r = report.value;
  const s = live.value;
  return (
    <main class="reports">
      <header class="reports-head">
        <h2>{t.reports}</h2>
        <select aria-label={t.range} value={String(range.value)} onChange={(e) => (range.value = Number((e.currentTarget as HTMLSelectElement).value))}>
          <option value="7">{t.last7}</option>
          <option value="30">{t.last30}</option>
        </select>
        <span class="zone">{zone}</span>
      </header>
      {s && (
        <section class="live">
          <h3>{t.liveView}</h3>
          <table>
            <thead>
              <tr><th>{t.teams}</th><th>{t.status.queued}</th><th>{t.status.offered}</th><th>{t.status.pending}</th><th>{t.longestWait}</th></tr>
            </thead>
            <tbody>
              {s.teams.map((tm) => (
                <tr data-team={tm.team_id}>
                  <td>{tm.name}</td><td class="queued">{tm.queued}</td><td>{tm.offered}</td><td>{tm.pending}</td>
                  <td>{tm.oldest_queued_at ? minutes((Date.now() - Date.parse(tm.oldest_queued_at)) / 1000) : "—"}</td>
                </tr>
              ))}
            </tbody>
          </table>
          <table>
            <thead>
              <tr><th>{t.agents}</th><th>{t.presenceLabel}</th><th>{t.load}</th></tr>
            </thead>
            <tbody>
              {s.agents.map((a) => (
                <tr data-agent-id={a.id}>
                  <td>{a.name}</td><td>{({ online: t.online, away: t.away, offline: t.offline } as Record<string, string>)[a.presence] ?? a.presence}</td><td>{a.slots_used} / {a.capacity}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </section>
      )}
      {r && (
        <section class="charts">
          <dl class="figures">
            <dt>{t.conversations}</dt><dd class="total">{r.conversations}{r.truncated ? "+" : ""}</dd>
            <dt>{t.firstResponse}</dt><dd>{r.first_response_s.count ? `${minutes(r.first_response_s.median)} / ${minutes(r.first_response_s.p90)}` : "—"}</dd>
            <dt>{t.resolution}</dt><dd>{r.resolution_s.count ? `${minutes(r.resolution_s.median)} / ${minutes(r.resolution_s.p90)}` : "—"}</dd>
            <dt>{t.csat}</dt><dd>{r.csat_average ? r.csat_average.toFixed(2) : "—"}</dd>
          </dl>
          <Chart title={t.perDay} xLabel={t.day} labels={r.days.map((d) => d.slice(5))} series={[{ label: t.conversations, values: r.per_day }]} />
          <Chart title={t.perHour} xLabel={t.hour} labels={r.per_hour.map((_, h) => String(h))} series={[{ label: t.conversations, values: r.per_hour }]} bars />
          <Chart title={t.csatDistribution} xLabel={t.score} labels={["1", "2", "3", "4", "5"]} series={[{ label: t.csat, values: r.csat }]} bars />
          <Chart
            title={t.agentLoad}
            xLabel={t.day}
            labels={r.days.map((d) => d.slice(5))}
            series={Object.entries(r.agent_load).map(([id, v]) => ({ label: r.agent_names[id] ?? id, values: v }))}
          />
        </section>
      )}
    </main>
  );
}
