import type { QualityLevel } from '../../../protocol/connectionQuality.ts';

const BARS: Record<QualityLevel, number> = { excellent: 4, good: 3, poor: 2, lost: 0 };

/** Connection quality as bars and a word; undefined: not measured yet. */
export function QualityIndicator({ level }: { level?: QualityLevel }) {
  const shown = level ?? 'measuring';
  const bars = level ? BARS[level] : 0;
  return (
    <span className={`quality quality-${shown}`} role="img" aria-label={`connection quality: ${shown}`} data-testid="quality" data-level={shown}>
      <span className="bars" aria-hidden="true">
        {[1, 2, 3, 4].map((i) => (
          <span key={i} className={i <= bars ? 'bar on' : 'bar'} />
        ))}
      </span>
      <span className="quality-word" aria-hidden="true">
        {shown}
      </span>
    </span>
  );
}
