// Referrals and rewards: the member's code and share link, the members they referred (credited on
// the referred member's first paid action), and the rewards ledger with its balance.
import {api} from '../lib/api';
import type {PageContext} from '../lib/app';
import {formatTime, h, money, table} from '../lib/dom';

interface Summary {
  code: string;
  link: string;
  referrals: {
    id: string;
    status: 'pending' | 'credited';
    credited_action: 'membership' | 'appointment' | null;
    reward_cents: number | null;
    created_at: string;
    credited_at: string | null;
  }[];
  rewards_balance_cents: number;
  rewards: {id: string; kind: 'earned' | 'spent' | 'expired'; amount_cents: number; reason: string; created_at: string}[];
}

export default async function render(ctx: PageContext): Promise<void> {
  ctx.title('Referrals and rewards');
  const s = await api.get<Summary>('/api/v1/referrals/me');
  if (!ctx.active()) return;

  const said = h('p', {role: 'status', class: 'ok'});
  const copy = h('button', {type: 'button', class: 'secondary'}, 'Copy link');
  copy.addEventListener('click', async () => {
    try {
      await navigator.clipboard.writeText(s.link);
      said.textContent = 'The link is copied.';
    } catch {
      said.textContent = 'Copying is not allowed here: select the link and copy it.';
    }
  });
  // The system share sheet where the browser has one (phones mostly).
  const share = 'share' in navigator ? h('button', {type: 'button', class: 'secondary', onclick: () => {
    void navigator.share({title: 'motorpool', text: `Join motorpool with my code ${s.code}`, url: s.link}).catch(() => undefined);
  }}, 'Share…') : null;

  const earned = s.referrals.filter((r) => r.status === 'credited').length;
  ctx.main.append(
    h('section', {'aria-labelledby': 'code-h'},
      h('h2', {id: 'code-h'}, 'Your code'),
      h('p', {}, 'Friends who join with your code or link earn you rewards once they pay for a membership or an appointment.'),
      h('dl', {},
        h('dt', {}, 'Code'), h('dd', {}, h('strong', {class: 'referral-code'}, s.code)),
        h('dt', {}, 'Link'), h('dd', {}, h('a', {href: s.link, 'data-external': true}, s.link))),
      h('div', {class: 'row'}, copy, share), said),
    h('section', {'aria-labelledby': 'balance-h'},
      h('h2', {id: 'balance-h'}, 'Rewards'),
      h('p', {}, 'Balance: ', h('strong', {}, money(s.rewards_balance_cents)), ' — spend it when you book an appointment.'),
      s.rewards.length
        ? table(['Date', 'Kind', 'Amount', 'Reason'], s.rewards, (r) => [
          formatTime(r.created_at), r.kind, `${r.kind === 'earned' ? '+' : '−'}${money(r.amount_cents)}`, r.reason],
        'Rewards ledger')
        : h('p', {class: 'muted'}, 'No rewards yet.')),
    h('section', {'aria-labelledby': 'referred-h'},
      h('h2', {id: 'referred-h'}, 'People you referred'),
      h('p', {}, `${s.referrals.length} referred, ${earned} credited.`),
      s.referrals.length
        ? table(['Joined', 'Status', 'Credited for', 'Your reward'], s.referrals, (r) => [
          formatTime(r.created_at), r.status === 'credited' ? `credited ${formatTime(r.credited_at)}` : 'pending',
          r.credited_action ?? '—', r.reward_cents === null ? '—' : money(r.reward_cents)], 'Referred members')
        : h('p', {class: 'muted'}, 'Nobody yet: share your link.')),
  );
}
