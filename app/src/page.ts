/**
 * The page's state, outside any component: the keeper client and feed, the market data, the chain
 * client, the connected account (if any) and the notices shown to the person.
 */
import { createKeeperClient, createKeeperFeed, type CrossbookError, type KeeperClient } from "@crossbook/sdk";
import { createPublicClient, http, type PublicClient } from "viem";
import { AccountState } from "./account";
import type { PageConfig } from "./config";
import { MarketData } from "./marketData";
import { describeError } from "./messages";
import { Observable } from "./observable";
import {
  burnerWallet,
  connectInjected,
  pageChain,
  watchInjectedWallets,
  type InjectedWallet,
  type Wallet,
} from "./wallet";

export interface Notice {
  readonly id: number;
  readonly kind: "info" | "error";
  readonly text: string;
}

/** How long a notice stays on screen. */
const NOTICE_MS = 10_000;

export class Page {
  readonly keeper: KeeperClient;
  readonly market: MarketData;
  readonly chain: PublicClient;
  readonly account = new Observable<AccountState | undefined>(undefined);
  readonly notices = new Observable<readonly Notice[]>([]);
  readonly injectedWallets = new Observable<readonly InjectedWallet[]>([]);
  /** A price the person picked in the book, for the ticket (a new object each time, so that picking the same price twice still tells). */
  readonly pickedPrice = new Observable<{ priceTicks: bigint } | undefined>(undefined);
  private readonly wsUrl: string;
  private nextNoticeId = 1;

  constructor(
    readonly config: PageConfig,
    origin: string,
  ) {
    const keeperUrl = (config.keeperUrl ?? origin).replace(/\/$/, "");
    this.wsUrl = `${keeperUrl.replace(/^http/, "ws")}/v1/ws`;
    const domain = { chainId: config.chainId, verifyingContract: config.exchange };
    this.keeper = createKeeperClient({ url: keeperUrl, domain });
    const feed = createKeeperFeed({ wsUrl: this.wsUrl, reconnect: { maxDelayMs: 4_000 } });
    this.market = new MarketData(config, feed, this.keeper, (error) => this.feedError(error));
    this.chain = createPublicClient({ chain: pageChain(config), transport: http(config.rpcUrl) }) as PublicClient;
    watchInjectedWallets((wallets) => this.injectedWallets.set(wallets));
  }

  /** Whether the configuration offers the demo's burner account. */
  get hasBurner(): boolean {
    return this.config.burner !== undefined;
  }

  useBurner(): void {
    const wallet = burnerWallet(this.config);
    if (wallet !== undefined) this.connect(wallet);
  }

  async useInjected(injected: InjectedWallet): Promise<void> {
    try {
      const wallet = await connectInjected(injected, this.config, () => {
        this.notify(`${injected.name} switched account or network: connect again.`, "info");
        this.disconnect();
      });
      this.connect(wallet);
    } catch (error) {
      this.notify(describeError(error), "error");
    }
  }

  disconnect(): void {
    this.account.get()?.close();
    this.account.set(undefined);
  }

  notify(text: string, kind: "info" | "error"): void {
    if (this.notices.get().some((n) => n.text === text)) return;
    const notice = { id: this.nextNoticeId++, kind, text };
    this.notices.update((list) => [...list, notice].slice(-4));
    setTimeout(() => this.dismiss(notice.id), NOTICE_MS);
  }

  dismiss(id: number): void {
    this.notices.update((list) => list.filter((n) => n.id !== id));
  }

  private connect(wallet: Wallet): void {
    this.disconnect();
    this.account.set(
      new AccountState(wallet, {
        config: this.config,
        domain: { chainId: this.config.chainId, verifyingContract: this.config.exchange },
        keeper: this.keeper,
        wsUrl: this.wsUrl,
        chain: this.chain,
        market: this.market,
        notify: (text, kind) => this.notify(text, kind),
        onError: (error) => this.feedError(error),
      }),
    );
  }

  private feedError(error: CrossbookError): void {
    this.notify(describeError(error), "error");
  }
}
