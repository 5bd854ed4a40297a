// Emergency charging: a driver asks (vehicle, reason) and sees the answer; a few are granted at once,
// the rest wait for support, who approve or reject them here (with a note the driver reads).
import {api, hasRole, type Page} from '../lib/api';
import type {PageContext} from '../lib/app';
import {ago, field, formatTime, h, select, table} from '../lib/dom';
import {vehicleName} from '../lib/vehicles';
import {badge, errorText, kwh, live, myVehicles, throttled, vehicleNames, type Emergency} from './charging-common';

function askForm(ctx: PageContext, done: () => Promise<void>): Promise<HTMLElement> {
  return myVehicles().then((vehicles) => {
    const section = h('section', {'aria-labelledby': 'ask-h'}, h('h2', {id: 'ask-h'}, 'Ask for emergency charging'));
    if (vehicles.length === 0) {
      section.append(h('p', {}, 'You have no vehicle yet. ', h('a', {href: '/vehicles'}, 'Add one'), ' first.'));
      return section;
    }
    const vehicle = select('vehicle_id', vehicles.map((v) => [v.id, `${vehicleName(v)} (${v.license_plate ?? v.vin})`]),
      ctx.query.get('vehicle') ?? '');
    const reason = h('textarea', {name: 'reason', rows: 3, minlength: 3, maxlength: 500, required: true});
    const reasonError = h('small', {class: 'error', id: 'reason-error'});
    reason.setAttribute('aria-describedby', 'reason-error');
    const error = h('p', {class: 'error', role: 'alert'});
    const status = h('p', {role: 'status'});
    const submit = h('button', {type: 'submit'}, 'Ask for emergency charging');
    const reasonLabel = field('Reason', reason);
    reasonLabel.append(reasonError);
    const form = h('form', {class: 'narrow', 'aria-labelledby': 'ask-h'},
      h('p', {class: 'muted'}, 'For a car with a charging request: its request gets priority. A car without one: ',
        h('a', {href: '/charging/request'}, 'ask for a charge'), ' with the priority "Emergency".'),
      field('Vehicle', vehicle), reasonLabel, submit, error, status);
    form.addEventListener('submit', async (event) => {
      event.preventDefault();
      error.textContent = '';
      status.textContent = '';
      reasonError.textContent = '';
      reason.removeAttribute('aria-invalid');
      submit.disabled = true;
      try {
        const e = await api.post<Emergency>('/api/v1/charging/emergency-requests',
          {vehicle_id: vehicle.value, reason: reason.value.trim()});
        status.textContent = e.status === 'approved'
          ? `Approved at once: your car gets priority for ${kwh(e.boost_kwh)}.`
          : 'Sent: support reviews it (you have used the emergencies granted at once).';
        status.className = 'ok';
        reason.value = '';
        await done();
      } catch (e) {
        const problem = e as {fieldError?: (name: string) => string | undefined};
        error.textContent = errorText(e);
        const message = problem.fieldError?.('reason');
        if (message) {
          reasonError.textContent = message;
          reason.setAttribute('aria-invalid', 'true');
        }
      } finally {
        submit.disabled = false;
      }
    });
    section.append(form);
    return section;
  });
}

