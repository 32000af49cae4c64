/** The page's aria-live region: screen readers say each new line (joins, leaves, mutes, hands). */
export function Announcer({ announcements }: { announcements: { id: number; text: string }[] }) {
  return (
    <div className="visually-hidden" role="log" aria-live="polite" data-testid="announcements">
      {announcements.map((a) => (
        <p key={a.id}>{a.text}</p>
      ))}
    </div>
  );
}
