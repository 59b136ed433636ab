/**
 * The page's entry: reads its configuration from the server (`config.json`), then renders. If that
 * fails, it says why in words.
 */
import { render } from "preact";
import { App, Failure } from "./components/App";
import { parsePageConfig } from "./config";
import { describeError } from "./messages";
import { Page } from "./page";
import "./styles.css";

async function start(root: HTMLElement): Promise<void> {
  try {
    const response = await fetch("./config.json", { cache: "no-store" });
    if (!response.ok) throw new Error(`the server gave no configuration (config.json: HTTP ${response.status})`);
    const page = new Page(parsePageConfig(await response.json()), location.origin);
    render(<App page={page} />, root);
  } catch (error) {
    render(<Failure text={`The page cannot start: ${describeError(error)}`} />, root);
  }
}

void start(document.getElementById("app")!);
