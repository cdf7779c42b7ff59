/**
 * The Grafana dashboard JSON model of a dashboard definition (./dashboards.ts): what `flead init grafana` posts
 * and what the compose provisioning files hold.
 */
import { datasourceRef, type DashboardDef, type PanelDef, type VariableDef } from './dashboards';

/** Grafana's dashboard JSON schema version the model below follows (Grafana 10.x / 11.x). */
export const schemaVersion = 39;

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };

const legend = { displayMode: 'list', placement: 'bottom', showLegend: true, calcs: [] } as const;
const tooltip = { mode: 'multi', sort: 'none' } as const;

function fieldDefaults(p: PanelDef): { [k: string]: Json } {
  const defaults: { [k: string]: Json } = {};
  if (p.unit !== undefined) defaults.unit = p.unit;
  if (p.decimals !== undefined) defaults.decimals = p.decimals;
  if (p.min !== undefined) defaults.min = p.min;
  if (p.max !== undefined) defaults.max = p.max;
  if (p.kind === 'timeseries') {
    defaults.custom = {
      drawStyle: p.bars ? 'bars' : 'line',
      lineWidth: 1,
      fillOpacity: p.bars ? 80 : 10,
      showPoints: 'auto',
      spanNulls: false,
      stacking: { mode: p.stacked ? 'normal' : 'none', group: 'A' },
    };
  }
  return defaults;
}

function panelOptions(p: PanelDef): { [k: string]: Json } {
  switch (p.kind) {
    case 'timeseries':
      return { legend: { ...legend, calcs: [] }, tooltip: { ...tooltip } };
    case 'stat':
      return { reduceOptions: { calcs: ['lastNotNull'], fields: '', values: false }, colorMode: 'value', graphMode: 'none', justifyMode: 'auto', orientation: 'auto', textMode: 'auto' };
    case 'table':
      return { showHeader: true, cellHeight: 'sm', footer: { show: false, reducer: ['sum'], fields: '' } };
    case 'barchart':
      return { orientation: 'auto', showValue: 'auto', stacking: 'none', groupWidth: 0.7, barWidth: 0.97, xTickLabelRotation: 0, legend: { ...legend, calcs: [] }, tooltip: { mode: 'single', sort: 'none' } };
  }
}

/** Panels flow left to right in rows of 24 columns; a panel that does not fit starts a new row. */
function layout(panels: readonly PanelDef[]): Array<{ x: number; y: number; w: number; h: number }> {
  let x = 0; let y = 0; let rowHeight = 0;
  return panels.map((p) => {
    if (x + p.w > 24) { x = 0; y += rowHeight; rowHeight = 0; }
    const pos = { x, y, w: p.w, h: p.h };
    x += p.w; rowHeight = Math.max(rowHeight, p.h);
    return pos;
  });
}

function variableJson(v: VariableDef): { [k: string]: Json } {
  if (v.kind === 'custom') {
    return {
      name: v.name, label: v.label, description: v.description, type: 'custom', hide: 0,
      query: v.values.join(','), multi: false, includeAll: false,
      current: { selected: true, text: v.current, value: v.current },
      options: v.values.map((value) => ({ selected: value === v.current, text: value, value })),
    };
  }
  return {
    name: v.name, label: v.label, description: v.description, type: 'query', hide: 0,
    datasource: { ...datasourceRef },
    definition: v.sql, query: v.sql,
    refresh: 2, // on time range change
    sort: 1, regex: '', multi: v.multi, includeAll: v.includeAll,
    current: v.includeAll ? { selected: true, text: ['All'], value: ['$__all'] } : {},
    options: [],
  };
}

/** The dashboard JSON model (without `id` and `version`: Grafana assigns them). */
export function grafanaDashboard(def: DashboardDef): { [k: string]: Json } {
  const positions = layout(def.panels);
  return {
    uid: def.uid,
    title: def.title,
    description: def.description,
    tags: [...def.tags],
    timezone: 'utc',
    editable: true,
    graphTooltip: 1,
    fiscalYearStartMonth: 0,
    liveNow: false,
    schemaVersion,
    time: { from: def.from, to: 'now' },
    timepicker: {},
    refresh: def.refresh,
    links: [{ title: 'FLEAD dashboards', type: 'dashboards', tags: ['flead'], asDropdown: true, includeVars: false, keepTime: true, icon: 'external link', targetBlank: false, tooltip: '', url: '' }],
    annotations: {
      list: [{ builtIn: 1, datasource: { type: 'grafana', uid: '-- Grafana --' }, enable: true, hide: true, iconColor: 'rgba(0, 211, 255, 1)', name: 'Annotations & Alerts', type: 'dashboard' }],
    },
    templating: { list: def.variables.map(variableJson) },
    panels: def.panels.map((p, i) => ({
      id: i + 1,
      type: p.kind,
      title: p.title,
      description: p.description,
      datasource: { ...datasourceRef },
      gridPos: positions[i]!,
      fieldConfig: { defaults: fieldDefaults(p), overrides: [] },
      options: panelOptions(p),
      targets: [{ refId: 'A', datasource: { ...datasourceRef }, editorMode: 'code', format: p.format, rawQuery: true, rawSql: p.sql }],
    })),
  };
}
