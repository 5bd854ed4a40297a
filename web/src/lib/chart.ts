// A time-series chart over uPlot (canvas, ~50 KB): tens of thousands of points draw in a few
// milliseconds. Loaded only by the pages that chart something.
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';

export interface Series {
  label: string;
  unit: string | null;
  /// Epoch seconds, ascending.
  times: number[];
  values: (number | null)[];
}

/// Draws into `host` (sized to its width); returns the uPlot instance for redraws and a destroy
/// function that also stops following the host's width.
export function timeChart(host: HTMLElement, series: Series, height = 280): {plot: uPlot; destroy: () => void} {
  const options: uPlot.Options = {
    width: Math.max(host.clientWidth, 280),
    height,
    scales: {x: {time: true}},
    series: [{}, {label: series.unit ? `${series.label} (${series.unit})` : series.label, stroke: '#0b5394', width: 1.5,
      points: {show: series.times.length < 200}, spanGaps: false}],
    axes: [{stroke: '#333'}, {stroke: '#333', size: 60}],
    cursor: {drag: {x: true, y: false}},
  };
  const plot = new uPlot(options, [series.times, series.values], host);
  const resize = new ResizeObserver(() => plot.setSize({width: Math.max(host.clientWidth, 280), height}));
  resize.observe(host);
  return {plot, destroy: () => {
    resize.disconnect();
    plot.destroy();
  }};
}
