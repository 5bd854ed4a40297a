// One charging session: energy, power, state of charge and (for the driver) cost and plan, with its
// power over time; an open session follows its meter values, plan and stop live.
import {api, ApiProblem, hasRole} from '../lib/api';
import type {PageContext} from '../lib/app';
import {formatTime, h, table} from '../lib/dom';
import {
  badge, errorText, kw, kwh, latest, live, num, price, throttled, vehicleNames, type ChargingStatus, type MeterValue,
  type PlannedCar, type Session, type StatusSession,
} from './charging-common';

export default async function render(ctx: PageContext): Promise<void> {
  const id = ctx.params.id;
  ctx.title('Charging session');
  const load = () => Promise.all([
    api.get<Session>(`/api/v1/charging/sessions/${encodeURIComponent(id)}`),
    // The driver's own view adds the cost, state of charge and plan.
    api.get<ChargingStatus>('/api/v1/charging/status')
      .then((s) => [...s.current, ...s.recent].find((x) => x.session_id === id) ?? null, () => null),
  ]);
  let session: Session;
  let mine: StatusSession | null;
  try {
    [session, mine] = await load();
  } catch (e) {
    if (ctx.active()) {
      ctx.main.append(h('p', {class: 'error', role: 'alert'},
        (e as ApiProblem).status === 404 ? 'There is no such charging session.' : errorText(e)));
    }
    return;
  }
  const vehicle = await vehicleNames()(session.vehicle_id);
  if (!ctx.active()) return;

  const summary = h('dl', {'aria-live': 'polite'});
  const planNode = h('p', {});
  const chartHost = h('div', {class: 'chart', id: 'power-chart', 'aria-hidden': 'true'});
  const readings = h('div');
  ctx.main.append(h('p', {}, h('a', {href: '/charging/sessions'}, hasRole('member') ? 'All your sessions' : 'All sessions')),
    summary, planNode,
    h('section', {'aria-labelledby': 'power-h'}, h('h2', {id: 'power-h'}, 'Power over time'),
      h('p', {class: 'muted'}, 'The latest readings are in the table below the chart.'), chartHost),
    h('section', {'aria-labelledby': 'readings-h'}, h('h2', {id: 'readings-h'}, 'Latest meter readings'), readings));

  const values: MeterValue[] = [...session.meter_values ?? []];
  let plan: PlannedCar | null = null;
  const drawSummary = () => {
    const now = latest(values, session.meter_start_wh);
    const active = session.status === 'active';
    const energy = session.energy_wh !== null ? session.energy_wh / 1000 : now.energy;
    summary.replaceChildren(
      h('dt', {}, 'Status'), h('dd', {}, badge(active ? 'charging' : 'completed')),
      h('dt', {}, 'Vehicle'), h('dd', {}, vehicle === '—' ? `unknown (tag ${session.id_tag})` : vehicle),
      h('dt', {}, 'Charger'), h('dd', {}, `${session.charger_id}, connector ${session.connector_id}`),
      h('dt', {}, 'Energy'), h('dd', {'data-field': 'energy'}, kwh(energy)),
      h('dt', {}, 'Power'), h('dd', {'data-field': 'power'}, active ? kw(now.power ?? mine?.power_kw) : '—'),
      h('dt', {}, 'Battery'), h('dd', {}, mine?.soc_pct !== null && mine?.soc_pct !== undefined ? `${num(mine.soc_pct, 0)} %` : '—'),
      h('dt', {}, 'Cost'), h('dd', {}, mine?.cost ? price(mine.cost.amount, mine.cost.currency) : '—'),
      h('dt', {}, 'Started'), h('dd', {}, formatTime(session.started_at)),
      h('dt', {}, 'Stopped'), h('dd', {}, session.stopped_at
        ? `${formatTime(session.stopped_at)}${session.stop_reason ? ` (${session.stop_reason})` : ''}` : '—'),
      h('dt', {}, 'Done by'), h('dd', {}, active ? formatTime(mine?.eta) : '—'));
    const request = mine?.request;
    planNode.textContent = plan
      ? `Plan: ${plan.status}, limit ${kw(plan.power_kw)}, ${kwh(plan.delivered_kwh)} of ${kwh(plan.requested_kwh)} delivered, `
        + `${kwh(plan.expected_kwh)} expected by ${formatTime(plan.departure_time)}.`
      : request ? `Plan: ${request.status}, ${kw(request.plan.power_kw)}, ${kwh(request.plan.expected_kwh)} of `
        + `${kwh(request.energy_kwh)} expected by ${formatTime(request.departure_time)}.` : '';
  };
  const power = () => values.filter((v) => v.measurand === 'Power.Active.Import' && !v.phase);
  const drawReadings = () => {
    const last = values.filter((v) => !v.phase).slice(-20).reverse();
    readings.replaceChildren(last.length === 0 ? h('p', {}, 'No meter readings yet.')
      : table(['Time', 'Measurand', 'Value'], last, (v) => [formatTime(v.at), v.measurand, `${num(v.value, 3)} ${v.unit}`],
        'Latest meter readings'));
  };
  drawSummary();
  drawReadings();

  const {timeChart} = await import('../lib/chart');
  if (!ctx.active()) return;
  const series = () => {
    const p = power();
    return {label: 'Power', unit: 'kW', times: p.map((v) => Date.parse(v.at) / 1000),
      values: p.map((v) => v.unit === 'kW' ? v.value : v.value / 1000)};
  };
  const chart = timeChart(chartHost, series());
  ctx.cleanup(chart.destroy);

  if (session.status !== 'active') return;
  const reload = throttled(ctx, async () => {
    const [fresh, status] = await load().catch(() => [null, null] as const);
    if (!fresh || !ctx.active()) return;
    session = fresh;
    mine = status;
    drawSummary();
  });
  live(ctx, (f) => ['SESSION', 'METER', 'PLAN'].includes(f.type) && f.session_id === id, (f) => {
    if (f.type === 'METER') {
      values.push(...(f.values as MeterValue[]));
      const s = series();
      chart.plot.setData([s.times, s.values]);
      drawSummary();
      drawReadings();
    } else if (f.type === 'PLAN') {
      plan = f as unknown as PlannedCar;
      drawSummary();
    } else {
      reload();
    }
  })([`charging.session.${id}`]);
}
