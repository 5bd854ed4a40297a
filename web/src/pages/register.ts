// Create an account (a member), optionally with a friend's referral code (?ref= fills it in).
import {ApiProblem, request, signedIn} from '../lib/api';
import type {PageContext} from '../lib/app';
import {field, h} from '../lib/dom';

export default function render(ctx: PageContext): void {
  ctx.title('Create an account');
  const inputs = {
    name: h('input', {name: 'name', required: true, autocomplete: 'name', maxlength: 200}),
    email: h('input', {type: 'email', name: 'email', required: true, autocomplete: 'email'}),
    password: h('input', {type: 'password', name: 'password', required: true, autocomplete: 'new-password'}),
    phone: h('input', {type: 'tel', name: 'phone', autocomplete: 'tel'}),
    referral_code: h('input', {name: 'referral_code', value: ctx.query.get('ref') ?? ''}),
  };
  const error = h('p', {class: 'error', role: 'alert'});
  const form = h('form', {class: 'narrow'},
    field('Name', inputs.name), field('E-mail', inputs.email),
    field('Password', inputs.password, 'At least 10 characters; not a common password.'),
    field('Phone (optional)', inputs.phone), field('Referral code (optional)', inputs.referral_code),
    h('button', {type: 'submit'}, 'Create account'), error);
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    error.textContent = '';
    const body: Record<string, string> = {};
    for (const [k, input] of Object.entries(inputs)) if (input.value.trim()) body[k] = input.value.trim();
    body.password = inputs.password.value;
    try {
      signedIn(await request('POST', '/api/v1/auth/register', body));
      ctx.navigate('/', true);
    } catch (e) {
      const p = e as ApiProblem;
      error.textContent = p.errors?.length ? p.errors.map((x) => `${x.field}: ${x.message}`).join('; ') : p.message;
    }
  });
  ctx.main.append(form, h('p', {}, 'Have an account? ', h('a', {href: '/sign-in'}, 'Sign in')));
}
