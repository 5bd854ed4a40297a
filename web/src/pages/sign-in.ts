// Sign in with a password, or ask for a one-time link by e-mail.
import {ApiProblem, signedIn} from '../lib/api';
import type {PageContext} from '../lib/app';
import {field, h} from '../lib/dom';

export function nextPath(ctx: PageContext): string {
  const next = ctx.query.get('next') ?? '/';
  // Only this app's own paths (never an open redirect).
  return next.startsWith('/') && !next.startsWith('//') ? next : '/';
}

export default function render(ctx: PageContext): void {
  ctx.title('Sign in to motorpool');
  const email = h('input', {type: 'email', name: 'email', required: true, autocomplete: 'username'});
  const password = h('input', {type: 'password', name: 'password', required: true, autocomplete: 'current-password'});
  const error = h('p', {class: 'error', role: 'alert'});
  const form = h('form', {class: 'narrow'}, field('E-mail', email), field('Password', password),
    h('button', {type: 'submit'}, 'Sign in'), error);
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    error.textContent = '';
    const res = await fetch('/api/v1/auth/login', {
      method: 'POST', headers: {'Content-Type': 'application/json'},
      body: JSON.stringify({email: email.value, password: password.value}),
    });
    const body = await res.json().catch(() => ({}));
    if (!res.ok) {
      error.textContent = body.detail ?? 'Sign-in failed';
      return;
    }
    signedIn(body);
    ctx.navigate(nextPath(ctx), true);
  });

  const linkEmail = h('input', {type: 'email', name: 'link-email', required: true, autocomplete: 'email'});
  const linkStatus = h('p', {role: 'status'});
  const linkForm = h('form', {class: 'narrow'}, field('E-mail for a sign-in link', linkEmail),
    h('button', {type: 'submit', class: 'secondary'}, 'E-mail me a link'), linkStatus);
  linkForm.addEventListener('submit', async (event) => {
    event.preventDefault();
    const res = await fetch('/api/v1/auth/magic-link', {
      method: 'POST', headers: {'Content-Type': 'application/json'}, body: JSON.stringify({email: linkEmail.value}),
    });
    linkStatus.textContent = res.status === 202
      ? 'If that address has an account, a sign-in link is on its way. It works once, for 15 minutes.'
      : new ApiProblem(res.status, res.statusText, 'Too many requests; try again later.').message;
  });
  ctx.main.append(form, h('h2', {}, 'Or sign in without a password'), linkForm,
    h('p', {}, 'New here? ', h('a', {href: '/register'}, 'Create an account')));
}
