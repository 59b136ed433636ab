/** Preact hooks over the page's state. */
import { useEffect, useState } from "preact/hooks";
import type { Observable } from "./observable";

/** The current value of `observable`; the component re-renders when it changes. */
export function useValue<T>(observable: Observable<T>): T {
  const value = observable.get();
  const [, rerender] = useState(0);
  useEffect(() => {
    const unsubscribe = observable.subscribe(() => rerender((n) => n + 1));
    if (!Object.is(observable.get(), value)) rerender((n) => n + 1); // changed before we subscribed
    return unsubscribe;
  }, [observable]);
  return value;
}

/**
 * The outcome of the last action a person started: running, done (with a sentence), or failed (with
 * one). `id` counts the actions, so that a message can say which one it answers (`data-action`).
 */
export type ActionState =
  | { readonly state: "idle"; readonly id: 0 }
  | { readonly state: "busy"; readonly id: number }
  | { readonly state: "done" | "failed"; readonly id: number; readonly text: string };

/**
 * Runs one action at a time (`run(action)`) and keeps its outcome in words for the component to
 * show: the action's own sentence, or `describe(error)` — never a stack trace.
 */
export function useAction(
  describe: (error: unknown) => string,
): [ActionState, (action: () => Promise<string>) => void] {
  const [state, setState] = useState<ActionState>({ state: "idle", id: 0 });
  const run = (action: () => Promise<string>) => {
    const id = state.id + 1;
    setState({ state: "busy", id });
    action().then(
      (text) => setState({ state: "done", id, text }),
      (error: unknown) => setState({ state: "failed", id, text: describe(error) }),
    );
  };
  return [state, run];
}

/** Re-renders the component every `ms` while `active` (a countdown). */
export function useTicker(active: boolean, ms: number): void {
  const [, rerender] = useState(0);
  useEffect(() => {
    if (!active) return;
    const timer = setInterval(() => rerender((n) => n + 1), ms);
    return () => clearInterval(timer);
  }, [active, ms]);
}
