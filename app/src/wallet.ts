/**
 * Wallets, through viem: any injected EIP-1193 wallet (found by EIP-6963 announcements, or the
 * legacy `window.ethereum`), and on a local chain the funded burner account the demo hands the page.
 * Either way the page gets a wallet client for transactions and a signer for orders, cancels and the
 * orders feed's login (`OrderSigner` of the SDK).
 */
import type { OrderSigner } from "@crossbook/sdk";
import {
  createWalletClient,
  custom,
  defineChain,
  http,
  type Address,
  type Chain,
  type EIP1193Provider,
  type WalletClient,
} from "viem";
import { privateKeyToAccount } from "viem/accounts";
import type { PageConfig } from "./config";

/** A connected wallet. */
export interface Wallet {
  readonly kind: "burner" | "injected";
  /** "Demo account", or the wallet's own name. */
  readonly label: string;
  readonly address: Address;
  /** Sends transactions (deposit, withdraw) on the configured chain. */
  readonly client: WalletClient;
  /** Signs orders, cancels and the feed login: the local account for the burner (no prompt), the wallet client otherwise. */
  readonly signer: OrderSigner;
  /** Stops listening to the wallet's events. */
  disconnect(): void;
}

/** An injected wallet the page can connect to. */
export interface InjectedWallet {
  readonly id: string;
  readonly name: string;
  readonly icon: string | undefined;
  readonly provider: EIP1193Provider;
}

/** The chain of the configuration, as viem describes chains. */
export function pageChain(config: PageConfig): Chain {
  return defineChain({
    id: config.chainId,
    name: config.chainName,
    nativeCurrency: { name: "Ether", symbol: "ETH", decimals: 18 },
    rpcUrls: { default: { http: [config.rpcUrl] } },
  });
}

/** The demo's funded account, signing locally. Only offered when the configuration has one (local chains). */
export function burnerWallet(config: PageConfig): Wallet | undefined {
  if (config.burner === undefined) return undefined;
  const account = privateKeyToAccount(config.burner.privateKey);
  const client = createWalletClient({ account, chain: pageChain(config), transport: http(config.rpcUrl) });
  return { kind: "burner", label: "Demo account", address: account.address, client, signer: account, disconnect() {} };
}

/**
 * Finds injected wallets: each EIP-6963 announcement as it comes, and `window.ethereum` when no
 * wallet announces itself. Calls `onChange` with the list so far; returns a function that stops listening.
 */
export function watchInjectedWallets(onChange: (wallets: InjectedWallet[]) => void): () => void {
  const found = new Map<string, InjectedWallet>();
  const publish = () => {
    const announced = [...found.values()];
    const legacy = (window as { ethereum?: EIP1193Provider }).ethereum;
    const providers = new Set(announced.map((w) => w.provider));
    const all =
      legacy !== undefined && !providers.has(legacy)
        ? [...announced, { id: "window.ethereum", name: "Browser wallet", icon: undefined, provider: legacy }]
        : announced;
    onChange(all);
  };
  const onAnnounce = (event: Event) => {
    const detail = (
      event as CustomEvent<{ info?: { uuid?: string; name?: string; icon?: string }; provider?: unknown }>
    ).detail;
    const provider = detail?.provider as EIP1193Provider | undefined;
    if (typeof provider?.request !== "function" || typeof detail.info?.uuid !== "string") return;
    found.set(detail.info.uuid, {
      id: detail.info.uuid,
      name: detail.info.name ?? "Wallet",
      icon: detail.info.icon,
      provider,
    });
    publish();
  };
  window.addEventListener("eip6963:announceProvider", onAnnounce);
  window.dispatchEvent(new Event("eip6963:requestProvider"));
  publish();
  return () => window.removeEventListener("eip6963:announceProvider", onAnnounce);
}

/** Why a wallet could not be connected, in words (thrown by `connectInjected`). */
export class WalletConnectError extends Error {
  override name = "WalletConnectError";
}

/**
 * Asks an injected wallet for an account and for the configured chain (switching to it, or adding it
 * when the wallet does not know it). `onChange` is called when the person switches account or chain
 * in the wallet: the page then disconnects it.
 */
export async function connectInjected(
  injected: InjectedWallet,
  config: PageConfig,
  onChange: () => void,
): Promise<Wallet> {
  const chain = pageChain(config);
  const probe = createWalletClient({ chain, transport: custom(injected.provider) });
  const [address] = await probe.requestAddresses();
  if (address === undefined) throw new WalletConnectError(`${injected.name} gave no account.`);
  if ((await probe.getChainId()) !== config.chainId) {
    try {
      await probe.switchChain({ id: config.chainId });
    } catch (error) {
      if ((error as { code?: unknown }).code !== 4902) throw error;
      await probe.addChain({ chain });
    }
    const now = await probe.getChainId();
    if (now !== config.chainId) {
      throw new WalletConnectError(
        `${injected.name} is on chain ${now}; this market is on ${config.chainName} (${config.chainId}).`,
      );
    }
  }
  const client = createWalletClient({ account: address, chain, transport: custom(injected.provider) });
  const provider = injected.provider;
  const changed = () => onChange();
  provider.on?.("accountsChanged", changed);
  provider.on?.("chainChanged", changed);
  return {
    kind: "injected",
    label: injected.name,
    address,
    client,
    signer: client,
    disconnect() {
      provider.removeListener?.("accountsChanged", changed);
      provider.removeListener?.("chainChanged", changed);
    },
  };
}
