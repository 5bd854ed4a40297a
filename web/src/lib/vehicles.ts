// Vehicle types and the latest-signal summary shared by the home page, the list and the detail page.
import {h} from './dom';

export interface Vehicle {
  id: string;
  vin: string;
  make: string;
  model: string;
  trim: string | null;
  year: number | null;
  license_plate: string | null;
  odometer_km: number | null;
  fuel_type: string | null;
  description: string | null;
  owner_id: string | null;
  dongle_id: string | null;
  connection_type: string | null;
  created_at: string;
  updated_at: string;
}

export interface SignalValue {
  value: unknown;
  unit: string | null;
  recorded_at: string;
  source: string;
}

export type Signals = Record<string, SignalValue>;

export const SOC = 'TractionBattery.StateOfCharge';
export const RANGE = 'TractionBattery.Range';
export const CHARGING_STATUS = 'Charge.DetailedChargingStatus';
export const IS_CHARGING = 'Charge.IsCharging';
export const LOCATION = 'Location.PreciseLocation';

export function vehicleName(v: Pick<Vehicle, 'make' | 'model' | 'year'>): string {
  return [v.year, v.make, v.model].filter(Boolean).join(' ');
}

export function formatValue(s: SignalValue | undefined): string {
  if (!s) return '—';
  const v = s.value;
  if (v === null || v === undefined) return '—';
  if (typeof v === 'boolean') return v ? 'yes' : 'no';
  if (typeof v === 'number') {
    const rounded = Math.abs(v) >= 100 ? v.toFixed(0) : String(Math.round(v * 10) / 10);
    const unit = s.unit === 'percent' ? '%' : s.unit;
    return unit && unit !== 'degrees' ? `${rounded} ${unit}` : rounded;
  }
  if (typeof v === 'object') {
    const o = v as Record<string, unknown>;
    if ('latitude' in o && 'longitude' in o) return `${Number(o.latitude).toFixed(5)}, ${Number(o.longitude).toFixed(5)}`;
    return Object.entries(o).map(([k, x]) => `${k}: ${x}`).join(', ');
  }
  return String(v);
}

export function chargingState(signals: Signals): string {
  const status = signals[CHARGING_STATUS]?.value;
  if (typeof status === 'string') return status.toLowerCase().replace(/_/g, ' ');
  const charging = signals[IS_CHARGING]?.value;
  return charging === true ? 'charging' : charging === false ? 'not charging' : '—';
}

export function newest(signals: Signals): string | null {
  let best: string | null = null;
  for (const s of Object.values(signals)) if (!best || s.recorded_at > best) best = s.recorded_at;
  return best;
}

/// A battery gauge: the state of charge as a meter (read out by screen readers).
export function socMeter(signals: Signals): HTMLElement {
  const soc = signals[SOC]?.value;
  if (typeof soc !== 'number') return h('span', {}, 'SoC —');
  return h('span', {class: 'soc'},
    h('meter', {min: 0, max: 100, low: 20, high: 80, optimum: 100, value: soc, 'aria-label': 'State of charge'}),
    ` ${Math.round(soc)} %`);
}
