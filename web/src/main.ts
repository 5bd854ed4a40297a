// The dashboard: every page is a module loaded when first opened, so the first load stays small.
import './style.css';

import {start, type Route} from './lib/app';

const routes: Route[] = [
  {path: '/sign-in', public: true, load: () => import('./pages/sign-in')},
  {path: '/register', public: true, load: () => import('./pages/register')},
  {path: '/auth/magic-link', public: true, load: () => import('./pages/magic-link')},
  {path: '/', nav: 'Home', load: () => import('./pages/home')},
  {path: '/vehicles', nav: 'Vehicles', load: () => import('./pages/vehicles')},
  {path: '/vehicles/import', roles: ['fleet_manager', 'admin'], load: () => import('./pages/vehicle-import')},
  {path: '/vehicles/:id', load: () => import('./pages/vehicle')},
  {path: '/vehicle/connected', load: () => import('./pages/connected')},
  {path: '/vehicle/connect', load: () => import('./pages/connected')},
  // charging
  // membership
  {path: '/membership', nav: 'Membership', roles: ['member'], load: () => import('./pages/membership')},
  {path: '/book', nav: 'Book', roles: ['member'], load: () => import('./pages/booking')},
  {path: '/appointments', nav: 'Appointments', load: () => import('./pages/appointments')},
  {path: '/offers', nav: 'Offers', roles: ['member'], load: () => import('./pages/offers')},
  {path: '/referrals', nav: 'Referrals', roles: ['member'], load: () => import('./pages/referrals')},
  {path: '/r/:code', public: true, load: () => import('./pages/referrals-link')},
  // support
  {path: '/support', nav: 'Support', load: () => import('./pages/chat')},
  {path: '/support/:id', load: () => import('./pages/chat-thread')},
  // admin
  {path: '/admin/webhooks', nav: 'Webhooks', roles: ['admin'], load: () => import('./pages/admin-webhooks')},
  {path: '/admin/users', nav: 'Users', roles: ['admin'], load: () => import('./pages/admin-users')},
];

start(routes);
