/**
 * The trading page (app/) in a real headless Chromium (the `@sparticuz/chromium` npm package, driven
 * by playwright-core) against a real hardhat node and keeper CLI (scripts/app/stack.ts):
 *
 *   counterparty (account 3, SDK) ──orders──▶ keeper ◀──/v1 proxied── page server ◀── Chromium
 *                                               │                                      │ demo account (account 2)
 *                                               └── settles on the node ◀── deposit / request withdrawal / withdraw
 *
 * Every wait is on the page's state (generous timeouts), never a fixed sleep; the chain's time moves
 * only when a test moves it (evm_increaseTime and a block, through the node's RPC). Screenshots of the
 * main states, at desktop and phone width, go to test-artifacts/app/ (gitignored).
 */
import { expect } from "chai";
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import type { BrowserContext, Locator, Page, Request } from "playwright-core";
import { createWalletClient, http, type Hash } from "viem";
import { getBalance, getFirmnessDelay, getWithdrawalRequest, requestWithdraw } from "@crossbook/sdk";
import { launchChromium, type LaunchedBrowser } from "../../scripts/app/browser";
import { startPageStack, type PageStack } from "../../scripts/app/stack";
import { spawnManaged } from "../../scripts/lib/processes";

const ARTIFACTS = join(__dirname, "..", "..", "test-artifacts", "app");
const DESKTOP = { width: 1400, height: 900 };
const PHONE = { width: 390, height: 844 };
/** How long any one page state may take to appear: generous, for a busy 2-core machine. */
const WAIT_MS = 60_000;
/** How often the page reads balances and withdrawal requests (BALANCE_POLL_MS in app/src/account.ts). */
const PAGE_POLL_MS = 3_000;

/** The counterparty's book on WETH/USDC at start: price in ticks (cents), lots of 0.001 WETH. */
const ASKS: [bigint, bigint][] = [
  [200_050n, 7n],
  [200_100n, 24n],
  [200_150n, 36n],
  [200_200n, 48n],
];
const BIDS: [bigint, bigint][] = [
  [199_950n, 10n],
  [199_900n, 20n],
  [199_850n, 30n],
  [199_800n, 40n],
];