export default async function render(ctx: PageContext): Promise<void> {
  ctx.title('Emergency charging');
  const reviewer = hasRole('support', 'admin');
  const names = vehicleNames();
  const pending = h('section', {'aria-labelledby': 'pending-h'}, h('h2', {id: 'pending-h'}, 'Waiting for review'));
  const pendingBody = h('div', {'aria-live': 'polite'});
  pending.append(pendingBody);
  const history = h('section', {'aria-labelledby': 'history-h'},
    h('h2', {id: 'history-h'}, reviewer || hasRole('fleet_manager') ? 'Emergency requests' : 'Your emergency requests'));
  const historyBody = h('div', {'aria-live': 'polite'});
  history.append(historyBody);
  const message = h('p', {role: 'status'});

  const review = async (e: Emergency, approve: boolean, note: string, buttons: HTMLButtonElement[]) => {
    for (const b of buttons) b.disabled = true;
    try {
      await api.post(`/api/v1/charging/emergency-requests/${e.id}/${approve ? 'approve' : 'reject'}`,
        note ? {note} : {});
      message.textContent = `Request from ${await names(e.vehicle_id)} ${approve ? 'approved' : 'rejected'}.`;
      message.className = 'ok';
    } catch (err) {
      message.textContent = errorText(err);
      message.className = 'error';
    }
    await reload();
  };

  let polling: number | undefined;
  ctx.cleanup(() => clearTimeout(polling));

  async function reload(): Promise<void> {
    clearTimeout(polling);
    let all: Page<Emergency>;
    let waiting: Page<Emergency> | null = null;
    try {
      [all, waiting] = await Promise.all([
        api.get<Page<Emergency>>('/api/v1/charging/emergency-requests?page_size=30'),
        reviewer ? api.get<Page<Emergency>>('/api/v1/charging/emergency-requests?status=pending&page_size=100')
          : Promise.resolve(null),
      ]);
    } catch (e) {
      if (ctx.active()) historyBody.replaceChildren(h('p', {class: 'error', role: 'alert'}, errorText(e)));
      return;
    }
    const vehicleCells = new Map<string, string>();
    for (const e of [...all.items, ...(waiting?.items ?? [])]) {
      if (e.vehicle_id) vehicleCells.set(e.vehicle_id, await names(e.vehicle_id));
    }
    if (!ctx.active()) return;
    const vehicleOf = (e: Emergency) => vehicleCells.get(e.vehicle_id ?? '') ?? '—';
    if (waiting) {
      pendingBody.replaceChildren(waiting.items.length === 0 ? h('p', {}, 'Nothing waits for review.')
        : table(['Asked', 'Vehicle', 'Reason', 'Priority for', 'Note', 'Decision'], waiting.items, (e) => {
          const note = h('input', {name: 'note', maxlength: 1000, 'aria-label': `Note for ${vehicleOf(e)}`});
          const approve = h('button', {type: 'button'}, 'Approve');
          const reject = h('button', {type: 'button', class: 'secondary'}, 'Reject');
          approve.setAttribute('aria-label', `Approve the request for ${vehicleOf(e)}`);
          reject.setAttribute('aria-label', `Reject the request for ${vehicleOf(e)}`);
          approve.addEventListener('click', () => void review(e, true, note.value.trim(), [approve, reject]));
          reject.addEventListener('click', () => void review(e, false, note.value.trim(), [approve, reject]));
          return [h('time', {datetime: e.created_at}, ago(e.created_at)), vehicleOf(e), e.reason, kwh(e.boost_kwh), note,
            h('span', {class: 'row'}, approve, reject)];
        }, 'Emergency requests waiting for review'));
    }
    historyBody.replaceChildren(all.items.length === 0 ? h('p', {}, 'No emergency requests yet.')
      : table(['Asked', 'Vehicle', 'Reason', 'Status', 'Priority for', 'Review'], all.items, (e) => [
        formatTime(e.created_at), vehicleOf(e), e.reason,
        h('span', {'data-emergency': e.id}, badge(e.status), e.automatic ? ' automatically' : ''),
        kwh(e.boost_kwh),
        e.reviewed_at ? `${formatTime(e.reviewed_at)}${e.review_note ? `: ${e.review_note}` : ''}` : '—',
      ], reviewer || hasRole('fleet_manager') ? 'Emergency requests' : 'Your emergency requests'));
    // A review is a person's decision, with no live event for the driver: look again every 10 s
    // while one of theirs waits.
    if (!reviewer && all.items.some((e) => e.status === 'pending')) polling = window.setTimeout(() => void reload(), 10_000);
  }

  const parts: (HTMLElement | Promise<HTMLElement>)[] = [];
  if (hasRole('member', 'fleet_manager')) parts.push(askForm(ctx, reload));
  if (reviewer) parts.push(pending);
  parts.push(history);
  const nodes = await Promise.all(parts).catch((e) => [h('p', {class: 'error', role: 'alert'}, errorText(e))]);
  if (!ctx.active()) return;
  ctx.main.append(message, ...nodes);
  if (reviewer) {
    // A member's request beyond the allowance raises an emergency_limit alert: it is one to review.
    const soon = throttled(ctx, reload, 300);
    live(ctx, (f) => f.type === 'ALERT' && f.kind === 'emergency_limit', soon)(['charging.alerts']);
  }
  await reload();
}
