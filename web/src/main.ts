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
  {path: '/charging', nav: 'Charging', load: () => import('./pages/charging')},
  {path: '/charging/request', roles: ['member', 'fleet_manager', 'admin'], load: () => import('./pages/charging-request')},
  {path: '/charging/emergency', load: () => import('./pages/charging-emergency')},
  {path: '/charging/clusters/:id', roles: ['fleet_manager', 'support', 'admin'], load: () => import('./pages/charging-cluster')},
  {path: '/charging/chargers', roles: ['fleet_manager', 'support', 'admin'], load: () => import('./pages/charging-chargers')},
  {path: '/charging/sessions', load: () => import('./pages/charging-sessions')},
  {path: '/charging/sessions/:id', load: () => import('./pages/charging-session')},
  {path: '/charging/fairness', roles: ['fleet_manager', 'support', 'admin'], load: () => import('./pages/charging-fairness')},
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
