// "Charge my car": a vehicle, a charging site (grid cluster), how much (kWh or a target state of
// charge), the departure and the priority; the answer is the plan (charger, start, power schedule,
// price estimate) or the reason it waits. An emergency goes through the emergency requests, which
// bring their own charging request.
import {api, ApiProblem, hasRole, type Page} from '../lib/api';
import type {PageContext} from '../lib/app';
import {field, formatTime, h, select, table} from '../lib/dom';
import {vehicleName, type Vehicle} from '../lib/vehicles';
import {
  badge, bar, errorText, hourRange, kw, kwh, myVehicles, price, priceTable, type ChargingRequest, type Cluster,
  type Emergency, type PriceForecast,
} from './charging-common';

interface IdTag {
  id: string;
  id_tag: string;
  vehicle_id: string | null;
  blocked: boolean;
}

/// A datetime-local value for a moment (the input shows local wall-clock time).
function localInput(ms: number): string {
  const d = new Date(ms);
  d.setMinutes(d.getMinutes() - d.getTimezoneOffset());
  return d.toISOString().slice(0, 16);
}

function planView(r: ChargingRequest, emergency?: Emergency): HTMLElement {
  const schedule = r.plan.schedule;
  const top = Math.max(...schedule.map((s) => s.power_kw), 0.001);
  const start = schedule.find((s) => s.power_kw > 0)?.from ?? r.first_energy_at;
  const waiting = r.status === 'waiting';
  return h('section', {'aria-labelledby': 'plan-h', 'data-request': r.id},
    h('h2', {id: 'plan-h'}, 'Your plan'),
    h('p', {role: 'status'}, badge(r.status), r.priority === 'emergency' ? ' ' : '', r.priority === 'emergency' ? badge('emergency') : '',
      ' ', r.reason ? `${r.reason[0].toUpperCase()}${r.reason.slice(1)}.`
        : waiting ? 'Waiting for your car to plug in.' : 'Your car is plugged in.'),
    emergency ? h('p', {class: emergency.status === 'rejected' ? 'error' : ''}, `Emergency request ${emergency.status}`
      + (emergency.automatic ? ' automatically (within your allowance)' : emergency.status === 'pending' ? ': support reviews it' : '')
      + `; priority for ${kwh(emergency.boost_kwh)}.`) : null,
    h('dl', {},
      h('dt', {}, 'Charger'), h('dd', {}, r.charger_id ? `${r.charger_id}${r.connector_id ? `, connector ${r.connector_id}` : ''}`
        : 'any free charger of the site'),
      h('dt', {}, 'Start'), h('dd', {}, start ? formatTime(start) : 'when the car plugs in'),
      h('dt', {}, 'Power'), h('dd', {}, kw(r.plan.power_kw)),
      h('dt', {}, 'Energy'), h('dd', {}, `${kwh(r.plan.expected_kwh)} expected of ${kwh(r.energy_kwh)} asked`),
      h('dt', {}, 'Price estimate'), h('dd', {}, price(r.plan.price_estimate, r.plan.currency)),
      h('dt', {}, 'Departure'), h('dd', {}, formatTime(r.departure_time))),
    schedule.length ? table(['Time', 'Power'], schedule, (s) => [
      h('time', {datetime: s.from}, hourRange(s.from, s.to)), bar(s.power_kw / top, kw(s.power_kw)),
    ], 'Power schedule') : h('p', {class: 'muted'}, 'No power schedule yet: the site has no room for the car now.'),
    h('p', {}, h('a', {href: '/charging'}, 'Follow it on your charging page')));
}

