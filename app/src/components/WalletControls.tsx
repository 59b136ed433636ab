/** Connect a wallet: the demo's burner account (local chains) or any injected wallet; or show the connected one. */
import { shortHex } from "../format";
import { useValue } from "../hooks";
import type { Page } from "../page";

export function WalletControls({ page }: { page: Page }) {
  const account = useValue(page.account);
  const injected = useValue(page.injectedWallets);
  if (account !== undefined) {
    return (
      <div class="wallet" data-testid="wallet">
        <span class="who" title={account.wallet.address}>
          {account.wallet.label} <code data-testid="wallet-address">{shortHex(account.wallet.address)}</code>
        </span>
        <button class="ghost" onClick={() => page.disconnect()}>
          Disconnect
        </button>
      </div>
    );
  }
  return (
    <div class="wallet" data-testid="wallet">
      {page.hasBurner && (
        <button data-testid="use-burner" onClick={() => page.useBurner()}>
          Use demo account
        </button>
      )}
      {injected.map((w) => (
        <button key={w.id} data-testid="connect-injected" onClick={() => void page.useInjected(w)}>
          {w.icon !== undefined && <img src={w.icon} alt="" width={16} height={16} />}
          Connect {w.name}
        </button>
      ))}
      {!page.hasBurner && injected.length === 0 && <span class="muted">No browser wallet found</span>}
    </div>
  );
}
