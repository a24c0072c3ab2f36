// The admins' site form: the widget key and how to embed it, allowed origins, the widget's look, the pre-chat
// form, business hours, routing and queue settings. Every field maps to the site's settings as the API takes
// them (docs/api.md, "Sites"); the form is read whole on save, and what it does not show is kept as it was.

import type { Words } from "./i18n";

export interface PreChat {
  enabled: boolean;
  fields?: { name: string; required?: boolean }[];
  departments?: { team_id: string; name: string }[];
}

export interface OpenDays {
  weekday: number;
  open: string;
  close: string;
}

export interface BusinessHours {
  enabled: boolean;
  time_zone?: string;
  days?: OpenDays[];
  holidays?: string[];
  closed_message?: string;
}

export interface Routing {
  offer_timeout_s?: number;
  max_queue_length?: number;
  max_wait_s?: number;
  reopen_window_s?: number;
  auto_close_after_s?: number;
  requeue_on_agent_offline?: boolean;
  business_hours?: BusinessHours;
}

export interface SiteSettings {
  color?: string;
  greeting?: string;
  position?: string;
  language?: string;
  pre_chat?: PreChat;
  routing?: Routing;
}

export interface AdminSite {
  id: string;
  name: string;
  widget_key: string;
  default_team_id: string;
  allowed_origins: string[];
  settings: SiteSettings;
}

interface Team {
  id: string;
  name: string;
}

/** profileFields are the customer profile fields a pre-chat form may ask for. */
const profileFields = ["name", "email", "phone"] as const;

/** week is the order the days are shown in: Monday first; the values are Go's time.Weekday (0 = Sunday). */
const week = [1, 2, 3, 4, 5, 6, 0];

/** ranges per day the form offers: a working day with a lunch break has two. */
const RANGES = 2;

const zones: string[] = (() => {
  try {
    return Intl.supportedValuesOf("timeZone");
  } catch {
    return ["UTC", "Asia/Shanghai", "Asia/Hong_Kong", "Asia/Singapore", "Europe/London", "America/New_York"];
  }
})();

function num(f: FormData, name: string): number {
  return Number(f.get(name) ?? 0) || 0;
}

function text(f: FormData, name: string): string {
  return String(f.get(name) ?? "").trim();
}

/** siteChange reads the form back into the API's shape, keeping the settings the form does not show. */
function siteChange(site: AdminSite, teams: Team[], f: FormData): Record<string, unknown> {
  const s = site.settings;
  const days: OpenDays[] = [];
  for (const d of week) {
    if (f.get(`day${d}`) !== "on") continue;
    for (let i = 0; i < RANGES; i++) {
      const open = text(f, `open${d}_${i}`);
      const close = text(f, `close${d}_${i}`);
      if (open && close) days.push({ weekday: d, open, close });
    }
  }
  const fields = profileFields
    .filter((name) => f.get(`ask_${name}`) === "on")
    .map((name) => ({ name, required: f.get(`require_${name}`) === "on" }));
  const departments = teams
    .filter((tm) => f.get(`dept_${tm.id}`) === "on")
    .map((tm) => ({ team_id: tm.id, name: text(f, `dept_name_${tm.id}`) || tm.name }));
  return {
    name: text(f, "name"),
    default_team_id: text(f, "default_team"),
    allowed_origins: String(f.get("origins") ?? "").split(/\s+/).filter(Boolean),
    settings: {
      ...s,
      color: text(f, "color"),
      greeting: String(f.get("greeting") ?? ""),
      position: text(f, "position"),
      language: text(f, "language"),
      pre_chat: { ...s.pre_chat, enabled: f.get("prechat") === "on", fields, departments },
      routing: {
        ...s.routing,
        offer_timeout_s: num(f, "offer_timeout_s"),
        max_queue_length: num(f, "max_queue_length"),
        max_wait_s: num(f, "max_wait_s"),
        reopen_window_s: f.get("reopen_never") === "on" ? -1 : num(f, "reopen_window_s"),
        auto_close_after_s: num(f, "auto_close_after_s"),
        requeue_on_agent_offline: f.get("requeue") === "on",
        business_hours: {
          ...s.routing?.business_hours,
          enabled: f.get("hours") === "on",
          time_zone: text(f, "time_zone"),
          days,
          holidays: String(f.get("holidays") ?? "").split(/[\s,]+/).filter(Boolean),
          closed_message: String(f.get("closed_message") ?? ""),
        },
      },
    },
  };
}

