/** The answer to the last action a person started (placed, cancelled, deposited — or why not), in words. */
import type { ActionState } from "../hooks";

export function ActionMessage({ outcome, testId }: { outcome: ActionState; testId: string }) {
  if (outcome.state !== "done" && outcome.state !== "failed") return null;
  return (
    <p
      class={`message ${outcome.state}`}
      data-testid={testId}
      data-kind={outcome.state}
      data-action={outcome.id}
      role={outcome.state === "failed" ? "alert" : "status"}
    >
      {outcome.text}
    </p>
  );
}
