/** Messages nobody's button asked for: an order pulled by the keeper, a feed refusal, a wallet that changed. */
import { useValue } from "../hooks";
import type { Page } from "../page";

export function Notices({ page }: { page: Page }) {
  const notices = useValue(page.notices);
  return (
    <div class="notices" aria-live="polite">
      {notices.map((n) => (
        <div key={n.id} class={`notice ${n.kind}`} data-testid="notice" role={n.kind === "error" ? "alert" : "status"}>
          <span>{n.text}</span>
          <button class="ghost" aria-label="Dismiss" onClick={() => page.dismiss(n.id)}>
            ×
          </button>
        </div>
      ))}
    </div>
  );
}