/**
 * SiteForm edits one site. Its fields start from the site and are the admin's until saved: give it a key
 * that changes with the site (siteKey), so a save, read back, starts the form again from what was stored.
 */
export function SiteForm(props: { site: AdminSite; teams: Team[]; t: Words; onSave: (change: Record<string, unknown>) => void }) {
  const { site, teams, t } = props;
  const s = site.settings;
  const r = s.routing ?? {};
  const bh = r.business_hours ?? { enabled: false };
  const pc = s.pre_chat ?? { enabled: false };
  const snippet = `<script src="${location.origin}/widget.js" data-site="${site.widget_key}" async></script>`;
  const zoneList = "zones-" + site.id;
  return (
    <form
      class="site"
      data-site={site.widget_key}
      onSubmit={(e) => {
        e.preventDefault();
        props.onSave(siteChange(site, teams, new FormData(e.currentTarget as HTMLFormElement)));
      }}
    >
      <h3>
        {site.name} <code>{site.widget_key}</code>
      </h3>
      <fieldset>
        <legend>{t.siteBasics}</legend>
        <label>
          {t.name}
          <input name="name" defaultValue={site.name} required maxLength={100} />
        </label>
        <label>
          {t.defaultTeam}
          <select name="default_team">
            {teams.map((tm) => (
              <option value={tm.id} selected={tm.id === site.default_team_id}>
                {tm.name}
              </option>
            ))}
          </select>
        </label>
        <label class="wide">
          {t.embed}
          <input class="snippet" readOnly value={snippet} onFocus={(e) => (e.currentTarget as HTMLInputElement).select()} />
        </label>
        <label class="wide">
          {t.origins}
          <textarea name="origins" rows={2} defaultValue={site.allowed_origins.join("\n")} />
        </label>
      </fieldset>
      <fieldset>
        <legend>{t.widgetLook}</legend>
        <label class="wide">
          {t.greeting}
          <input name="greeting" defaultValue={s.greeting ?? ""} maxLength={500} />
        </label>
        <label>
          {t.color}
          <input name="color" defaultValue={s.color ?? ""} placeholder="#0f766e" pattern="#[0-9a-fA-F]{6}" />
        </label>
        <label>
          {t.position}
          <select name="position">
            <option value="">{t.positionRight}</option>
            <option value="left" selected={s.position === "left"}>{t.positionLeft}</option>
          </select>
        </label>
        <label>
          {t.widgetLanguage}
          <select name="language">
            <option value="">{t.browserLanguage}</option>
            <option value="zh-CN" selected={s.language === "zh-CN"}>中文</option>
            <option value="en" selected={s.language === "en"}>English</option>
          </select>
        </label>
      </fieldset>
      <fieldset class="prechat">
        <legend>{t.preChat}</legend>
        <label class="check wide">
          <input name="prechat" type="checkbox" defaultChecked={pc.enabled} /> {t.preChatOn}
        </label>
        {profileFields.map((name) => {
          const field = pc.fields?.find((x) => x.name === name);
          return (
            <span class="field-choice" data-field={name}>
              <label class="check">
                <input name={`ask_${name}`} type="checkbox" defaultChecked={!!field} /> {t.profileField[name]}
              </label>
              <label class="check">
                <input name={`require_${name}`} type="checkbox" defaultChecked={!!field?.required} /> {t.required}
              </label>
            </span>
          );
        })}
        <p class="hint wide">{t.departmentsHint}</p>
        {teams.map((tm) => {
          const d = pc.departments?.find((x) => x.team_id === tm.id);
          return (
            <span class="field-choice" data-dept={tm.id}>
              <label class="check">
                <input name={`dept_${tm.id}`} type="checkbox" defaultChecked={!!d} /> {tm.name}
              </label>
              <input name={`dept_name_${tm.id}`} defaultValue={d?.name ?? ""} placeholder={tm.name} maxLength={100} aria-label={t.departmentName} />
            </span>
          );
        })}
      </fieldset>
      <fieldset class="hours">
        <legend>{t.businessHours}</legend>
        <label class="check wide">
          <input name="hours" type="checkbox" defaultChecked={bh.enabled} /> {t.hoursOn}
        </label>
        <label>
          {t.timeZone}
          <input name="time_zone" list={zoneList} defaultValue={bh.time_zone ?? ""} placeholder="UTC" />
          <datalist id={zoneList}>
            {zones.map((z) => (
              <option value={z} />
            ))}
          </datalist>
        </label>
        <table class="week">
          <tbody>
            {week.map((d) => {
              const ranges = (bh.days ?? []).filter((x) => x.weekday === d);
              return (
                <tr data-weekday={d}>
                  <th>
                    <label class="check">
                      <input name={`day${d}`} type="checkbox" defaultChecked={ranges.length > 0} /> {t.weekdays[d]}
                    </label>
                  </th>
                  {Array.from({ length: RANGES }, (_, i) => (
                    <td>
                      <input name={`open${d}_${i}`} type="time" defaultValue={ranges[i]?.open ?? (i === 0 ? "09:00" : "")} aria-label={`${t.weekdays[d]} ${t.opens}`} />
                      {" – "}
                      <input name={`close${d}_${i}`} type="time" defaultValue={ranges[i]?.close ?? (i === 0 ? "18:00" : "")} aria-label={`${t.weekdays[d]} ${t.closes}`} />
                    </td>
                  ))}
                </tr>
              );
            })}
          </tbody>
        </table>
        <label>
          {t.holidays}
          <textarea name="holidays" rows={2} defaultValue={(bh.holidays ?? []).join("\n")} placeholder="2026-10-01" />
        </label>
        <label>
          {t.closedMessage}
          <input name="closed_message" defaultValue={bh.closed_message ?? ""} maxLength={500} />
        </label>
      </fieldset>
      <fieldset>
        <legend>{t.routingQueue}</legend>
        <label>
          {t.offerTimeout}
          <input name="offer_timeout_s" type="number" min={0} max={3600} defaultValue={r.offer_timeout_s ?? 0} />
        </label>
        <label>
          {t.maxQueue}
          <input name="max_queue_length" type="number" min={0} defaultValue={r.max_queue_length ?? 0} />
        </label>
        <label>
          {t.maxWait}
          <input name="max_wait_s" type="number" min={0} defaultValue={r.max_wait_s ?? 0} />
        </label>
        <label>
          {t.autoClose}
          <input name="auto_close_after_s" type="number" min={0} defaultValue={r.auto_close_after_s ?? 0} />
        </label>
        <label>
          {t.reopenWindow}
          <input name="reopen_window_s" type="number" min={0} defaultValue={Math.max(0, r.reopen_window_s ?? 0)} />
        </label>
        <label class="check">
          <input name="reopen_never" type="checkbox" defaultChecked={r.reopen_window_s === -1} /> {t.reopenNever}
        </label>
        <label class="check">
          <input name="requeue" type="checkbox" defaultChecked={!!r.requeue_on_agent_offline} /> {t.requeue}
        </label>
      </fieldset>
      <button type="submit" class="primary">
        {t.save}
      </button>
    </form>
  );
}

/** siteKey identifies a site's stored state, for SiteForm's key. */
export function siteKey(site: AdminSite): string {
  return JSON.stringify(site);
}

/** NewSiteForm adds a site: a name and its team; the rest is set in its own form once it exists. */
export function NewSiteForm(props: { teams: Team[]; t: Words; onSave: (site: Record<string, unknown>) => void }) {
  const { teams, t } = props;
  return (
    <form
      class="inline new-site"
      onSubmit={(e) => {
        e.preventDefault();
        const f = new FormData(e.currentTarget as HTMLFormElement);
        props.onSave({ name: text(f, "name"), default_team_id: text(f, "default_team") });
      }}
    >
      <input name="name" placeholder={t.name} required maxLength={100} aria-label={t.name} />
      <select name="default_team" aria-label={t.defaultTeam}>
        {teams.map((tm) => (
          <option value={tm.id}>{tm.name}</option>
        ))}
      </select>
      <button type="submit">{t.addSite}</button>
    </form>
  );
}
