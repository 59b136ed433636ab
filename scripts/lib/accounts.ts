/**
 * The accounts of a local Hardhat node: derived from Hardhat's public test mnemonic, so that every
 * process (node, deploy script, keeper, bots, demo) agrees on them without passing keys around.
 * Account 0 deploys and administers, account 1 is the keeper, accounts 2.. are traders.
 * These keys are public: never use them on a real chain.
 */
import { bytesToHex, type Hex } from "viem";
import { mnemonicToAccount, privateKeyToAccount, type PrivateKeyAccount } from "viem/accounts";

/** Hardhat's default mnemonic (`npx hardhat node` prints the accounts it gives). */
export const HARDHAT_MNEMONIC = "test test test test test test test test test test test junk";

/** The private key of the local node's account `index` (0 ≤ index < 20: the funded ones). */
export function localAccountKey(index: number): Hex {
  const key = mnemonicToAccount(HARDHAT_MNEMONIC, { addressIndex: index }).getHdKey().privateKey;
  if (key === null) throw new Error(`no private key for account ${index}`);
  return bytesToHex(key);
}

export const KEEPER_ACCOUNT_INDEX = 1;
export const FIRST_TRADER_INDEX = 2;

/** The first `n` local traders (the accounts scripts/setup-local.ts funds). */
export function localTraders(n: number): PrivateKeyAccount[] {
  return Array.from({ length: n }, (_, i) => privateKeyToAccount(localAccountKey(FIRST_TRADER_INDEX + i)));
}