export default async function render(ctx: PageContext): Promise<void> {
  ctx.title(hasRole('member') ? 'Charge my car' : 'Charge a vehicle');
  const staff = hasRole('fleet_manager', 'support', 'admin');
  const [vehicles, clusters, tags, previous] = await Promise.all([
    staff ? api.get<Page<Vehicle>>('/api/v1/vehicles?page_size=100').then((p) => p.items) : myVehicles(),
    staff ? api.get<Page<Cluster>>('/api/v1/grid/clusters?page_size=100').then((p) => p.items) : Promise.resolve(null),
    api.get<Page<IdTag>>('/api/v1/charging/id-tags?page_size=100').then((p) => p.items.filter((t) => !t.blocked), () => []),
    api.get<Page<ChargingRequest>>('/api/v1/charging/slot-requests?page_size=20').then((p) => p.items, () => []),
  ]);
  if (!ctx.active()) return;
  if (vehicles.length === 0) {
    ctx.main.append(h('p', {}, 'You have no vehicle yet. ', h('a', {href: '/vehicles'}, 'Add one or connect a car'), ' first.'));
    return;
  }

  const errors = new Map<string, HTMLElement>();
  const labelled = (name: string, label: HTMLElement) => {
    const slot = h('small', {class: 'error', id: `${name}-error`});
    errors.set(name, slot);
    label.append(slot);
    const input = label.querySelector('input, select, textarea')!;
    input.setAttribute('aria-describedby', [input.getAttribute('aria-describedby'), slot.id].filter(Boolean).join(' '));
    return label;
  };
  // The stylesheet lays fields out as grids, which the hidden attribute does not override.
  const show = (node: HTMLElement, visible: boolean) => { node.style.display = visible ? '' : 'none'; };

  const vehicle = select('vehicle_id', vehicles.map((v) => [v.id, `${vehicleName(v)} (${v.license_plate ?? v.vin})`]),
    ctx.query.get('vehicle') ?? '');
  const clusterWanted = ctx.query.get('cluster') ?? previous[0]?.cluster_id ?? '';
  let cluster: HTMLSelectElement | HTMLInputElement;
  if (clusters) {
    cluster = select('cluster_id', clusters.map((c) => [c.id, c.name]), clusterWanted);
  } else {
    // Members cannot list the grid (GET /grid/clusters is for staff): the site's code comes from its
    // sign or link (?cluster=), or from the driver's earlier requests.
    cluster = h('input', {name: 'cluster_id', required: true, value: clusterWanted, list: 'known-sites', autocomplete: 'off',
      spellcheck: 'false'});
  }
  const known = h('datalist', {id: 'known-sites'},
    ...[...new Set(previous.map((r) => r.cluster_id))].map((id) => h('option', {value: id})));
  const siteStatus = h('small', {class: 'hint', id: 'site-status', role: 'status'});
  const forecast = h('div');

  const byEnergy = h('input', {type: 'radio', name: 'amount', value: 'energy', checked: true});
  const bySoc = h('input', {type: 'radio', name: 'amount', value: 'soc'});
  const energy = h('input', {name: 'energy_kwh', type: 'number', min: 0.1, max: 500, step: 0.1, value: 20, required: true});
  const soc = h('input', {name: 'target_soc_pct', type: 'number', min: 1, max: 100, step: 1, value: 80});
  const energyLabel = labelled('energy_kwh', field('Energy to add (kWh)', energy));
  const socLabel = labelled('target_soc_pct', field('Target state of charge (%)', soc,
    'Needs the car\'s battery level and capacity from its data'));
  show(socLabel, false);
  const amountChanged = () => {
    show(energyLabel, byEnergy.checked);
    show(socLabel, !byEnergy.checked);
    energy.required = byEnergy.checked;
    soc.required = !byEnergy.checked;
  };
  byEnergy.addEventListener('change', amountChanged);
  bySoc.addEventListener('change', amountChanged);

  const now = Date.now();
  const departure = h('input', {name: 'departure_time', type: 'datetime-local', required: true,
    min: localInput(now + 2 * 60_000), max: localInput(now + 7 * 86_400_000),
    value: localInput(Math.ceil((now + 4 * 3_600_000) / 900_000) * 900_000)});
  const priority = select('priority', [['normal', 'Normal'], ['emergency', 'Emergency']]);
  const reason = h('textarea', {name: 'reason', rows: 2, maxlength: 500, minlength: 3});
  const reasonLabel = labelled('reason', field('Why is it an emergency?', reason,
    'A few emergencies are granted at once; beyond your allowance support reviews them'));
  show(reasonLabel, false);
  priority.addEventListener('change', () => {
    show(reasonLabel, priority.value === 'emergency');
    reason.required = priority.value === 'emergency';
  });
  const tag = select('id_tag', [['', 'Any (the car is recognised when it plugs in)'],
    ...tags.map((t): [string, string] => [t.id_tag, t.id_tag])]);

  const error = h('p', {class: 'error', role: 'alert'});
  const submit = h('button', {type: 'submit'}, 'Ask for a charging slot');
  const form = h('form', {class: 'narrow', 'aria-labelledby': 'ask-h'},
    labelled('vehicle_id', field('Vehicle', vehicle)),
    labelled('cluster_id', field(clusters ? 'Charging site' : 'Charging site code', cluster)),
    siteStatus, known,
    h('fieldset', {}, h('legend', {}, 'Charge by'),
      h('label', {style: 'display:flex;gap:0.4rem;font-weight:400'}, byEnergy, 'Energy (kWh)'),
      h('label', {style: 'display:flex;gap:0.4rem;font-weight:400'}, bySoc, 'Target state of charge (%)')),
    energyLabel, socLabel,
    labelled('departure_time', field('Departure', departure, 'When you need the car: at least a minute ahead, within 7 days')),
    labelled('priority', field('Priority', priority)), reasonLabel,
    tags.length ? labelled('id_tag', field('Charging card', tag)) : null,
    submit, error);
  cluster.setAttribute('aria-describedby', `site-status ${cluster.getAttribute('aria-describedby')}`);
  const result = h('div', {'aria-live': 'polite'});
  // The plan shows above the form: the answer first, the form stays for another car.
  ctx.main.append(result, h('h2', {id: 'ask-h'}, 'Your charge'), form,
    h('details', {}, h('summary', {}, 'Price for the next 24 hours'), forecast));

  let priceTimer: number | undefined;
  ctx.cleanup(() => clearTimeout(priceTimer));
  const showPrice = async () => {
    const id = cluster.value.trim();
    if (!id) return;
    try {
      const p = await api.get<PriceForecast>(`/api/v1/grid/clusters/${encodeURIComponent(id)}/price`);
      if (!ctx.active() || cluster.value.trim() !== id) return;
      siteStatus.textContent = `Price now ${price(p.price_per_kwh, p.currency)} per kWh`;
      siteStatus.className = 'hint';
      forecast.replaceChildren(priceTable(p));
    } catch (e) {
      if (!ctx.active() || cluster.value.trim() !== id) return;
      const problem = e as ApiProblem;
      siteStatus.textContent = problem.status === 404 && /tariff/i.test(problem.detail)
        ? 'This site has no tariff: charging is not priced.' : problem.status === 404 ? 'No charging site has this code.'
          : problem.message;
      siteStatus.className = problem.status === 404 && /tariff/i.test(problem.detail) ? 'hint' : 'hint error';
      forecast.replaceChildren(h('p', {}, siteStatus.textContent));
    }
  };
  cluster.addEventListener(clusters ? 'change' : 'input', () => {
    clearTimeout(priceTimer);
    priceTimer = window.setTimeout(() => void showPrice(), 300);
  });
  void showPrice();

  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    error.textContent = '';
    for (const [name, slot] of errors) {
      slot.textContent = '';
      form.querySelector(`[name="${name}"]`)?.removeAttribute('aria-invalid');
    }
    const at = new Date(departure.value);
    const body: Record<string, unknown> = {
      vehicle_id: vehicle.value,
      cluster_id: cluster.value.trim(),
      departure_time: Number.isNaN(at.getTime()) ? departure.value : at.toISOString(),
    };
    if (byEnergy.checked) body.energy_kwh = Number(energy.value);
    else body.target_soc_pct = Number(soc.value);
    if (tag.value) body.id_tag = tag.value;
    const urgent = priority.value === 'emergency';
    if (urgent) body.reason = reason.value.trim();
    else body.priority = 'normal';
    submit.disabled = true;
    try {
      let created: ChargingRequest;
      let emergency: Emergency | undefined;
      if (urgent) {
        emergency = await api.post<Emergency>('/api/v1/charging/emergency-requests', body);
        created = await api.get<ChargingRequest>(`/api/v1/charging/slot-requests/${emergency.request_id}`);
      } else {
        created = await api.post<ChargingRequest>('/api/v1/charging/slot-requests', body);
      }
      if (!ctx.active()) return;
      result.replaceChildren(planView(created, emergency));
      result.querySelector('h2')?.setAttribute('tabindex', '-1');
      (result.querySelector('h2') as HTMLElement | null)?.focus();
    } catch (e) {
      const problem = e as ApiProblem;
      error.textContent = problem.status === 409 ? `${problem.message}.` : errorText(e);
      for (const [name, slot] of errors) {
        const message = problem.fieldError?.(name);
        if (!message) continue;
        slot.textContent = message;
        form.querySelector(`[name="${name}"]`)?.setAttribute('aria-invalid', 'true');
      }
    } finally {
      submit.disabled = false;
    }
  });
}
