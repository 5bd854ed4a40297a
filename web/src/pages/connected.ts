// Where Smartcar Connect sends the browser back: /vehicle/connected?connection_id=&vehicle_id= on
// success, /vehicle/connect?error=&error_description= when the owner declined or Connect failed.
import type {PageContext} from '../lib/app';
import {h} from '../lib/dom';

export default function render(ctx: PageContext): void {
  const error = ctx.query.get('error');
  const vehicle = ctx.query.get('vehicle_id');
  if (error || !vehicle) {
    ctx.title('The car was not connected');
    ctx.main.append(h('p', {class: 'error', role: 'alert'}, ctx.query.get('error_description') ?? error ?? 'Connect did not finish.'),
      h('p', {}, h('a', {href: '/vehicles'}, 'Back to the vehicles'), ' to try again.'));
    return;
  }
  ctx.title('Car connected');
  ctx.main.append(h('p', {role: 'status'}, 'Smartcar Connect linked your car; its data arrives within a minute.'),
    h('p', {}, h('a', {href: `/vehicles/${encodeURIComponent(vehicle)}`}, 'Open the vehicle')));
}
