/**
 * The one deploy path (scripts/lib/market.ts) on Hardhat's in-process network: what it deploys,
 * the roles, the markets' parameters and the price convention (ticks are cents of USDC per base
 * token), the band working against the 8-decimal feeds, funding, and the deployments file (written
 * to a temp dir, never into the repo) read back and refused when it is wrong.
 *
 *   alice ── sells 1 lot at the feed price ──▶ ◀── bob buys it     (settles: the band lets it through)
 *   alice ── sells 1 lot 11% above the feed ──▶ ◀── bob buys it     (skipped: PriceOutsideBand)
 */
import { expect } from "chai";
import hre from "hardhat";
import { loadFixture, time } from "@nomicfoundation/hardhat-network-helpers";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { formatPriceTicks, parsePriceTicks, SkipReason } from "@crossbook/sdk";
import {
  DEFAULT_FEED_MAX_AGE_SECONDS,
  DeploymentFileError,
  deployLocalMarket,
  findMarket,
  fundTraders,
  readDeployment,
  serializeDeployment,
  setFeedPrice,
  type Deployment,
} from "../../scripts/lib/market";
import { runDeploy } from "../../scripts/deploy";
import { exchangeDomain, makeOrder, orderKey, signOrder } from "../helpers/orders";

const { ethers } = hre;

async function deployed() {
  const [admin, keeper, guardian, feeRecipient, alice, bob] = await ethers.getSigners();
  const result = await deployLocalMarket(hre, {
    keeper: keeper.address,
    guardian: guardian.address,
    feeRecipient: feeRecipient.address,
  });
  const exchange = await ethers.getContractAt("Exchange", result.deployment.exchange);
  return { ...result, exchange, admin, keeper, guardian, feeRecipient, alice, bob };
}

