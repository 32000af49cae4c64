// An SVG of a load run over time: participants joined, CPU, and loss, as three
// stacked line charts sharing the time axis. No dependencies.

export interface TimelinePoint {
  t: number; // seconds since the start
  joined: number;
  workerCpuPct: number;
  serverNodeCpuPct: number;
  generatorCpuPct: number;
  lossPct: number;
}

interface Series {
  label: string;
  color: string;
  values: number[];
}

const W = 720;
const H = 160;
const PAD = { left: 56, right: 16, top: 24, bottom: 22 };

function chart(y0: number, title: string, times: number[], series: Series[], unit: string): string {
  const tMax = Math.max(1, ...times);
  const vMax = Math.max(1e-9, ...series.flatMap((s) => s.values)) * 1.1;
  const x = (t: number) => PAD.left + (t / tMax) * (W - PAD.left - PAD.right);
  const y = (v: number) => y0 + H - PAD.bottom - (v / vMax) * (H - PAD.top - PAD.bottom);
  const lines = series
    .map((s) => {
      const pts = s.values.map((v, i) => `${x(times[i]!).toFixed(1)},${y(v).toFixed(1)}`).join(' ');
      return `<polyline fill="none" stroke="${s.color}" stroke-width="1.5" points="${pts}"/>`;
    })
    .join('\n');
  const legend = series
    .map((s, i) => `<text x="${230 + i * 160}" y="${y0 + 16}" fill="${s.color}" font-size="11">${s.label}</text>`)
    .join('');
  return `<g>
<text x="8" y="${y0 + 16}" font-size="12" font-weight="bold">${title}</text>
<line x1="${PAD.left}" y1="${y(0)}" x2="${W - PAD.right}" y2="${y(0)}" stroke="#999"/>
<line x1="${PAD.left}" y1="${y0 + PAD.top}" x2="${PAD.left}" y2="${y(0)}" stroke="#999"/>
<text x="${PAD.left - 4}" y="${y(vMax / 1.1) + 4}" font-size="10" text-anchor="end">${(vMax / 1.1).toFixed(unit === '%' ? 1 : 0)}${unit}</text>
<text x="${PAD.left - 4}" y="${y(0) + 4}" font-size="10" text-anchor="end">0</text>
<text x="${W - PAD.right}" y="${y(0) + 16}" font-size="10" text-anchor="end">${tMax.toFixed(0)} s</text>
${legend}
${lines}
</g>`;
}

export function timelineSvg(points: TimelinePoint[], title: string): string {
  const t = points.map((p) => p.t);
  const col = (k: keyof TimelinePoint) => points.map((p) => p[k]);
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H * 3 + 30}" font-family="sans-serif">
<rect width="100%" height="100%" fill="white"/>
<text x="8" y="18" font-size="14">${title.replace(/[<&]/g, '')}</text>
<g transform="translate(0,24)">
${chart(0, 'Participants joined', t, [{ label: 'joined', color: '#2a5db0', values: col('joined') }], '')}
${chart(H, 'CPU (% of one core)', t, [
  { label: 'mediasoup workers', color: '#c0392b', values: col('workerCpuPct') },
  { label: 'Chorus (Node)', color: '#8e44ad', values: col('serverNodeCpuPct') },
  { label: 'load generators', color: '#7f8c8d', values: col('generatorCpuPct') },
], '%')}
${chart(2 * H, 'Received packet loss', t, [{ label: 'loss', color: '#d35400', values: col('lossPct') }], '%')}
</g>
</svg>
`;
}
