/**
 * The page's server and configuration refuse to hand a burner key to anything but a local chain on
 * loopback: a key served on a network interface, or for a real chain, would give its funds away.
 */
import { expect } from "chai";
import { parsePageConfig, type PageConfigJson } from "../../app/src/config";
import { startAppServer } from "../../scripts/lib/appServer";

const KEY = "0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d";
const CONFIG: PageConfigJson = {
  chainId: 31337,
  chainName: "Local Hardhat node (31337)",
  rpcUrl: "http://127.0.0.1:8545",
  exchange: "0x5FC8d32690cc91D4c39d9d3abcBD16989F875707",
  markets: [
    {
      id: "1",
      name: "WETH/USDC",
      base: { address: "0x5FbDB2315678afecb367f032d93F642f64180aa3", symbol: "WETH", decimals: 18 },
      quote: { address: "0xe7f1725E7734CE288F8367e1Bb143E90bb3F0512", symbol: "USDC", decimals: 6 },
      lotSize: "1000000000000000",
      tickSize: "10",
      makerFeeBps: 2,
      takerFeeBps: 5,
    },
  ],
  burner: { privateKey: KEY },
};

describe("app: the page's configuration and server", () => {
  it("reads a configuration with a burner key on a local chain, integers as bigints", () => {
    const config = parsePageConfig(CONFIG);
    expect(config.burner).to.deep.equal({ privateKey: KEY });
    expect(config.markets[0]).to.include({
      id: 1n,
      lotSize: 10n ** 15n,
      tickSize: 10n,
      baseDecimals: 18,
      takerFeeBps: 5n,
    });
  });

  it("refuses a burner key for any other chain", () => {
    expect(() => parsePageConfig({ ...CONFIG, chainId: 1 })).to.throw(/burner must be absent on chain 1/);
    expect(parsePageConfig({ ...CONFIG, chainId: 1, burner: undefined }).burner).to.equal(undefined);
  });

  it("names the field at fault in a malformed configuration", () => {
    const market = { ...CONFIG.markets[0], lotSize: "0" };
    expect(() => parsePageConfig({ ...CONFIG, markets: [market] })).to.throw(/markets\.0\.lotSize must be above zero/);
    expect(() => parsePageConfig({ ...CONFIG, rpcUrl: "javascript:alert(1)" })).to.throw(
      /rpcUrl must be an http\(s\) URL/,
    );
    expect(() => parsePageConfig({ ...CONFIG, markets: [] })).to.throw(/markets must be a list of at least one market/);
  });

  it("will not serve a burner key beyond loopback", async () => {
    const config = parsePageConfig(CONFIG);
    const serving = startAppServer({
      distDir: "/nonexistent",
      config,
      keeperUrl: "http://127.0.0.1:1",
      host: "0.0.0.0",
    });
    await expect(serving).to.be.rejectedWith(/only served on loopback/);
  });
});