describe("scripts: deployLocalMarket", function () {
  let dir: string;
  before(() => (dir = mkdtempSync(join(tmpdir(), "crossbook-deploy-"))));
  after(() => rmSync(dir, { recursive: true, force: true }));

  it("deploys WETH, USDC and WBTC mocks with their real-world names and decimals", async function () {
    const { deployment } = await loadFixture(deployed);
    const expected = { WETH: ["Wrapped Ether", 18n], USDC: ["USD Coin", 6n], WBTC: ["Wrapped BTC", 8n] } as const;
    for (const [symbol, [name, decimals]] of Object.entries(expected)) {
      const token = await ethers.getContractAt("MockERC20", deployment.tokens[symbol as "WETH"].address);
      expect([await token.name(), await token.symbol(), await token.decimals()]).to.deep.equal([
        name,
        symbol,
        decimals,
      ]);
      expect(deployment.tokens[symbol as "WETH"].decimals).to.equal(Number(decimals));
    }
  });

  it("grants admin to the deployer, keeper and guardian roles to the given accounts, and sets the fee recipient", async function () {
    const { exchange, deployment, admin, keeper, guardian, feeRecipient } = await loadFixture(deployed);
    const [adminRole, keeperRole, guardianRole] = [
      await exchange.DEFAULT_ADMIN_ROLE(),
      await exchange.KEEPER_ROLE(),
      await exchange.GUARDIAN_ROLE(),
    ];
    expect(await exchange.hasRole(adminRole, admin.address)).to.equal(true);
    expect(await exchange.hasRole(keeperRole, keeper.address)).to.equal(true);
    expect(await exchange.hasRole(guardianRole, guardian.address)).to.equal(true);
    expect(await exchange.hasRole(adminRole, keeper.address)).to.equal(false);
    expect(await exchange.hasRole(keeperRole, admin.address)).to.equal(false);
    expect(await exchange.feeRecipient()).to.equal(feeRecipient.address);
    expect(deployment.roles).to.deep.equal({
      admin: admin.address,
      keeper: keeper.address,
      guardian: guardian.address,
      feeRecipient: feeRecipient.address,
    });
  });

  it("lists WETH/USDC and WBTC/USDC with the documented sizes, fees, feed, band and velocity limit", async function () {
    const { exchange, deployment } = await loadFixture(deployed);
    expect(await exchange.marketCount()).to.equal(2n);
    const documented = {
      "WETH/USDC": { id: 1n, lotSize: 10n ** 15n, tickSize: 10n, maxLotsPerBlock: 1_000_000n, price: "2000" },
      "WBTC/USDC": { id: 2n, lotSize: 10n ** 4n, tickSize: 1n, maxLotsPerBlock: 500_000n, price: "60000" },
    };
    for (const [name, want] of Object.entries(documented)) {
      const m = findMarket(deployment, name);
      expect(m.id).to.equal(want.id);
      const [base, quote, lotSize, tickSize, makerFeeBps, takerFeeBps] = await exchange.market(m.id);
      expect([base, quote]).to.deep.equal([deployment.tokens[m.baseSymbol].address, deployment.tokens.USDC.address]);
      expect([lotSize, tickSize, makerFeeBps, takerFeeBps]).to.deep.equal([want.lotSize, want.tickSize, 2n, 5n]);
      const [halted, bandBps, maxLotsPerBlock, feed, feedMaxAge] = await exchange.riskLimits(m.id);
      expect([halted, bandBps, maxLotsPerBlock, feed, feedMaxAge]).to.deep.equal([
        false,
        1_000n,
        want.maxLotsPerBlock,
        m.feed.address,
        BigInt(DEFAULT_FEED_MAX_AGE_SECONDS),
      ]);
      const aggregator = await ethers.getContractAt("MockPriceFeed", m.feed.address);
      expect(await aggregator.decimals()).to.equal(8n);
      expect(await aggregator.answer()).to.equal(BigInt(want.price) * 10n ** 8n);
      expect(m.initialPrice).to.equal(want.price);
    }
  });

  it("makes priceTicks the price in cents of USDC per whole base token in both markets", async function () {
    const { deployment } = await loadFixture(deployed);
    const weth = findMarket(deployment, "WETH/USDC");
    const wbtc = findMarket(deployment, "WBTC/USDC");
    expect(weth.initialPriceTicks).to.equal(200_000n);
    expect(wbtc.initialPriceTicks).to.equal(6_000_000n);
    expect(parsePriceTicks({ price: "1834.57", market: weth })).to.equal(183_457n);
    expect(formatPriceTicks({ priceTicks: 6_000_025n, market: wbtc })).to.equal("60000.25");
    // one lot (0.001 WETH) at 2,000 USDC costs 2 USDC: lots * priceTicks * tickSize quote atoms
    expect(1n * weth.initialPriceTicks * weth.tickSize).to.equal(2_000_000n);
    // one lot (0.0001 WBTC) at 60,000 USDC costs 6 USDC
    expect(1n * wbtc.initialPriceTicks * wbtc.tickSize).to.equal(6_000_000n);
  });

  it("reads each feed through the Exchange's price bounds: the feed price is inside a band of exactly ±10%", async function () {
    const { exchange, deployment } = await loadFixture(deployed);
    for (const m of deployment.markets) {
      const [available, low, high] = await exchange.priceBounds(m.id);
      expect(available).to.equal(true);
      expect([low, high]).to.deep.equal([(m.initialPriceTicks * 9n) / 10n, (m.initialPriceTicks * 11n) / 10n]);
      expect(low <= m.initialPriceTicks && m.initialPriceTicks <= high).to.equal(true);
    }
  });

  it("moves the band when setFeedPrice publishes a new price, and closes it once the answer is older than the max age", async function () {
    const { exchange, deployment } = await loadFixture(deployed);
    const answer = await setFeedPrice(hre, deployment, "WETH/USDC", "2100.5");
    expect(answer).to.equal(210_050_000_000n);
    // 210,050 ticks ± 10%: [189,045, 231,055]
    expect(await exchange.priceBounds(1n)).to.deep.equal([true, 189_045n, 231_055n]);
    await time.increase(DEFAULT_FEED_MAX_AGE_SECONDS + 1);
    expect((await exchange.priceBounds(1n))[0]).to.equal(false);
    await expect(setFeedPrice(hre, deployment, "WETH/USDC", "2000.123456789")).to.be.rejectedWith(/at most 8 decimals/);
  });

  it("settles a fill at the feed price and skips one 11% above it (PriceOutsideBand)", async function () {
    const { exchange, deployment, keeper, alice, bob } = await loadFixture(deployed);
    await fundTraders(hre, deployment, [alice, bob], { WBTC: "1", USDC: "100000" });
    const m = findMarket(deployment, "WBTC/USDC");
    const domain = exchangeDomain(BigInt(deployment.chainId), deployment.exchange);
    const pair = async (nonce: bigint, priceTicks: bigint) => {
      const ask = makeOrder({ maker: alice.address, marketId: m.id, isBuy: false, nonce, priceTicks, lots: 1n });
      const bid = makeOrder({ maker: bob.address, marketId: m.id, isBuy: true, nonce, priceTicks, lots: 1n });
      return {
        orders: [ask, bid],
        signatures: [await signOrder(alice, domain, ask), await signOrder(bob, domain, bid)],
      };
    };
    const atFeed = await pair(1n, m.initialPriceTicks);
    await expect(
      exchange.connect(keeper).settle(atFeed.orders, atFeed.signatures, [{ makerIndex: 0, takerIndex: 1, lots: 1n }]),
    )
      .to.emit(exchange, "Traded")
      .withArgs(m.id, orderKey(alice.address, 1n), orderKey(bob.address, 1n), false, m.initialPriceTicks, 1n);
    const above = await pair(2n, (m.initialPriceTicks * 111n) / 100n);
    await expect(
      exchange.connect(keeper).settle(above.orders, above.signatures, [{ makerIndex: 0, takerIndex: 1, lots: 1n }]),
    )
      .to.emit(exchange, "FillSkipped")
      .withArgs(0n, SkipReason.PriceOutsideBand);
  });

  it("funds traders: mints, approves and deposits, so the amounts land in their internal balances", async function () {
    const { exchange, deployment, admin, alice } = await loadFixture(deployed);
    const fresh = ethers.Wallet.createRandom().connect(ethers.provider);
    const atoms = await fundTraders(
      hre,
      deployment,
      [alice, fresh],
      { WETH: "12.5", USDC: "25000.75", WBTC: "0.5" },
      {
        gasEther: "1",
        funder: admin,
      },
    );
    expect(atoms).to.deep.equal({ WETH: 125n * 10n ** 17n, USDC: 25_000_750_000n, WBTC: 50_000_000n });
    for (const trader of [alice.address, fresh.address]) {
      expect(await exchange.balanceOf(trader, deployment.tokens.WETH.address)).to.equal(125n * 10n ** 17n);
      expect(await exchange.balanceOf(trader, deployment.tokens.USDC.address)).to.equal(25_000_750_000n);
      expect(await exchange.balanceOf(trader, deployment.tokens.WBTC.address)).to.equal(50_000_000n);
    }
    await expect(fundTraders(hre, deployment, [alice], { DAI: "1" } as never)).to.be.rejectedWith(
      /unknown token "DAI"/,
    );
    await expect(fundTraders(hre, { ...deployment, chainId: 1 }, [alice], { USDC: "1" })).to.be.rejectedWith(
      /deployment is for chain 1 .* is chain 31337/,
    );
  });

  it("writes nothing on the in-process network unless asked", async function () {
    const [, keeper] = await ethers.getSigners();
    const { path } = await deployLocalMarket(hre, { keeper: keeper.address });
    expect(path).to.equal(undefined);
  });

  it("writes the deployments file where told, and readDeployment gives back the same deployment", async function () {
    const { deployment: first } = await loadFixture(deployed);
    const path = join(dir, "nested", "localhost.json");
    const [, keeper] = await ethers.getSigners();
    const { deployment, path: written } = await deployLocalMarket(hre, { keeper: keeper.address, write: true, path });
    expect(written).to.equal(path);
    expect(readDeployment(path)).to.deep.equal(deployment);
    expect(deployment.exchange).not.to.equal(first.exchange);
    expect(deployment.deployBlock).to.be.greaterThan(0);
    expect(deployment.chainId).to.equal(31337);
    expect(typeof deployment.markets[0].lotSize).to.equal("bigint");
  });

  it("runs as `npm run deploy`: the keeper from CROSSBOOK_KEEPER_ADDRESS, the file at CROSSBOOK_DEPLOYMENTS_PATH", async function () {
    const keeper = ethers.Wallet.createRandom().address;
    const path = join(dir, "script.json");
    const lines: string[] = [];
    // on the in-process network the script writes only because a path is given
    const result = await runDeploy({ CROSSBOOK_KEEPER_ADDRESS: keeper, CROSSBOOK_DEPLOYMENTS_PATH: path }, (l) =>
      lines.push(l),
    );
    expect(result.deployment.roles.keeper).to.equal(keeper);
    expect(result.path).to.equal(path);
    expect(readDeployment(path)).to.deep.equal(result.deployment);
    expect(lines.at(-1)).to.equal(`wrote ${path}`);
    expect(lines.some((l) => l.includes("market 1 WETH/USDC") && l.includes("2000 USDC (200000 ticks)"))).to.equal(
      true,
    );
    expect(lines.some((l) => l.includes("market 2 WBTC/USDC") && l.includes("price step 0.01 USDC"))).to.equal(true);
  });

  describe("readDeployment refuses a bad file with a clear error", function () {
    let good: Deployment;
    before(async function () {
      good = (await loadFixture(deployed)).deployment;
    });
    const write = (name: string, text: string) => {
      const path = join(dir, name);
      writeFileSync(path, text);
      return path;
    };
    const problemsOf = (path: string) => {
      try {
        readDeployment(path);
      } catch (error) {
        expect(error).to.be.instanceOf(DeploymentFileError);
        expect((error as Error).message).to.include(path);
        return (error as DeploymentFileError).problems;
      }
      expect.fail("readDeployment accepted a bad file");
    };

    it("a missing file: says so and how to make one", function () {
      expect(problemsOf(join(dir, "absent.json"))).to.deep.equal([
        "the file does not exist; deploy first: npx hardhat run scripts/setup-local.ts --network localhost (deploys and funds traders)",
      ]);
    });

    it("text that is not JSON", function () {
      expect(problemsOf(write("garbage.json", "{ exchange: 0x12 "))[0]).to.match(/^not JSON: /);
    });

    it("wrong fields, each named by its path", function () {
      const json = JSON.parse(serializeDeployment(good));
      json.exchange = "0x1234";
      json.markets[0].lotSize = 1000;
      delete json.roles.keeper;
      const problems = problemsOf(write("fields.json", JSON.stringify(json)));
      expect(problems.some((p) => p.startsWith("exchange: expected an address"))).to.equal(true, problems.join("\n"));
      expect(problems.some((p) => p.startsWith("markets.0.lotSize:"))).to.equal(true, problems.join("\n"));
      expect(problems.some((p) => p.startsWith("roles.keeper:"))).to.equal(true, problems.join("\n"));
    });

    it("a market whose base is not the token it names", function () {
      const json = JSON.parse(serializeDeployment(good));
      json.markets[1].base = json.tokens.WETH.address;
      expect(problemsOf(write("mismatch.json", JSON.stringify(json)))).to.deep.equal([
        `markets.1.base: expected the address of tokens.WBTC, ${good.tokens.WBTC.address}`,
      ]);
    });
  });
});
