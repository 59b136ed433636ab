/**
 * The mock price feeds' random walk: each step moves every market's feed answer by a uniform
 * random amount within ±`maxStepBps` (integer arithmetic on the 8-decimal answer, never a float
 * for the price) and publishes it with `MockPriceFeed.setAnswer` from a node account, waiting for
 * the receipt. Seeded, so that the same seed walks the same path.
 */
import { createPublicClient, createWalletClient, defineChain, http, type Hex, type PublicClient } from "viem";
import { privateKeyToAccount } from "viem/accounts";
import { seededRandom } from "../bots";
import type { Deployment, MarketName } from "../lib/market";

const mockPriceFeedAbi = [
  {
    type: "function",
    name: "setAnswer",
    stateMutability: "nonpayable",
    inputs: [{ name: "answer_", type: "int256" }],
    outputs: [],
  },
  {
    type: "function",
    name: "answer",
    stateMutability: "view",
    inputs: [],
    outputs: [{ name: "", type: "int256" }],
  },
] as const;

const BPS = 10_000n;

/**
 * The next answer: `answer` moved by `round((2u − 1) · maxStepBps)` bps for a uniform `u` in [0, 1),
 * never below 1.
 */
export function nextAnswer(answer: bigint, u: number, maxStepBps: number): bigint {
  const stepBps = BigInt(Math.round((2 * u - 1) * maxStepBps));
  const next = (answer * (BPS + stepBps)) / BPS;
  return next < 1n ? 1n : next;
}

export interface PriceWalkOptions {
  readonly rpcUrl: string;
  readonly deployment: Deployment;
  /** The key of the account that sends `setAnswer` (the mocks let anyone set them; the demo uses the deployer). */
  readonly privateKey: Hex;
  readonly seed: number;
  /** The largest move of one step, in bps [30]. */
  readonly maxStepBps?: number;
}

/** The feeds of a deployment on a random walk; `step()` moves them all once. */
export class PriceWalk {
  private readonly random: () => number;
  private readonly maxStepBps: number;
  private readonly publicClient: PublicClient;
  private readonly send: (feed: Hex, answer: bigint) => Promise<Hex>;
  private readonly answers = new Map<MarketName, bigint>();
  /** Steps published so far. */
  steps = 0;

  constructor(private readonly options: PriceWalkOptions) {
    this.random = seededRandom(options.seed);
    this.maxStepBps = options.maxStepBps ?? 30;
    if (!(this.maxStepBps > 0 && this.maxStepBps < 10_000)) {
      throw new RangeError(`maxStepBps must be above 0 and below 10000, got ${this.maxStepBps}`);
    }
    const { deployment } = options;
    const chain = defineChain({
      id: deployment.chainId,
      name: deployment.network,
      nativeCurrency: { name: "Ether", symbol: "ETH", decimals: 18 },
      rpcUrls: { default: { http: [options.rpcUrl] } },
    });
    const transport = http(options.rpcUrl, { retryCount: 0 });
    this.publicClient = createPublicClient({ chain, transport, pollingInterval: 100 }) as PublicClient;
    const wallet = createWalletClient({ account: privateKeyToAccount(options.privateKey), chain, transport });
    this.send = (feed, answer) =>
      wallet.writeContract({ address: feed, abi: mockPriceFeedAbi, functionName: "setAnswer", args: [answer] });
    for (const m of deployment.markets) this.answers.set(m.name, parseFeed(m.initialPrice, m.feed.decimals));
  }

  /** Reads every feed's current answer from the chain (the walk starts from there). */
  async start(): Promise<void> {
    for (const m of this.options.deployment.markets) {
      const answer = await this.publicClient.readContract({
        address: m.feed.address,
        abi: mockPriceFeedAbi,
        functionName: "answer",
      });
      this.answers.set(m.name, answer);
    }
  }

  /** Moves every feed one step and waits until each new answer is mined. */
  async step(): Promise<void> {
    const pending: Promise<unknown>[] = [];
    for (const m of this.options.deployment.markets) {
      const next = nextAnswer(this.answers.get(m.name) as bigint, this.random(), this.maxStepBps);
      const hash = await this.send(m.feed.address, next); // one at a time: the account's nonces stay in order
      this.answers.set(m.name, next);
      pending.push(
        this.publicClient.waitForTransactionReceipt({ hash, timeout: 30_000 }).then((receipt) => {
          if (receipt.status !== "success") throw new Error(`setAnswer on the ${m.name} feed reverted (${hash})`);
        }),
      );
    }
    await Promise.all(pending);
    this.steps++;
  }

  /** The feeds' current prices, `WETH/USDC 2001.53`, two decimals. */
  describe(): string {
    return this.options.deployment.markets
      .map((m) => `${m.name} ${formatPrice(this.answers.get(m.name) as bigint, m.feed.decimals)}`)
      .join(", ");
  }
}

function parseFeed(price: string, decimals: number): bigint {
  const [whole, fraction = ""] = price.split(".");
  return BigInt(whole + fraction.padEnd(decimals, "0").slice(0, decimals));
}

function formatPrice(answer: bigint, decimals: number): string {
  const cents = answer / 10n ** BigInt(decimals - 2);
  return `${cents / 100n}.${(cents % 100n).toString().padStart(2, "0")}`;
}