describe("the trading page in a real browser (Chromium, keeper CLI, hardhat node)", function () {
  this.timeout(600_000);
  let stack: PageStack;
  let launched: LaunchedBrowser;
  let context: BrowserContext;
  let page: Page;
  /** The counterparty's orders by price. */
  const counterpartyOrders = new Map<bigint, `0x${string}`>();
  /** Console errors and uncaught exceptions of the page. */
  const problems: string[] = [];
  /** Console errors the running test expects (the browser logs every HTTP refusal it is answered). */
  let expected: RegExp[] = [];

  const byTestId = (id: string, p: Page = page) => p.locator(`[data-testid="${id}"]`);

  function watch(p: Page): void {
    p.on("console", (message) => {
      if (message.type() === "error") problems.push(`console: ${message.text()}`);
    });
    p.on("pageerror", (error) => problems.push(`pageerror: ${error.message}`));
  }

  /** A screenshot at desktop width and a full-page one at phone width. */
  async function snap(name: string, p: Page = page): Promise<void> {
    await p.screenshot({ path: join(ARTIFACTS, `${name}-desktop.png`) });
    await p.setViewportSize(PHONE);
    await p.screenshot({ path: join(ARTIFACTS, `${name}-phone.png`), fullPage: true });
    await p.setViewportSize(DESKTOP);
  }

  /**
   * Presses `button` and waits for the answer to that press in `messageId` (each answer carries the
   * number of the action it answers, so an earlier message is never mistaken for it). `afterClick`
   * runs between the click and the wait.
   */
  async function press(
    button: Locator,
    messageId: string,
    p: Page = page,
    afterClick?: () => Promise<void>,
  ): Promise<{ kind: string; text: string }> {
    const message = byTestId(messageId, p);
    const before = (await message.count()) === 0 ? "0" : await message.getAttribute("data-action");
    await button.click();
    await afterClick?.();
    const answer = p.locator(`[data-testid="${messageId}"]:not([data-action="${before}"])`);
    await answer.waitFor({ timeout: WAIT_MS });
    return { kind: (await answer.getAttribute("data-kind")) ?? "", text: (await answer.textContent()) ?? "" };
  }

  async function ticket(fields: {
    side: "buy" | "sell";
    type?: "limit" | "post-only" | "ioc";
    price: string;
    size: string;
  }) {
    await byTestId(`side-${fields.side}`).click();
    await byTestId(`type-${fields.type ?? "limit"}`).click();
    await byTestId("ticket-price").fill(fields.price);
    await byTestId("ticket-size").fill(fields.size);
    return press(byTestId("ticket-submit"), "ticket-message");
  }

  const level = (side: "bid" | "ask", priceTicks: bigint) =>
    page.locator(`[data-testid="${side}-level"][data-price="${priceTicks}"]`);
  const openOrder = (priceTicks: bigint, p: Page = page) =>
    p.locator(`[data-testid="open-order"][data-price="${priceTicks}"]`);

  /** A refusal as a person should read it: a sentence, no stack, no code name, no "Error:". */
  function expectWords(text: string): void {
    expect(text).not.to.match(/\bat .+:\d+:\d+|Error:|[A-Z]+_[A-Z_]+|undefined|\[object/);
    expect(text.length).to.be.within(10, 300);
  }

  before(async function () {
    mkdirSync(ARTIFACTS, { recursive: true });
    stack = await startPageStack();
    for (const [isBuy, levels] of [
      [false, ASKS],
      [true, BIDS],
    ] as const) {
      for (const [priceTicks, lots] of levels) {
        counterpartyOrders.set(priceTicks, (await stack.place(stack.counterparty, { isBuy, priceTicks, lots })).hash);
      }
    }
    launched = await launchChromium();
    context = await launched.browser.newContext({ viewport: DESKTOP });
    context.setDefaultTimeout(WAIT_MS);
    page = await context.newPage();
    watch(page);
  });

  after(async () => {
    await launched?.close();
    await stack?.stop();
  });

  beforeEach(() => {
    expected = [];
  });

  afterEach(() => {
    const unexpected = problems.filter((p) => !expected.some((pattern) => pattern.test(p)));
    problems.length = 0;
    expect(unexpected, unexpected.join("\n")).to.deep.equal([]);
  });

  it("loads with no console error and fills the book in from the feed", async () => {
    await page.goto(stack.page.url);
    await page.locator('[data-testid="book"][data-state="live"]').waitFor();
    for (const [priceTicks, lots] of ASKS) {
      expect(await level("ask", priceTicks).getAttribute("data-lots")).to.equal(lots.toString());
    }
    for (const [priceTicks, lots] of BIDS) {
      expect(await level("bid", priceTicks).getAttribute("data-lots")).to.equal(lots.toString());
    }
    expect(await byTestId("feed-status").getAttribute("data-state")).to.equal("live");
    expect(await byTestId("spread").textContent()).to.equal("1.00 (5.0 bps)");
    // The ticket waits for a wallet.
    expect(await byTestId("ticket-submit").isDisabled()).to.equal(true);
    await snap("01-book");
  });

  it("places an order through the ticket with the demo account: it rests in the book and in open orders", async () => {
    await byTestId("use-burner").click();
    await page.locator(`[data-testid="wallet"] [title="${stack.burner.address}"]`).waitFor();
    const placed = await ticket({ side: "buy", price: "1999.75", size: "0.015" });
    expect(placed).to.deep.equal({ kind: "done", text: "Order placed: buy 0.015 WETH — resting on the book." });
    await level("bid", 199_975n).and(page.locator(".mine")).waitFor();
    expect(await level("bid", 199_975n).getAttribute("data-lots")).to.equal("15");
    await openOrder(199_975n).waitFor();
    expect(await openOrder(199_975n).textContent()).to.contain("Buy");
    await snap("02-order-resting");
  });

  it("a crossing order trades: the trade shows on the tape and the fill turns settled with its transaction", async () => {
    const tapeBefore = await byTestId("tape-row").count();
    const taken = await ticket({ side: "buy", price: "2000.50", size: "0.007" });
    expect(taken).to.deep.equal({ kind: "done", text: "Bought 0.007 WETH." });
    await level("ask", 200_050n).waitFor({ state: "detached" });
    await page.locator('[data-testid="tape-row"]').nth(tapeBefore).waitFor();
    const row = byTestId("tape-row").first();
    expect(await row.locator(".price").textContent()).to.equal("2,000.50");
    expect(await byTestId("last-price").textContent()).to.equal("2,000.50");

    await byTestId("tab-fills").click();
    const fill = page.locator('[data-testid="fill"][data-status="settled"]');
    await fill.waitFor();
    expect(await fill.textContent()).to.contain("Buy (taker)");
    const txHash = await fill.locator('[data-testid="fill-tx"]').getAttribute("title");
    expect(txHash).to.match(/^0x[0-9a-f]{64}$/);
    const receipt = await stack.chain.getTransactionReceipt({ hash: txHash as `0x${string}` });
    expect(receipt.status).to.equal("success");
    await page
      .locator(
        `[data-testid="tape-row"][data-fill-id="${await fill.getAttribute("data-fill-id")}"][data-status="settled"]`,
      )
      .waitFor();
    await snap("03-fill-settled");
    await byTestId("tab-orders").click();
  });

  it("cancel removes the order from the book and from open orders", async () => {
    const cancelled = await press(openOrder(199_975n).locator('[data-testid="cancel-order"]'), "account-message");
    expect(cancelled).to.deep.equal({ kind: "done", text: "Order cancelled." });
    await openOrder(199_975n).waitFor({ state: "detached" });
    await level("bid", 199_975n).waitFor({ state: "detached" });
  });

  it("cancel all removes every open order, also those placed elsewhere with the same key", async () => {
    // Placed through the SDK, not the page: the page learns them from its orders channel.
    await stack.place(stack.burner, { isBuy: true, priceTicks: 199_960n, lots: 3n });
    await stack.place(stack.burner, { isBuy: false, priceTicks: 200_040n, lots: 4n });
    await openOrder(199_960n).waitFor();
    await openOrder(200_040n).waitFor();
    expect(await press(byTestId("cancel-all"), "account-message")).to.deep.equal({
      kind: "done",
      text: "Cancelled 2 orders.",
    });
    await byTestId("no-orders").waitFor();
    await level("bid", 199_960n).waitFor({ state: "detached" });
    await level("ask", 200_040n).waitFor({ state: "detached" });
  });

  it("shows why an order is refused, in words: off-tick and off-lot as typed, the keeper's refusals after", async () => {
    expected = [/^console: Failed to load resource: the server responded with a status of 422/];
    await byTestId("ticket-price").fill("2000.005");
    await byTestId("ticket-size").fill("0.0005");
    const problemsShown = await byTestId("ticket-invalid").allTextContents();
    expect(problemsShown).to.have.length(2);
    expect(problemsShown[0]).to.match(/at most 2/);
    expect(problemsShown[1]).to.match(/not a whole number of lots of 0\.001; the nearest sizes are 0\.001/);
    expect(await byTestId("ticket-submit").isDisabled()).to.equal(true);

    const crossing = await ticket({ side: "buy", type: "post-only", price: "2001.00", size: "0.001" });
    expect(crossing.kind).to.equal("failed");
    expect(crossing.text).to.match(/post-only order must rest on the book/);
    expectWords(crossing.text);

    const tooBig = await ticket({ side: "sell", price: "2010.00", size: "500" });
    expect(tooBig.kind).to.equal("failed");
    expect(tooBig.text).to.match(/^Not enough funds on the Exchange/);
    expectWords(tooBig.text);
    await snap("04-refused");
  });

  /** A call to the node's JSON-RPC (hardhat's `evm_*` methods). */
  const rpc = (method: string, params: unknown[] = []) =>
    stack.chain.request({ method: method as never, params: params as never });

  /**
   * Runs `body` with the node's interval mining off (the stack mines a block every 200 ms, each at
   * least a second after the last, so its time runs ahead by itself): blocks come only from
   * transactions, and the chain's time passes a withdrawal's delay only when the test moves it.
   */
  async function withChainTimeStill(body: () => Promise<void>): Promise<void> {
    await rpc("evm_setIntervalMining", [0]);
    try {
      await body();
    } finally {
      await rpc("evm_setIntervalMining", [200]);
    }
  }

  /** Moves the chain's time past the firmness delay: evm_increaseTime, then a block to carry it. */
  async function passFirmnessDelay(): Promise<void> {
    const delay = await getFirmnessDelay(stack.chain, { exchange: stack.deployment.exchange });
    await rpc("evm_increaseTime", [Number(delay) + 1]);
    await rpc("evm_mine");
  }

  /** Pauses the clock of `p` (installed) a second ahead of its own time; again if that second passed meanwhile. */
  async function pauseSoon(p: Page): Promise<void> {
    for (;;) {
      const at = (await p.evaluate(() => Date.now())) + 1_000;
      try {
        await p.clock.pauseAt(at);
        return;
      } catch (error) {
        if (!/to the past/.test(String(error))) throw error;
      }
    }
  }

  const withdrawalLine = (symbol: string, p: Page = page) =>
    p.locator(`[data-testid="withdrawal-request"][data-token="${symbol}"]`);

  it("deposits, requests a withdrawal that counts down, and withdraws once the chain's time has passed the delay", async () => {
    const usdc = stack.deployment.tokens.USDC;
    const exchange = stack.deployment.exchange;
    const account = stack.burner.address;
    const onChain = () => getBalance(stack.chain, { exchange, account, token: usdc.address });
    const requestOnChain = () => getWithdrawalRequest(stack.chain, { exchange, account, token: usdc.address });
    await withChainTimeStill(async () => {
      const start = await onChain();
      await byTestId("funds-token").selectOption(usdc.address);
      await byTestId("funds-amount").fill("100");
      expect(await press(byTestId("deposit"), "funds-message")).to.deep.equal({
        kind: "done",
        text: "Deposited 100 USDC.",
      });
      expect(await onChain()).to.equal(start + 100_000_000n);

      // More than the account holds: refused in words before any transaction.
      await byTestId("funds-amount").fill("100000000");
      const tooMuch = await press(byTestId("request-withdrawal"), "funds-message");
      expect(tooMuch.kind).to.equal("failed");
      expect(tooMuch.text).to.match(/^You hold [\d,.]+ USDC on the Exchange: ask to withdraw at most that/);
      expectWords(tooMuch.text);
      expect((await requestOnChain()).amount).to.equal(0n);

      // A request, then a smaller one (it keeps its time), then a larger one (the wait starts again).
      await byTestId("funds-amount").fill("40.5");
      const first = await press(byTestId("request-withdrawal"), "funds-message");
      expect(first.kind).to.equal("done");
      expect(first.text).to.match(
        /^Withdrawal of 40\.5 USDC requested: you can withdraw it (in \d+ s \(at \d\d:\d\d:\d\d\)|with the chain's next block)\.$/,
      );
      const { effectiveAt } = await requestOnChain();
      expect(await requestOnChain()).to.deep.equal({ amount: 40_500_000n, effectiveAt });
      await byTestId("funds-amount").fill("30");
      const smaller = await press(byTestId("request-withdrawal"), "funds-message");
      expect(smaller.text).to.match(/It replaces your request for 40\.5 USDC and keeps its time\.$/);
      expect(await requestOnChain()).to.deep.equal({ amount: 30_000_000n, effectiveAt });
      await byTestId("funds-amount").fill("40.5");
      const larger = await press(byTestId("request-withdrawal"), "funds-message");
      expect(larger.text).to.match(
        /It replaces your request for 30 USDC, and asking for more started the wait again\.$/,
      );
      const request = await requestOnChain();
      expect(request.amount).to.equal(40_500_000n);
      expect(request.effectiveAt > effectiveAt).to.equal(true);

      // Waiting: the latest block is the request's own, before its time; Withdraw is not offered yet.
      const line = withdrawalLine("USDC");
      expect(await line.getAttribute("data-state")).to.equal("waiting");
      expect(await line.getAttribute("data-amount")).to.equal("40500000");
      expect(await line.getAttribute("data-effective-at")).to.equal(request.effectiveAt.toString());
      expect(await line.locator('[data-testid="withdraw"]').isDisabled()).to.equal(true);
      expect(await line.locator('[data-testid="withdrawal-countdown"]').textContent()).to.match(
        /^available (in \d+ s \(at \d\d:\d\d:\d\d\)|with the chain's next block)$/,
      );
      expect(await byTestId("withdrawal-rule").textContent()).to.contain("30 s later");
      await snap("04a-withdrawal-waiting");

      // The chain's time passes the delay: the page sees the block and offers Withdraw.
      await passFirmnessDelay();
      await withdrawalLine("USDC").and(page.locator('[data-state="available"]')).waitFor();
      expect(await line.locator('[data-testid="withdrawal-countdown"]').textContent()).to.equal("available now");
      await snap("04b-withdrawal-available");
      expect(await press(line.locator('[data-testid="withdraw"]'), "funds-message")).to.deep.equal({
        kind: "done",
        text: "Withdrew 40.5 USDC.",
      });
      expect(await onChain()).to.equal(start + 59_500_000n);
      expect((await requestOnChain()).amount).to.equal(0n);
      await line.waitFor({ state: "detached" });
      await page
        .locator(`[data-testid="balance"][data-token="USDC"][data-exchange="${start + 59_500_000n}"]`)
        .waitFor();
    });
  });

  it("withdrawing before the delay is refused in words: a larger request made elsewhere started the wait again", async () => {
    const usdc = stack.deployment.tokens.USDC;
    const exchange = stack.deployment.exchange;
    // The same key in another tab or a bot (the SDK): it changes the request behind the page's back.
    const elsewhere = createWalletClient({ account: stack.burner, transport: http(stack.node.url, { retryCount: 0 }) });
    const requestElsewhere = async (amount: bigint): Promise<bigint> => {
      const hash: Hash = await requestWithdraw(elsewhere, { exchange, token: usdc.address, amount });
      const receipt = await stack.chain.waitForTransactionReceipt({ hash });
      return (await stack.chain.getBlock({ blockNumber: receipt.blockNumber })).timestamp;
    };

    // A page whose clock the test holds: while paused, it reads the chain only when asked.
    const held = await launched.browser.newContext({ viewport: DESKTOP });
    held.setDefaultTimeout(WAIT_MS);
    await held.clock.install();
    const other = await held.newPage();
    watch(other);
    const toNode = new Set<Request>();
    other.on("request", (r) => void (r.url().startsWith(stack.node.url) && toNode.add(r)));
    other.on("requestfinished", (r) => void toNode.delete(r));
    other.on("requestfailed", (r) => void toNode.delete(r));
    try {
      await withChainTimeStill(async () => {
        await other.goto(stack.page.url);
        await byTestId("use-burner", other).click();
        await other.locator('[data-testid="balance"][data-token="USDC"][data-exchange]').waitFor();
        await pauseSoon(other);
        for (const deadline = Date.now() + WAIT_MS; toNode.size > 0;) {
          expect(Date.now(), "the page's last reads of the node finish").to.be.below(deadline);
          await new Promise((resolve) => setTimeout(resolve, 20));
        }

        // A request in force, which the page shows with Withdraw offered.
        await requestElsewhere(10_000_000n);
        await passFirmnessDelay();
        await other.clock.runFor(PAGE_POLL_MS);
        const line = withdrawalLine("USDC", other);
        await line.and(other.locator('[data-state="available"][data-amount="10000000"]')).waitFor();

        // Elsewhere, a larger request: the wait starts again. Its next block is pinned a second later,
        // so the chain is before the new time however long the steps below take.
        const requestedAt = await requestElsewhere(20_000_000n);
        await rpc("evm_setNextBlockTimestamp", [Number(requestedAt) + 1]);
        // The click reads the page's (stale) request; then time runs again in the page (viem retries the
        // node's revert after a backoff) and it may read the chain again: the answer is the chain's.
        const refused = await press(line.locator('[data-testid="withdraw"]'), "funds-message", other, () =>
          other.clock.resume(),
        );
        expect(refused).to.deep.equal({
          kind: "failed",
          text: "Your withdrawal request is not in force yet: the Exchange lets it leave only once its delay has passed (a larger request starts the wait again). Withdraw when the countdown ends.",
        });
        expectWords(refused.text);
        // The refusal made the page read the chain again: the new request, waiting.
        await line.and(other.locator('[data-state="waiting"][data-amount="20000000"]')).waitFor();
        await snap("04c-withdrawal-too-early", other);

        expect(await press(line.locator('[data-testid="cancel-withdrawal"]'), "funds-message", other)).to.deep.equal({
          kind: "done",
          text: "Your withdrawal request for USDC is cancelled.",
        });
        await line.waitFor({ state: "detached" });
        const dropped = await getWithdrawalRequest(stack.chain, {
          exchange,
          account: stack.burner.address,
          token: usdc.address,
        });
        expect(dropped).to.deep.equal({ amount: 0n, effectiveAt: 0n });
      });
    } finally {
      await held.close();
    }
  });

  it("keeps working across a keeper restart: the feeds reconnect, resync, and log in again", async () => {
    const placed = await ticket({ side: "buy", price: "1999.80", size: "0.002" });
    expect(placed.kind, placed.text).to.equal("done");
    await openOrder(199_980n).waitFor();
    expect(problems).to.deep.equal([]);

    // While the keeper is down the browser reports each refused WebSocket handshake; nothing else may appear.
    expected = [/^console: WebSocket connection to '.*\/v1\/ws' failed/];
    await stack.stopKeeper();
    await page.locator('[data-testid="feed-status"][data-state="disconnected"]').waitFor();
    await snap("05-reconnecting");
    await stack.startKeeper();
    await page.locator('[data-testid="feed-status"][data-state="live"]').waitFor();

    // The book resynced: an order placed after the restart shows, the old ones are still there.
    await stack.place(stack.counterparty, { isBuy: false, priceTicks: 200_225n, lots: 9n });
    await level("ask", 200_225n).waitFor();
    expect(await level("ask", 200_100n).getAttribute("data-lots")).to.equal("24");
    expect(await level("bid", 199_980n).getAttribute("data-lots")).to.equal("2");
    // The orders channel logged in again: the account's order is listed, and cancels through the new keeper.
    expect(await press(openOrder(199_980n).locator('[data-testid="cancel-order"]'), "account-message")).to.deep.equal({
      kind: "done",
      text: "Order cancelled.",
    });
    await level("bid", 199_980n).waitFor({ state: "detached" });
    await snap("06-resynced");
  });

  it("switches markets: another book, another tape", async () => {
    await byTestId("market-2").click();
    await page.locator('[data-testid="book"][data-state="live"] [data-testid="book-empty"]').waitFor();
    expect(await byTestId("tape-row").count()).to.equal(0);
    await byTestId("market-1").click();
    await level("ask", 200_100n).waitFor();
  });

  it("connects any injected EIP-1193 wallet (announced by EIP-6963) and signs with it", async () => {
    // A stand-in wallet: the hardhat node's unlocked counterparty account behind the EIP-1193 interface.
    const wallet = await launched.browser.newContext({ viewport: DESKTOP });
    await wallet.addInitScript(injectedWallet, { rpcUrl: stack.node.url, account: stack.counterparty.address });
    const other = await wallet.newPage();
    watch(other);
    await other.goto(stack.page.url);
    await other.locator('[data-testid="connect-injected"]', { hasText: "Connect Test Wallet" }).click();
    await other.locator(`[data-testid="wallet"] [title="${stack.counterparty.address}"]`).waitFor();
    // Its open orders come from the orders channel, whose login the wallet signed (eth_signTypedData_v4):
    // the seeded ones but the ask the demo account took, and the ask placed after the restart.
    await other.locator('[data-testid="tab-orders"]:has-text("Open orders (8)")').waitFor();
    const cancelled = await press(
      openOrder(199_800n, other).locator('[data-testid="cancel-order"]'),
      "account-message",
      other,
    );
    expect(cancelled).to.deep.equal({ kind: "done", text: "Order cancelled." });
    await stack.keeper.login({ signer: stack.counterparty }); // the keeper shows an order only to its maker
    expect((await stack.keeper.getOrder(counterpartyOrders.get(199_800n)!)).status).to.equal("cancelled");
    await snap("07-injected-wallet", other);
    await wallet.close();
  });

  it("npm run app serves the page against a keeper it is pointed at, with the markets and tokens it reads", async () => {
    const app = spawnManaged("npm run app", process.execPath, [
      ...["-r", "ts-node/register/transpile-only", "scripts/app.ts"],
      ...["--keeper-url", stack.keeperUrl, "--rpc-url", stack.node.url, "--exchange", stack.deployment.exchange],
      ...["--port", "0"],
    ]);
    try {
      const line = await app.waitFor(/the page is at \S+/, 120_000);
      const url = /the page is at (\S+)/.exec(line)![1];
      const config = (await (await fetch(`${url}config.json`)).json()) as {
        markets: { name: string; base: { symbol: string; decimals: number } }[];
        burner?: unknown;
      };
      expect(config.markets.map((m) => m.name)).to.deep.equal(["WETH/USDC", "WBTC/USDC"]);
      expect(config.markets[0].base).to.include({ symbol: "WETH", decimals: 18 });
      expect(config.burner, "no demo account unless asked for").to.equal(undefined);
      // No other origin may read it (Vite would allow any localhost origin), and the page may reach only itself and the node.
      for (const path of ["config.json", "", "v1/markets"]) {
        const response = await fetch(`${url}${path}`, { headers: { Origin: "http://localhost:9999" } });
        expect(response.headers.get("access-control-allow-origin"), path).to.equal(null);
      }
      expect((await fetch(url)).headers.get("content-security-policy")).to.match(
        new RegExp(`connect-src 'self' ${stack.node.url.replace(/[.]/g, "\\.")};`),
      );
      const other = await context.newPage();
      watch(other);
      await other.goto(url);
      await other
        .locator(`[data-testid="book"][data-state="live"] [data-testid="ask-level"][data-price="200100"]`)
        .waitFor();
      expect(await other.locator('[data-testid="use-burner"]').count()).to.equal(0);
      await other.close();
    } finally {
      expect(await app.stop(), "Vite closes the server and exits 128 + SIGTERM").to.equal(143);
    }
  });
});

/**
 * Runs in the page before its scripts: an EIP-1193 provider that forwards every request to the node,
 * answering the account requests with one account, announced the EIP-6963 way.
 */
function injectedWallet({ rpcUrl, account }: { rpcUrl: string; account: string }): void {
  const window = globalThis as unknown as {
    dispatchEvent(event: Event): boolean;
    addEventListener(type: string, listener: () => void): void;
    CustomEvent: new (type: string, init: { detail: unknown }) => Event;
  };
  let id = 0;
  const provider = {
    async request({ method, params }: { method: string; params?: unknown[] }): Promise<unknown> {
      if (method === "eth_requestAccounts" || method === "eth_accounts") return [account];
      const response = await fetch(rpcUrl, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ jsonrpc: "2.0", id: ++id, method, params: params ?? [] }),
      });
      const body = (await response.json()) as { result?: unknown; error?: { code: number; message: string } };
      if (body.error !== undefined) throw Object.assign(new Error(body.error.message), { code: body.error.code });
      return body.result;
    },
    on() {},
    removeListener() {},
  };
  const info = {
    uuid: "b1f9c3a0-0000-4000-8000-000000000001",
    name: "Test Wallet",
    icon: "data:,",
    rdns: "test.wallet",
  };
  const announce = () =>
    window.dispatchEvent(
      new window.CustomEvent("eip6963:announceProvider", { detail: Object.freeze({ info, provider }) }),
    );
  window.addEventListener("eip6963:requestProvider", announce);
  announce();
}
