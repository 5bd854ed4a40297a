// Plans and my membership: the plans with prices and included services; subscribe, change plan (an
// upgrade applies now and charges the difference for the rest of the period, a downgrade applies
// from the next period), cancel at the period's end or resume; the ledger of charges. Kept live by
// the MEMBERSHIP frames of the member's topic.
import {api, ApiProblem} from '../lib/api';
import type {PageContext} from '../lib/app';
import {formatTime, h, money, table} from '../lib/dom';
import {debounce, onMemberEvents, serviceNames, type BookingService, type Membership, type Plan} from './booking-shared';

interface Charge {
  id: string;
  plan_code: string;
  kind: 'subscription' | 'upgrade' | 'renewal';
  amount_cents: number;
  currency: string;
  status: 'settled' | 'failed';
  period_start: string;
  period_end: string;
  created_at: string;
}

function day(iso: string): string {
  return new Date(iso).toLocaleDateString(undefined, {day: 'numeric', month: 'long', year: 'numeric'});
}

export default async function render(ctx: PageContext): Promise<void> {
  ctx.title('Membership');
  const status = h('p', {role: 'status', class: 'ok'});
  const mineSection = h('section', {'aria-labelledby': 'mine-h'});
  const plansSection = h('section', {'aria-labelledby': 'plans-h'});
  const chargesSection = h('section', {'aria-labelledby': 'charges-h'});
  ctx.main.append(status, mineSection, plansSection, chargesSection);

  const catalogue = await api.get<{items: BookingService[]}>('/api/v1/services');

  async function load(): Promise<void> {
    const [plans, membership, charges] = await Promise.all([
      api.get<{items: Plan[]}>('/api/v1/memberships/plans'),
      api.get<Membership>('/api/v1/memberships/me').catch((e: ApiProblem) => {
        if (e.status === 404) return null;
        throw e;
      }),
      api.get<{items: Charge[]}>('/api/v1/memberships/me/charges'),
    ]);
    if (!ctx.active()) return;
    drawMine(membership, plans.items);
    drawPlans(plans.items, membership);
    chargesSection.replaceChildren(h('h2', {id: 'charges-h'}, 'Charges'), charges.items.length
      ? table(['Date', 'What', 'Plan', 'Amount', 'Status', 'Period'], charges.items, (c) => [
        formatTime(c.created_at), c.kind, plans.items.find((p) => p.code === c.plan_code)?.name ?? c.plan_code,
        money(c.amount_cents, c.currency), h('span', {class: c.status === 'settled' ? 'badge' : 'badge error'}, c.status),
        `${day(c.period_start)} – ${day(c.period_end)}`], 'Membership charges, newest first')
      : h('p', {class: 'muted'}, 'No charges yet.'));
  }

  /// Runs a change, says what it did, and shows a refusal (such as a failed payment) next to its button.
  async function act(button: HTMLButtonElement, error: HTMLElement, run: () => Promise<string>): Promise<void> {
    button.disabled = true;
    error.textContent = '';
    status.textContent = '';
    try {
      const said = await run();
      if (!ctx.active()) return;
      await load();
      status.textContent = said;
    } catch (e) {
      const problem = e as ApiProblem;
      error.textContent = [problem.message, ...problem.errors.map((f) => f.message)].join(' · ');
      button.disabled = false;
    }
  }

  function drawMine(m: Membership | null, plans: Plan[]): void {
    const error = h('p', {class: 'error', role: 'alert'});
    mineSection.replaceChildren(h('h2', {id: 'mine-h'}, 'Your membership'));
    if (!m) {
      mineSection.append(h('p', {}, 'You have no membership. Choose a plan below: it starts at once, for a month at a time.'));
      return;
    }
    const pending = plans.find((p) => p.code === m.pending_plan_code);
    const cancelled = m.status === 'cancelled';
    const cancel = h('button', {type: 'button', class: 'secondary'}, 'Cancel membership');
    cancel.addEventListener('click', () => void act(cancel, error, async () => {
      const done = await api.delete<Membership>('/api/v1/memberships/me');
      return `Cancelled: your membership stays usable until ${day(done.period_end)}.`;
    }));
    const resume = h('button', {type: 'button'}, cancelled ? 'Resume membership' : `Keep ${m.plan.name}`);
    resume.addEventListener('click', () => void act(resume, error, async () => {
      await api.patch<Membership>('/api/v1/memberships/me', {plan_code: m.plan_code});
      return cancelled ? `Resumed: ${m.plan.name} renews on ${day(m.period_end)}.` : `You keep ${m.plan.name}.`;
    }));
    mineSection.append(h('dl', {},
      h('dt', {}, 'Plan'), h('dd', {}, `${m.plan.name} · ${money(m.plan.price_cents, m.plan.currency)} a month`),
      h('dt', {}, 'Status'), h('dd', {}, h('span', {class: 'badge'}, m.status)),
      h('dt', {}, 'This period'), h('dd', {}, `${day(m.period_start)} – ${day(m.period_end)}`),
      h('dt', {}, cancelled ? 'Ends on' : 'Renews on'), h('dd', {}, day(m.period_end)),
      pending ? h('dt', {}, 'Then') : null,
      pending ? h('dd', {}, `${pending.name} from ${day(m.period_end)} (${money(pending.price_cents, pending.currency)} a month)`) : null,
      h('dt', {}, 'Included a year'), h('dd', {}, included(m.plan))),
    h('div', {class: 'row'}, cancelled || pending ? resume : null, cancelled ? null : cancel), error);
  }

  function included(plan: Plan): string {
    const codes = Object.keys(plan.included_services);
    if (codes.length === 0) return 'no services';
    return codes.map((code) => `${plan.included_services[code]} × ${serviceNames([code], catalogue.items)}`).join(', ');
  }

  function drawPlans(plans: Plan[], m: Membership | null): void {
    const current = m && m.status !== 'expired' ? m : null;
    const cards = h('div', {class: 'cards'});
    plansSection.replaceChildren(h('h2', {id: 'plans-h'}, 'Plans'), cards);
    if (plans.length === 0) cards.append(h('p', {}, 'No plans are on offer yet.'));
    for (const plan of plans) {
      const error = h('p', {class: 'error', role: 'alert'});
      let action: HTMLButtonElement | null = null;
      let note: string | null = null;
      if (!current) {
        action = h('button', {type: 'button'}, `Subscribe to ${plan.name}`);
        action.addEventListener('click', () => void act(action!, error, async () => {
          const made = await api.post<Membership>('/api/v1/memberships', {plan_code: plan.code});
          return `Welcome to ${plan.name}: your membership runs until ${day(made.period_end)} and renews monthly.`;
        }));
      } else if (plan.code === current.plan_code) {
        note = 'Your current plan';
      } else if (plan.code === current.pending_plan_code) {
        note = `Your plan from ${day(current.period_end)}`;
      } else if (plan.price_cents > current.plan.price_cents) {
        action = h('button', {type: 'button'}, `Upgrade to ${plan.name} now`);
        action.addEventListener('click', () => void act(action!, error, async () => {
          await api.patch<Membership>('/api/v1/memberships/me', {plan_code: plan.code});
          return `Upgraded to ${plan.name}: the difference for the rest of this period was charged.`;
        }));
      } else {
        action = h('button', {type: 'button', class: 'secondary'}, `Switch to ${plan.name} at period end`);
        action.addEventListener('click', () => void act(action!, error, async () => {
          await api.patch<Membership>('/api/v1/memberships/me', {plan_code: plan.code});
          return `${plan.name} from ${day(current.period_end)}; until then you keep ${current.plan.name}.`;
        }));
      }
      cards.append(h('article', {class: 'card', 'data-plan': plan.code},
        h('h3', {}, plan.name),
        h('p', {}, h('strong', {}, money(plan.price_cents, plan.currency)), ' a month'),
        plan.description ? h('p', {class: 'muted'}, plan.description) : null,
        h('p', {}, 'Included a year: ', included(plan)),
        plan.benefits.length ? h('ul', {}, ...plan.benefits.map((b) => h('li', {}, b))) : null,
        note ? h('p', {}, h('span', {class: 'badge'}, note)) : null,
        action, error,
        action && current && plan.price_cents > current.plan.price_cents
          ? h('p', {class: 'muted'}, 'You pay the difference for the rest of this period now.') : null));
    }
  }

  await load();
  onMemberEvents(ctx, [ctx.user!.id], ['MEMBERSHIP'], debounce(() => {
    if (ctx.active()) void load().catch(() => undefined);
  }));
}
