// Where an e-mailed sign-in link lands: /auth/magic-link?token=… is exchanged for a session once.
import {signedIn} from '../lib/api';
import type {PageContext} from '../lib/app';
import {h} from '../lib/dom';

export default async function render(ctx: PageContext): Promise<void> {
  ctx.title('Signing you in');
  const token = ctx.query.get('token') ?? '';
  const res = await fetch('/api/v1/auth/magic-link/verify', {
    method: 'POST', headers: {'Content-Type': 'application/json'}, body: JSON.stringify({token}),
  });
  if (!ctx.active()) return;
  if (res.ok) {
    signedIn(await res.json());
    ctx.navigate('/', true);
    return;
  }
  const body = await res.json().catch(() => ({}));
  ctx.main.append(h('p', {class: 'error', role: 'alert'}, body.detail ?? 'This sign-in link is not valid.'),
    h('p', {}, 'A link works once and expires after 15 minutes. ', h('a', {href: '/sign-in'}, 'Ask for a new one')));
}
